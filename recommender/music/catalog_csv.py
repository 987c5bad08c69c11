"""Reading the catalog CSV (docs/catalog-format.md) into songs, streamed and with shared values.

Read with the csv module on purpose: the bot must not pay for pandas just to load it. The rows
are streamed (no copy of the whole file in memory), and equal cells share one parsed object: the
shipped catalog repeats its 7,400 artists, 4 moods, 7 genres, 9 flag sets and rounded numbers
across 13,900 songs, and a copy of each cost about 6 MiB of the bot's memory.
"""
from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..types import Song
from .titles import clean_title

REQUIRED_COLUMNS = ("track_id", "name", "mood")  # the rest have defaults (docs/catalog-format.md)


def read_songs(path: Path) -> Iterator[Song | None]:
    """The songs of a catalog CSV (or .csv.gz), None for a row without id or name."""
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh)
        header = next(rows, None) or []
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        yield from songs_from_rows(header, rows)


class _Parsed(dict):
    """Cell text → its parsed value, parsed once, so equal cells share one object."""

    def __init__(self, parse: Callable[[str], object]) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, text: str) -> object:
        value = self[text] = self.parse(text)
        return value


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def songs_from_rows(header: list[str], rows: Iterable[list[str]]) -> Iterator[Song | None]:
    """Songs from csv rows under `header`; a missing column or a short row reads as empty cells."""
    where = {name: i for i, name in enumerate(header)}  # a repeated column: its last copy, as DictReader
    columns = [where.get(c) for c in ("track_id", "name", "artist", "mood", "confidence", "popularity",
                                      "valence", "energy", "genre", "flags")]
    artist = _Parsed(lambda t: t.strip() or "Unknown artist")
    lowered = _Parsed(lambda t: t.strip().lower())  # moods and genres
    confidence = _Parsed(lambda t: _float(t, 1.0))
    popularity = _Parsed(lambda t: int(_float(t, 0.0)))
    half = _Parsed(lambda t: _float(t, 0.5))  # valence and energy
    flags = _Parsed(lambda t: frozenset(t.lower().split()))
    for row in rows:
        if not row:
            continue  # a blank line: DictReader skipped it too
        cells = [row[i] if i is not None and i < len(row) else "" for i in columns]
        track_id, name = cells[0].strip(), cells[1].strip()
        if not track_id or not name:
            yield None
            continue
        yield Song(track_id=track_id, name=clean_title(name), artist=artist[cells[2]],
                   mood=lowered[cells[3]], confidence=confidence[cells[4]],
                   popularity=popularity[cells[5]], valence=half[cells[6]], energy=half[cells[7]],
                   genre=lowered[cells[8]], flags=flags[cells[9]])
