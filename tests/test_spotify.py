"""Real spotipy against a loopback fake of the Spotify Web API: enrichment and playlist import."""
from __future__ import annotations

import time

import pandas as pd
import pytest

from recommender.music.spotify import Enricher, SpotifySettings, make_client
from training.spotify_playlists import SpotifyUnavailable, fetch_playlist_tracks
from recommender.types import Song
from shared_data import require
from fake_spotify import CLIENT_ID, CLIENT_SECRET, TOKEN, FakeSpotify

CALM = dict(danceability=0.35, acousticness=0.97, energy=0.08, instrumentalness=0.92, liveness=0.1,
            valence=0.1, loudness=-24.0, speechiness=0.04, tempo=100.0)
PARTY = dict(danceability=0.8, acousticness=0.05, energy=0.72, instrumentalness=0.0, liveness=0.1,
             valence=0.93, loudness=-5.0, speechiness=0.04, tempo=118.0)


@pytest.fixture
def fake():
    with FakeSpotify() as f:
        f.add_track("calmtrack000000000001", "Still Water", "Piano Person", 40, CALM, album="Quiet",
                    preview="https://p.scdn.co/mp3-preview/calm1")
        f.add_track("calmtrack000000000002", "Morning Mist", "Cello Person", 35, CALM)
        f.add_track("partytrack00000000001", "Sunny Jump", "Pop Group", 70, PARTY)
        f.add_track("partytrack00000000002", "Dance All Day", "Other Group", 60, PARTY)
        f.add_track("nofeatures00000000001", "Podcast Jingle", "Radio", 10, None)
        f.add_playlist("plA", ["calmtrack000000000001", "partytrack00000000001", "nofeatures00000000001"])
        f.add_playlist("plB", ["partytrack00000000001", "calmtrack000000000002", "partytrack00000000002"])
        yield f


# A wait no client should sit through: bounds of half of it only catch a client that waits it out,
# never a slow machine.
HANG = 60


def _song(tid: str) -> Song:
    return Song(tid, "x", "y", "calm")


# --- enrichment (serving) ----------------------------------------------------------------------
def test_enrich_returns_album_cover_preview_and_caches(fake):
    enricher = Enricher(make_client(fake.settings(), timeout=2, retries=0))
    got = enricher.enrich(_song("calmtrack000000000001"))
    assert got is not None and got.album == "Quiet"
    assert got.cover_url == "https://i.scdn.co/image/calmtrack000000000001"
    assert got.preview_url == "https://p.scdn.co/mp3-preview/calm1"
    assert enricher.enrich(_song("calmtrack000000000001")) == got
    assert enricher.enrich(_song("calmtrack000000000002")).preview_url is None
    assert fake.hits["/v1/tracks"] == 2 and fake.hits["/api/token"] == 1
    assert set(fake.auth_headers) == {f"Bearer {TOKEN}"}


def test_enrich_from_env_only_with_credentials(fake):
    assert SpotifySettings.from_env({}) is None
    assert SpotifySettings.from_env({"SPOTIPY_CLIENT_ID": CLIENT_ID}) is None
    env = {"SPOTIPY_CLIENT_ID": CLIENT_ID, "SPOTIPY_CLIENT_SECRET": CLIENT_SECRET,
           "SPOTIFY_API_URL": f"{fake.base}/v1", "SPOTIFY_TOKEN_URL": f"{fake.base}/api/token"}
    enricher = Enricher.connect(SpotifySettings.from_env(env))
    assert enricher.enrich(_song("partytrack00000000001")).album == "Album"


@pytest.mark.parametrize("case", ["unknown track", "bad credentials", "rate limited", "server down"])
def test_enrich_gives_none_on_errors(fake, case):
    settings = fake.settings()
    if case == "bad credentials":
        settings = fake.settings(client_secret="wrong")
    if case == "rate limited":
        fake.rate_limit("/v1/tracks", times=5, retry_after=HANG)
    enricher = Enricher(make_client(settings, timeout=2, retries=0))
    if case == "server down":
        fake.close()
    t0 = time.monotonic()
    assert enricher.enrich(_song("nosuchtrack00000000001" if case == "unknown track"
                                 else "calmtrack000000000001")) is None
    assert time.monotonic() - t0 < HANG / 2


def test_enrich_gives_up_quickly_on_a_slow_api(fake):
    fake.delay["/v1/tracks"] = HANG
    enricher = Enricher(make_client(fake.settings(), timeout=0.3, retries=0))
    t0 = time.monotonic()
    assert enricher.enrich(_song("calmtrack000000000001")) is None
    assert time.monotonic() - t0 < HANG / 2
    assert fake.hits["/v1/tracks"] == 1  # gave up on the one request, no retry


