"""Spotify Web API through spotipy: optional, bounded, and only for extras.

`Enricher.enrich(song)` gives the album name, cover URL and 30 s preview of a catalog song, or
None on any problem, quickly (short timeout, no retries). It is blocking (spotipy uses requests):
the song service calls it in a thread. The catalog itself needs no API call: a track link is
`https://open.spotify.com/track/<id>`. `make_client` is shared with training.spotify_playlists.

Credentials come from SPOTIPY_CLIENT_ID / SPOTIPY_CLIENT_SECRET (client-credentials flow; no user
login). SPOTIFY_API_URL and SPOTIFY_TOKEN_URL override the API base and the token endpoint (tests
point them at a loopback stand-in; a self-hoster never needs them).

Rate limits (429): retried at most `retries` times; each wait honours Retry-After but never longer
than `retry_after_cap` seconds, so a call can never hang on a long Retry-After.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from threading import Lock

from typing import TYPE_CHECKING

from ..types import Song

if TYPE_CHECKING:  # spotipy and requests load when a client is made, not with the settings
    import spotipy
    from urllib3.util.retry import Retry

API_URL = "https://api.spotify.com/v1/"
TOKEN_URL = "https://accounts.spotify.com/api/token"

log = logging.getLogger(__name__)
# spotipy logs request headers (the client secret's Basic auth, the bearer token) at DEBUG.
logging.getLogger("spotipy").setLevel(logging.INFO)


@dataclass(frozen=True)
class SpotifySettings:
    client_id: str
    client_secret: str = field(repr=False)
    api_url: str = API_URL
    token_url: str = TOKEN_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SpotifySettings | None:
        """None when the credentials are not set (Spotify is optional)."""
        env = os.environ if env is None else env
        def get(name: str) -> str:
            return (env.get(name) or "").strip()

        cid, secret = get("SPOTIPY_CLIENT_ID"), get("SPOTIPY_CLIENT_SECRET")
        if not cid or not secret:
            return None
        return cls(cid, secret, get("SPOTIFY_API_URL") or API_URL, get("SPOTIFY_TOKEN_URL") or TOKEN_URL)


def _capped_retry(total: int, cap: float) -> Retry:
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):
        # urllib3 sleeps for the whole Retry-After; never wait longer than `cap`
        def get_retry_after(self, response):  # type: ignore[override]
            after = super().get_retry_after(response)
            return None if after is None else min(after, cap)

    return CappedRetry(
        total=total, connect=total, read=False, status=total, backoff_factor=0.2,
        backoff_max=cap, status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "POST"}), respect_retry_after_header=True,
    )


def make_client(settings: SpotifySettings, *, timeout: float = 10.0, retries: int = 3,
                retry_after_cap: float = 5.0) -> spotipy.Spotify:
    """A spotipy client with a bounded retry policy and the given base URLs."""
    import requests
    import spotipy
    from requests.adapters import HTTPAdapter
    from spotipy.cache_handler import MemoryCacheHandler

    session = requests.Session()
    adapter = HTTPAdapter(max_retries=_capped_retry(retries, retry_after_cap))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    auth = spotipy.SpotifyClientCredentials(
        client_id=settings.client_id, client_secret=settings.client_secret,
        requests_session=session, requests_timeout=timeout,
        cache_handler=MemoryCacheHandler(),  # the default writes a .cache file into the cwd
    )
    auth.OAUTH_TOKEN_URL = settings.token_url  # spotipy reads it from the instance
    client = spotipy.Spotify(auth_manager=auth, requests_session=session, requests_timeout=timeout,
                             retries=retries, status_retries=retries)
    client.prefix = settings.api_url.rstrip("/") + "/"
    return client


# --- serving: enrichment ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Enrichment:
    album: str | None
    cover_url: str | None
    preview_url: str | None


class Enricher:
    """Album, cover and preview for a song; None on any error. Successful answers are cached."""

    def __init__(self, client: spotipy.Spotify, cache_size: int = 2048) -> None:
        self._client = client
        self._cache: dict[str, Enrichment] = {}
        self._cache_size = cache_size
        self._lock = Lock()

    @classmethod
    def connect(cls, settings: SpotifySettings, timeout: float = 2.0) -> Enricher:
        return cls(make_client(settings, timeout=timeout, retries=0))

    def enrich(self, song: Song) -> Enrichment | None:
        with self._lock:
            hit = self._cache.get(song.track_id)
        if hit is not None:
            return hit
        try:
            track = self._client.track(song.track_id)
            album = track.get("album") or {}
            images = album.get("images") or []
            result = Enrichment(
                album=album.get("name"),
                cover_url=images[0].get("url") if images else None,
                preview_url=track.get("preview_url"),
            )
        except Exception as exc:  # any failure means "no enrichment": the bot answers without it
            log.info("spotify enrichment unavailable for %s: %s", song.track_id, type(exc).__name__)
            return None
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[song.track_id] = result
        return result
