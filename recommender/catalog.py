"""The song catalog the bot serves from: read once at start-up, ordered per mood and per user.

The catalog is a plain CSV (built by `python -m training.build_catalog`). It is read with the csv
module on purpose: the bot must not pay for pandas or scikit-learn just to load it.

Ordering contract (what the bot and the CLI rely on):

* `Catalog.songs(mood)` is the global order of a mood: confident and popular songs first, and the
  same artist never twice in a row (wherever the mood has another artist left to put in between).
* `Catalog.order_for_user(mood, user_id)` is that user's own order: the global order jittered by a
  per-(user, track) hash, so it is deterministic (survives restarts, no state to store), differs
  between users, stays roughly confident/popular first, and keeps the no-artist-twice-in-a-row rule.
  Because the jitter is per track, adding songs to the catalog barely moves the others.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .paths import CATALOG_PATH
from .types import MOODS, Song

REQUIRED_COLUMNS = ("track_id", "name", "artist", "mood", "confidence")

# How far (in positions) a song may drift from its global rank in one user's order: a tenth of the
# mood, at least 10 and at most 200 places. Enough that two users' first songs differ, small enough
# that the best songs still come early for everyone.
_JITTER_FRACTION = 0.10
_JITTER_MIN = 10
_JITTER_MAX = 200


def song_score(song: Song) -> float:
    """Higher first: the model's confidence, then popularity (0-100) as the weaker half."""
    return 0.6 * song.confidence + 0.4 * (song.popularity / 100.0)


def _artist_key(artist: str) -> str:
    return artist.casefold().strip()


def spread_artists(songs: Iterable[Song]) -> list[Song]:
    """Keep the given order as far as possible, but never the same artist twice in a row.

    Greedy: each next slot takes the earliest waiting song whose artist differs from the previous
    one. Only when every remaining song is by that same artist are they appended as they are.
    """
    pending = list(songs)
    out: list[Song] = []
    last = None
    start = 0  # pending[:start] are already taken (None)
    taken = [False] * len(pending)
    while start < len(pending):
        while start < len(pending) and taken[start]:
            start += 1
        if start >= len(pending):
            break
        pick = None
        for i in range(start, len(pending)):
            if not taken[i] and _artist_key(pending[i].artist) != last:
                pick = i
                break
        if pick is None:  # only this artist is left
            pick = start
        taken[pick] = True
        out.append(pending[pick])
        last = _artist_key(pending[pick].artist)
    return out


def user_jitter(user_id: int, track_id: str) -> float:
    """A uniform number in [0, 1) fixed for (user, track): blake2b, not hash(), which is salted."""
    digest = hashlib.blake2b(f"{user_id}:{track_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True, eq=False)  # identity equality/hash: it keys the per-user order cache
class Catalog:
    by_mood: dict[str, tuple[Song, ...]]
    _by_id: dict[str, Song] = field(repr=False, default_factory=dict)

    @classmethod
    def load(cls, path: Path | str = CATALOG_PATH) -> Catalog:
        """Read the catalog CSV (or .csv.gz). Unknown moods and repeated track ids are skipped."""
        path = Path(path)
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        return cls.from_songs(_song_from_row(row) for row in reader)

    @classmethod
    def from_songs(cls, songs: Iterable[Song | None]) -> Catalog:
        by_id: dict[str, Song] = {}
        for song in songs:
            if song is None or song.mood not in MOODS or song.track_id in by_id:
                continue
            by_id[song.track_id] = song
        grouped: dict[str, list[Song]] = {}
        for song in by_id.values():
            grouped.setdefault(song.mood, []).append(song)
        by_mood = {
            mood: tuple(spread_artists(sorted(grouped[mood], key=lambda s: (-song_score(s), s.track_id))))
            for mood in MOODS
            if mood in grouped
        }
        return cls(by_mood=by_mood, _by_id=by_id)

    @property
    def moods(self) -> tuple[str, ...]:
        """The moods that have at least one song, in MOODS order."""
        return tuple(self.by_mood)

    def __len__(self) -> int:
        return len(self._by_id)

    def songs(self, mood: str) -> Sequence[Song]:
        """The global order of a mood (empty for a mood the catalog lacks)."""
        return self.by_mood.get(mood, ())

    def get(self, track_id: str) -> Song | None:
        return self._by_id.get(track_id)

    def order_for_user(self, mood: str, user_id: int) -> Sequence[Song]:
        """This user's stable, personal order of a mood (see the module docstring)."""
        return _order_for_user(self, mood, int(user_id))


@lru_cache(maxsize=512)
def _order_for_user(catalog: Catalog, mood: str, user_id: int) -> tuple[Song, ...]:
    songs = catalog.songs(mood)
    n = len(songs)
    window = min(_JITTER_MAX, max(_JITTER_MIN, int(n * _JITTER_FRACTION)))
    keyed = sorted(
        range(n), key=lambda i: (i + window * user_jitter(user_id, songs[i].track_id), i)
    )
    return tuple(spread_artists(songs[i] for i in keyed))


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def _song_from_row(row: dict[str, str]) -> Song | None:
    track_id = (row.get("track_id") or "").strip()
    name = (row.get("name") or "").strip()
    if not track_id or not name:
        return None
    return Song(
        track_id=track_id,
        name=name,
        artist=(row.get("artist") or "").strip() or "Unknown artist",
        mood=(row.get("mood") or "").strip().lower(),
        confidence=_float(row.get("confidence"), 1.0),
        popularity=int(_float(row.get("popularity"), 0.0)),
        valence=_float(row.get("valence"), 0.5),
        energy=_float(row.get("energy"), 0.5),
    )
