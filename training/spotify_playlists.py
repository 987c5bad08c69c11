"""Import Spotify playlists with their audio features, to grow the catalog (training.build_catalog).

Spotify closed the audio-features endpoint to new apps in November 2024, so a 403 there raises
`SpotifyUnavailable` with one clear message; so do bad credentials, a missing playlist, rate
limiting that outlasts the bounded retries, and timeouts.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable

import requests
import spotipy

from .songs_data import AUDIO_FEATURES


class SpotifyUnavailable(RuntimeError):
    """A Spotify call failed in a way the caller should report in one line (the message)."""


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
