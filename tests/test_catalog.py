"""The catalog the bot serves from: loading, the global order, and each user's own order."""
from __future__ import annotations

import csv
import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.music.catalog import Catalog, spread_artists
from recommender.paths import CATALOG_PATH
from recommender.types import MOODS, Song

FIELDS = ["track_id", "name", "artist", "mood", "confidence", "popularity", "valence", "energy"]


def _write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    return path


def _rows(n: int, mood: str = "happy", artists: int = 7) -> list[dict]:
    return [
        {"track_id": f"{mood}{i:05d}", "name": f"Song {i}", "artist": f"Artist {i % artists}",
         "mood": mood, "confidence": round(1 - i / (2 * n), 4), "popularity": 100 - (i * 100) // n,
         "valence": 0.5, "energy": 0.5}
        for i in range(n)
    ]


def _no_artist_twice(songs) -> bool:
    return all(a.artist.casefold() != b.artist.casefold() for a, b in zip(songs, songs[1:]))


def test_load_reads_songs_moods_and_lookup(tmp_path):
    rows = _rows(30, "happy") + _rows(20, "sad")
    cat = Catalog.load(_write(tmp_path / "c.csv", rows))
    assert cat.moods == ("happy", "sad")
    assert len(cat) == 50 and len(cat.songs("happy")) == 30 and cat.songs("calm") == ()
    song = cat.get("sad00003")
    assert song is not None and song.name == "Song 3" and song.mood == "sad"
    assert song.url == "https://open.spotify.com/track/sad00003"
    assert cat.get("nope") is None


def test_load_gzip_and_skips_bad_rows(tmp_path):
    rows = _rows(5, "calm") + [
        {"track_id": "x1", "name": "Bad mood", "artist": "A", "mood": "angry", "confidence": 1,
         "popularity": 1, "valence": 0.1, "energy": 0.1},
        {"track_id": "", "name": "No id", "artist": "A", "mood": "calm", "confidence": 1,
         "popularity": 1, "valence": 0.1, "energy": 0.1},
        dict(_rows(5, "calm")[0], name="Duplicate id"),
    ]
    plain = _write(tmp_path / "c.csv", rows)
    gz = tmp_path / "c.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    cat = Catalog.load(gz)
    assert [s.track_id for s in cat.songs("calm")] and len(cat) == 5
    assert cat.get("calm00000").name == "Song 0"


def test_missing_column_is_a_clear_error(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("track_id,name,artist\nabc,Song,Artist\n")
    with pytest.raises(ValueError, match="mood"):
        Catalog.load(p)


def test_global_order_confident_and_popular_first_artists_spaced(tmp_path):
    rows = [
        {"track_id": "a1", "name": "Top", "artist": "Adele", "mood": "sad", "confidence": 0.99,
         "popularity": 90, "valence": 0.2, "energy": 0.3},
        {"track_id": "a2", "name": "Second best but same artist", "artist": "ADELE", "mood": "sad",
         "confidence": 0.98, "popularity": 89, "valence": 0.2, "energy": 0.3},
        {"track_id": "b1", "name": "Third", "artist": "Bon Iver", "mood": "sad", "confidence": 0.7,
         "popularity": 50, "valence": 0.2, "energy": 0.3},
        {"track_id": "c1", "name": "Unsure and obscure", "artist": "Coldplay", "mood": "sad",
         "confidence": 0.4, "popularity": 5, "valence": 0.2, "energy": 0.3},
    ]
    order = [s.track_id for s in Catalog.load(_write(tmp_path / "c.csv", rows)).songs("sad")]
    # Adele's second song waits until ten songs apart or nothing else is left
    assert order == ["a1", "b1", "c1", "a2"]


def test_spread_artists_keeps_everything_even_when_one_artist_is_left():
    songs = [Song(f"t{i}", f"S{i}", "Solo" if i < 4 else "Other", "happy") for i in range(6)]
    out = spread_artists(songs)
    assert sorted(s.track_id for s in out) == sorted(s.track_id for s in songs)
    assert [s.artist for s in out[:4]] == ["Solo", "Other", "Solo", "Other"]


def test_user_order_is_stable_personal_and_roughly_best_first(tmp_path):
    path = _write(tmp_path / "c.csv", _rows(600, "energetic"))
    cat = Catalog.load(path)
    glob = [s.track_id for s in cat.songs("energetic")]
    rank = {t: i for i, t in enumerate(glob)}
    u1 = [s.track_id for s in cat.order_for_user("energetic", 1)]
    u2 = [s.track_id for s in cat.order_for_user("energetic", 2)]
    # a restart is a fresh load: the same user gets the same order
    assert [s.track_id for s in Catalog.load(path).order_for_user("energetic", 1)] == u1
    assert sorted(u1) == sorted(glob) and sorted(u2) == sorted(glob)
    assert u1 != u2 and u1[:10] != u2[:10] and u1 != glob
    for order in (u1, u2):
        first, last = order[:100], order[-100:]
        assert sum(rank[t] for t in first) / 100 < 120 and sum(rank[t] for t in last) / 100 > 480
        assert _no_artist_twice([cat.get(t) for t in order])


def test_shipped_catalog_serves_every_mood_without_pandas():
    code = (
        "import sys; from recommender.music.catalog import Catalog; c = Catalog.load(); "
        "assert 'pandas' not in sys.modules and 'sklearn' not in sys.modules; "
        "print(*[len(c.songs(m)) for m in ('calm', 'happy', 'energetic', 'sad')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=CATALOG_PATH.parent.parent)
    counts = [int(x) for x in out.stdout.split()]
    assert all(n >= 100 for n in counts), counts


def test_shipped_catalog_orders_hold_the_artist_rule():
    cat = Catalog.load()
    assert set(cat.moods) == set(MOODS)
    for mood in MOODS:
        assert _no_artist_twice(list(cat.songs(mood)))
        assert _no_artist_twice(list(cat.order_for_user(mood, 123456789)))
