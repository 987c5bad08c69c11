"""Issue 28 (memory): the catalog's songs share their repeated cells and have slots, and the
streamed CSV reader gives exactly the songs a csv.DictReader gave (the reference below is the
reader as it was before)."""
from __future__ import annotations

import csv
import gzip
import tracemalloc
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from recommender.music.catalog import Catalog
from recommender.music.catalog_csv import _float
from recommender.music.titles import clean_title
from recommender.paths import CATALOG_PATH
from recommender.types import Song


def _song_from_row_reference(row: dict) -> Song | None:
    track_id = (row.get("track_id") or "").strip()
    name = (row.get("name") or "").strip()
    if not track_id or not name:
        return None
    return Song(track_id=track_id, name=clean_title(name),
                artist=(row.get("artist") or "").strip() or "Unknown artist",
                mood=(row.get("mood") or "").strip().lower(),
                confidence=_float(row.get("confidence"), 1.0),
                popularity=int(_float(row.get("popularity"), 0.0)),
                valence=_float(row.get("valence"), 0.5), energy=_float(row.get("energy"), 0.5),
                genre=(row.get("genre") or "").strip().lower(),
                flags=frozenset((row.get("flags") or "").lower().split()))


def _catalog_reference(path: Path) -> Catalog:
    with open(path, newline="", encoding="utf-8") as fh:
        return Catalog.from_songs(_song_from_row_reference(row) for row in csv.DictReader(fh))


def _same_catalog(a: Catalog, b: Catalog) -> None:
    assert a.moods == b.moods and len(a) == len(b)
    for mood in a.moods:
        assert a.songs(mood) == b.songs(mood)
        assert [s.__repr__() for s in a.songs(mood)] == [s.__repr__() for s in b.songs(mood)]


def test_the_shipped_catalog_loads_the_same_songs_as_a_dictreader() -> None:
    _same_catalog(Catalog.load(), _catalog_reference(CATALOG_PATH))


def test_odd_rows_load_as_a_dictreader_read_them(tmp_path: Path) -> None:
    text = ("name,track_id,mood,artist,confidence,popularity,valence,energy,genre,flags,artist\n"
            "\n"
            "Song A - Remastered 2009, id1 ,Happy,ignored, 0.9,55,0.1,0.2, Pop ,Explicit DARK,  Adele \n"
            "Song B,id2,happy,x,,,,,,,\n"
            "Song C,id3,SAD\n"
            "Song D,id4,sad,x,abc,12.7,-,1e-1,rock,christmas,ADELE\n"
            ",id5,sad,x,1,1,1,1,,,\n"
            "Song F,,sad,x,1,1,1,1,,,\n"
            "Song G,id1,sad,x,1,1,1,1,,,Dup id\n"
            "\"Song, H\",id8,calm,x,0.5,3,0.3,0.3,,,\"Quoted, Artist\"\n")
    path = tmp_path / "odd.csv"
    path.write_text(text, encoding="utf-8")
    _same_catalog(Catalog.load(path), _catalog_reference(path))
    zipped = tmp_path / "odd.csv.gz"
    zipped.write_bytes(gzip.compress(text.encode()))
    _same_catalog(Catalog.load(zipped), _catalog_reference(path))
    song = Catalog.load(path).get("id1")
    assert (song.name, song.artist, song.mood, song.genre, song.flags) == (
        "Song A", "Adele", "happy", "pop", frozenset({"explicit", "dark"}))


def test_a_song_is_a_frozen_slotted_dataclass_with_value_equality() -> None:
    a, same = (Song("t", "N", "A", "happy", flags=frozenset({"dark"})) for _ in range(2))
    assert a is not same and a == same and hash(a) == hash(same)
    assert a != Song("t", "N", "A", "sad")
    assert not hasattr(a, "__dict__")
    with pytest.raises(FrozenInstanceError):
        a.name = "other"  # type: ignore[misc]


def test_the_loaded_catalog_is_small_in_memory() -> None:
    """Each song's repeated cells (artist, mood, genre, flags, numbers) are shared and a song has
    slots: the shipped catalog held ~11 MiB of Python objects, now under half of that."""
    tracemalloc.start()
    try:
        catalog = Catalog.load()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(catalog) > 10_000
    assert held < 6 * 2**20, f"{held / 2**20:.1f} MiB held"
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB at the peak of loading"