# --- playlist import (catalog building) --------------------------------------------------------
def test_fetch_playlists_pages_dedups_and_joins_features(fake):
    rows = fetch_playlist_tracks(make_client(fake.settings()), ["plA", "plB"])
    ids = [r["track_id"] for r in rows]
    assert sorted(ids) == sorted(["calmtrack000000000001", "calmtrack000000000002",
                                  "partytrack00000000001", "partytrack00000000002"])
    row = next(r for r in rows if r["track_id"] == "calmtrack000000000001")
    assert row["name"] == "Still Water" and row["artist"] == "Piano Person" and row["year"] == 2019
    assert row["acousticness"] == CALM["acousticness"] and row["tempo"] == CALM["tempo"]
    assert fake.hits["/v1/playlists"] == 4  # two pages each (page size 2 in the fake)


def test_audio_features_403_is_one_clear_error(fake):
    fake.audio_features_status = 403
    with pytest.raises(SpotifyUnavailable, match=r"403.*November 2024"):
        fetch_playlist_tracks(make_client(fake.settings()), ["plA"])
    assert fake.hits["/v1/audio-features"] == 1  # a 403 is not retried


def test_429_is_retried_honouring_retry_after_then_succeeds(fake):
    fake.rate_limit("/v1/audio-features", times=2, retry_after=1)
    t0 = time.monotonic()
    rows = fetch_playlist_tracks(make_client(fake.settings(), retries=3), ["plB"])
    assert len(rows) == 3 and fake.hits["/v1/audio-features"] == 3
    assert time.monotonic() - t0 >= 1.5  # it did wait for the server's Retry-After (2 x 1 s)


def test_endless_429_with_huge_retry_after_ends_bounded(fake):
    fake.rate_limit("/v1/playlists", times=1000, retry_after=HANG)
    t0 = time.monotonic()
    with pytest.raises(SpotifyUnavailable, match="429"):
        fetch_playlist_tracks(make_client(fake.settings(), retries=2, retry_after_cap=0.2), ["plA"])
    assert time.monotonic() - t0 < HANG / 2
    assert fake.hits["/v1/playlists"] == 3  # the first try and two retries


def test_timeout_and_missing_playlist_and_bad_credentials(fake):
    with pytest.raises(SpotifyUnavailable, match="404"):
        fetch_playlist_tracks(make_client(fake.settings()), ["nope"])
    with pytest.raises(SpotifyUnavailable, match="credentials"):
        fetch_playlist_tracks(make_client(fake.settings(client_secret="bad")), ["plA"])
    fake.delay["/v1/playlists"] = HANG
    t0 = time.monotonic()
    with pytest.raises(SpotifyUnavailable, match="timeout"):
        fetch_playlist_tracks(make_client(fake.settings(), timeout=0.3), ["plA"])
    assert time.monotonic() - t0 < HANG / 2


# --- the build command end to end ----------------------------------------------------------------
@pytest.fixture
def spotify_env(fake, monkeypatch):
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SPOTIFY_API_URL", f"{fake.base}/v1/")
    monkeypatch.setenv("SPOTIFY_TOKEN_URL", f"{fake.base}/api/token")
    return fake


def test_build_catalog_adds_playlist_tracks(spotify_env, tmp_path, capsys):
    from training.build_catalog import main

    require("music", "data_moods.csv"), require("music", "spotify_songs.csv.gz")
    out = tmp_path / "catalog.csv"
    assert main(["--out", str(out), "--spotify-playlist", "plA", "plB"]) == 0
    df = pd.read_csv(out, keep_default_na=False).set_index("track_id")
    added = df[df["label_source"].str.startswith("spotify-playlist")]
    assert added.loc["calmtrack000000000001", "mood"] == "calm"
    assert added.loc["partytrack00000000001", "mood"] == "happy"
    assert len(df) >= 10_000
    assert "fetched 4 tracks" in capsys.readouterr().out


def test_build_catalog_403_writes_nothing(spotify_env, tmp_path, capsys):
    from training.build_catalog import main

    spotify_env.audio_features_status = 403
    out = tmp_path / "catalog.csv"
    out.write_text("previous catalog\n")
    assert main(["--out", str(out), "--spotify-playlist", "plA"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "403" in err and "no catalog written" in err
    assert out.read_text() == "previous catalog\n"
    assert not list(tmp_path.glob("*.tmp"))


def test_build_catalog_without_credentials_says_so(monkeypatch, tmp_path, capsys):
    from training.build_catalog import main

    monkeypatch.delenv("SPOTIPY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET", raising=False)
    out = tmp_path / "catalog.csv"
    assert main(["--out", str(out), "--spotify-playlist", "plA"]) == 2
    assert "SPOTIPY_CLIENT_ID" in capsys.readouterr().err and not out.exists()


def test_settings_from_env_defaults_to_spotify():
    s = SpotifySettings.from_env({"SPOTIPY_CLIENT_ID": "a", "SPOTIPY_CLIENT_SECRET": "b"})
    assert s.api_url == "https://api.spotify.com/v1/" and s.token_url.startswith("https://accounts.")
