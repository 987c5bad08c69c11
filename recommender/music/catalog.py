"""The song catalog the bot serves from: read once at start-up, ordered per mood and per user.

The catalog is a plain CSV (built by `python -m training.build_catalog`). It is read with the csv
module on purpose: the bot must not pay for pandas or scikit-learn just to load it.

Ordering contract (what the bot and the CLI rely on):

* `Catalog.songs(mood)` is the global order of a mood: confident and popular songs first, the
  source genres taking turns in calm, happy and energetic (so energetic is dance, pop, hip-hop,
  latin and rock, not one genre; calm not one stock playlist),
  and no artist twice within ARTIST_GAP consecutive songs (wherever the mood has enough other
  artists to put in between).
* `Catalog.order_for_user(mood, user_id)` is that user's own order: the global order jittered by a
  per-(user, track) hash, so it is deterministic (survives restarts, no state to store), differs
  between users (the best _HEAD songs open it in the user's own random order, so users start
  from different songs), stays roughly confident/popular first, and keeps the artist-spacing rule.
  Because the jitter is per track, adding songs to the catalog barely moves the others.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..paths import CATALOG_PATH
from ..types import MOODS, Song
from .titles import clean_title

REQUIRED_COLUMNS = ("track_id", "name", "mood")  # the rest have defaults (docs/catalog-format.md)

# How far (in positions) a song may drift from its global rank in one user's order: a tenth of the
# mood, at least 10 and at most 200 places. Enough that two users' first songs differ, small enough
# that the best songs still come early for everyone.
_JITTER_FRACTION = 0.10
_JITTER_MIN = 10
_JITTER_MAX = 200
# A user's order opens with the mood's best HEAD songs in that user's own random order, so two
# users rarely start from the same song (1 in HEAD for any two), and the rest is jittered.
_HEAD = 100
# Moods whose genres take turns at the top. Not sad: its confident songs already spread over pop,
# r&b, rock and the hand-labelled set, and turns only pulled weaker rap/edm/latin "sad" songs up.
GENRE_TURN_MOODS = frozenset({"calm", "happy", "energetic"})
# No artist twice within this many consecutive songs of a mood's order (and of a user's songs).
ARTIST_GAP = 10


def song_score(song: Song) -> float:
    """Higher first: the model's confidence, then popularity (0-100) as the weaker half."""
    return 0.6 * song.confidence + 0.4 * (song.popularity / 100.0)


def artist_key(artist: str) -> str:
    """How artists are compared: case and surrounding spaces ignored."""
    return artist.casefold().strip()


def spread_artists(songs: Iterable[Song], gap: int = ARTIST_GAP) -> list[Song]:
    """Keep the given order as far as possible, but no artist twice within `gap` consecutive songs.

    Greedy: each next slot takes the earliest waiting song whose artist is not among the previous
    gap - 1. Only when every remaining song is by those artists does the earliest one go next.
    """
    pending = list(songs)
    return [pending[i] for i in _spread_order([artist_key(s.artist) for s in pending], gap)]


def _spread_order(artists: Sequence[object], gap: int = ARTIST_GAP) -> list[int]:
    """`spread_artists` on artist keys alone: the positions of the spread order."""
    n = len(artists)
    out: list[int] = []
    recent: deque[object] = deque()
    blocked: Counter[object] = Counter()  # artists among the last gap - 1 picks
    last_used: dict[object, int] = {}
    start = 0  # positions before `start` are all taken
    taken = [False] * n
    while start < n:
        if taken[start]:
            start += 1
            continue
        pick = start
        if blocked[artists[start]]:
            waiting = [i for i in range(start, n) if not taken[i]]
            # the earliest song by a free artist; failing that, by the artist heard longest ago
            pick = next((i for i in waiting if not blocked[artists[i]]), None)
            if pick is None:
                pick = min(waiting, key=lambda i: (last_used[artists[i]], i))
        taken[pick] = True
        out.append(pick)
        last_used[artists[pick]] = len(out)
        recent.append(artists[pick])
        blocked[artists[pick]] += 1
        if len(recent) >= gap:
            blocked[recent.popleft()] -= 1
    return out


