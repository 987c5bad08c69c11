"""Spotify Web API through spotipy: optional everywhere, bounded always.

Two uses:
* `Enricher.enrich(song)` (serving): album name, cover URL and 30 s preview for a catalog song, or
  None on any problem, quickly (short timeout, no retries). It is blocking (spotipy uses requests):
  from async code call it with `await asyncio.to_thread(enricher.enrich, song)`.
* `fetch_playlist_tracks(client, ids)` (catalog building): the playlists' tracks with their audio
  features. Spotify closed the audio-features endpoint to new apps in November 2024, so a 403 there
  raises `SpotifyUnavailable` with one clear message; so do bad credentials, a missing playlist,
  rate limiting that outlasts the bounded retries, and timeouts.

Credentials come from SPOTIPY_CLIENT_ID / SPOTIPY_CLIENT_SECRET (client-credentials flow; no user
login). SPOTIFY_API_URL and SPOTIFY_TOKEN_URL override the API base and the token endpoint (tests
point them at a loopback stand-in; a self-hoster never needs them).

Rate limits (429): retried at most `retries` times; each wait honours Retry-After but never longer
than `retry_after_cap` seconds, so a call can never hang on a long Retry-After.
"""
from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from threading import Lock

import requests
import spotipy
from requests.adapters import HTTPAdapter
from spotipy.cache_handler import MemoryCacheHandler
from urllib3.util.retry import Retry

from .types import Song

API_URL = "https://api.spotify.com/v1/"
TOKEN_URL = "https://accounts.spotify.com/api/token"
AUDIO_FEATURES = ("danceability", "acousticness", "energy", "instrumentalness", "liveness", "valence",
                  "loudness", "speechiness", "tempo")

log = logging.getLogger(__name__)
# spotipy logs request headers (the client secret's Basic auth, the bearer token) at DEBUG.
logging.getLogger("spotipy").setLevel(logging.INFO)


class SpotifyUnavailable(RuntimeError):
    """A Spotify call failed in a way the caller should report in one line (the message)."""


@dataclass(frozen=True)
class SpotifySettings:
    client_id: str
    client_secret: str
    api_url: str = API_URL
    token_url: str = TOKEN_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SpotifySettings | None:
        """None when the credentials are not set (Spotify is optional)."""
        env = os.environ if env is None else env
        cid, secret = env.get("SPOTIPY_CLIENT_ID", ""), env.get("SPOTIPY_CLIENT_SECRET", "")
        if not cid or not secret:
            return None
        return cls(cid, secret, env.get("SPOTIFY_API_URL") or API_URL,
                   env.get("SPOTIFY_TOKEN_URL") or TOKEN_URL)


def _capped_retry(total: int, cap: float) -> Retry:
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
    def from_env(cls, env: Mapping[str, str] | None = None, timeout: float = 2.0) -> Enricher | None:
        settings = SpotifySettings.from_env(env)
        if settings is None:
            return None
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


# --- catalog building: playlists with audio features -------------------------------------------------
def _explain(exc: Exception, what: str) -> SpotifyUnavailable:
    if isinstance(exc, spotipy.SpotifyException):
        if exc.http_status == 403 and "audio-features" in what:
            return SpotifyUnavailable(
                "Spotify refused the audio-features endpoint (403). Spotify closed it to apps "
                "created after 27 November 2024, so these credentials cannot read audio features; "
                "the catalog can only grow from apps that still have access.")
        if exc.http_status == 429:
            return SpotifyUnavailable(f"Spotify kept rate-limiting {what} (429) after the allowed "
                                      "retries; try again later.")
        if exc.http_status == 404:
            return SpotifyUnavailable(f"Spotify has no {what} (404): check the playlist id.")
        return SpotifyUnavailable(f"Spotify answered {exc.http_status} for {what}: {exc.msg.strip()}")
    if isinstance(exc, spotipy.SpotifyOauthError):
        return SpotifyUnavailable("Spotify rejected the client credentials "
                                  "(check SPOTIPY_CLIENT_ID / SPOTIPY_CLIENT_SECRET).")
    if isinstance(exc, requests.Timeout):
        return SpotifyUnavailable(f"Spotify did not answer in time for {what} (timeout).")
    if isinstance(exc, requests.RequestException):
        return SpotifyUnavailable(f"Spotify could not be reached for {what}: {type(exc).__name__}.")
    return SpotifyUnavailable(f"Spotify call for {what} failed: {exc}")


def _call(what: str, fn, *args, **kwargs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # audio_features is flagged deprecated
            return fn(*args, **kwargs)
    except (spotipy.SpotifyException, spotipy.SpotifyOauthError, requests.RequestException) as exc:
        raise _explain(exc, what) from exc


def fetch_playlist_tracks(client: spotipy.Spotify, playlist_ids: Iterable[str]) -> list[dict]:
    """Every track of the playlists (once each) with its audio features, as plain dicts with keys
    track_id, name, artist, popularity, year, genre ("" — playlists carry none) and AUDIO_FEATURES.

    All or nothing: raises SpotifyUnavailable on the first failure, returns nothing partial.
    """
    tracks: dict[str, dict] = {}
    for pid in playlist_ids:
        what = f"playlist {pid}"
        page = _call(what, client.playlist_items, pid, limit=100, additional_types=("track",))
        while page:
            for item in page.get("items") or []:
                track = (item or {}).get("track") or (item or {}).get("item") or {}
                tid = track.get("id")
                if not tid or track.get("type", "track") != "track" or tid in tracks:
                    continue  # local files and episodes have no usable id
                artists = track.get("artists") or [{}]
                release = ((track.get("album") or {}).get("release_date") or "")[:4]
                tracks[tid] = {
                    "track_id": tid, "name": track.get("name") or "",
                    "artist": artists[0].get("name") or "", "popularity": track.get("popularity") or 0,
                    "year": int(release) if release.isdigit() else None, "genre": "",
                }
            page = _call(what, client.next, page) if page.get("next") else None
    ids = list(tracks)
    with_features = []
    for start in range(0, len(ids), 100):
        chunk = ids[start:start + 100]
        feats = _call(f"audio-features of {len(chunk)} tracks", client.audio_features, chunk) or []
        for f in feats:
            if f and f.get("id") in tracks and all(f.get(k) is not None for k in AUDIO_FEATURES):
                with_features.append({**tracks[f["id"]], **{k: float(f[k]) for k in AUDIO_FEATURES}})
    return with_features