def _turns(mood: str, songs: list[Song]) -> list[Song]:
    return genre_turns(songs) if mood in GENRE_TURN_MOODS else songs


def genre_turns(songs: Sequence[Song]) -> list[Song]:
    """Best first within each genre, the genres taking turns: the k-th best song of every genre
    comes before the (k+1)-th of any, so no one genre fills the top of a mood."""
    rank: Counter[str] = Counter()
    keyed = []
    for pos, song in enumerate(songs):
        keyed.append((rank[song.genre], pos, song))
        rank[song.genre] += 1
    return [song for _, _, song in sorted(keyed, key=lambda k: (k[0], k[1]))]


_MASK64 = (1 << 64) - 1


def _track_hash(track_id: str) -> int:
    """A stable 64-bit hash of a track id: blake2b, not hash(), which is salted per process."""
    return int.from_bytes(hashlib.blake2b(track_id.encode(), digest_size=8).digest(), "big")


def _mix64(x):
    """splitmix64's finaliser: works on Python ints (masked) and on numpy uint64 arrays (wrapping)."""
    if isinstance(x, int):
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK64
        return x ^ (x >> 31)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _user_key(user_id: int) -> int:
    return _mix64(int(user_id) & _MASK64)


def user_jitter(user_id: int, track_id: str) -> float:
    """A uniform number in [0, 1) fixed for (user, track), stable across restarts."""
    return (_mix64(_track_hash(track_id) ^ _user_key(user_id)) >> 11) / 2**53


def _user_jitters(user_id: int, track_hashes: np.ndarray) -> np.ndarray:
    """`user_jitter` for many tracks at once (the same numbers, vectorised)."""
    with np.errstate(over="ignore"):
        mixed = _mix64(track_hashes ^ np.uint64(_user_key(user_id)))
    return (mixed >> np.uint64(11)).astype(np.float64) / 2**53


@dataclass(frozen=True, eq=False)  # identity equality/hash: it keys the per-user order cache
class Catalog:
    by_mood: dict[str, tuple[Song, ...]]
    _by_id: dict[str, Song] = field(repr=False, default_factory=dict)
    # Per mood, aligned with by_mood: track hashes and artist ids, so a user's order costs a few
    # milliseconds (numpy) rather than a hash per song per user on the event loop.
    _hashes: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    _artists: dict[str, list[int]] = field(repr=False, default_factory=dict)

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
            mood: tuple(spread_artists(_turns(mood, sorted(grouped[mood], key=lambda s: (-song_score(s), s.track_id)))))
            for mood in MOODS
            if mood in grouped
        }
        artist_ids: dict[str, int] = {}
        return cls(
            by_mood=by_mood,
            _by_id=by_id,
            _hashes={m: np.array([_track_hash(x.track_id) for x in songs], np.uint64)
                     for m, songs in by_mood.items()},
            _artists={m: [artist_ids.setdefault(artist_key(x.artist), len(artist_ids)) for x in songs]
                      for m, songs in by_mood.items()},
        )

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
    if n == 0:
        return ()
    window = min(_JITTER_MAX, max(_JITTER_MIN, int(n * _JITTER_FRACTION)))
    jitter = _user_jitters(user_id, catalog._hashes[mood])
    keys = np.arange(n) + window * jitter
    head = min(_HEAD, n)
    keys[:head] = head * jitter[:head]  # below every other key (>= head): the head comes first
    keyed = np.argsort(keys, kind="stable")
    artists = catalog._artists[mood]
    return tuple(songs[keyed[i]] for i in _spread_order([artists[i] for i in keyed]))


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
        name=clean_title(name),
        artist=(row.get("artist") or "").strip() or "Unknown artist",
        mood=(row.get("mood") or "").strip().lower(),
        confidence=_float(row.get("confidence"), 1.0),
        popularity=int(_float(row.get("popularity"), 0.0)),
        valence=_float(row.get("valence"), 0.5),
        energy=_float(row.get("energy"), 0.5),
        genre=(row.get("genre") or "").strip().lower(),
        flags=frozenset((row.get("flags") or "").lower().split()),
    )
