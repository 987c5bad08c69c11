"""The song catalog the bot serves from: read once at start-up, ordered per mood and per user.

The catalog is a plain CSV (built by `python -m training.build_catalog`), read by catalog_csv.py
without pandas or scikit-learn.

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

import hashlib
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..paths import CATALOG_PATH
from ..types import MOODS, Song
from .catalog_csv import read_songs
from .lazy import LazySequence

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
    return list(_spread_positions(artists, gap))


def _spread_positions(artists: Sequence[object], gap: int = ARTIST_GAP,
                      n: int | None = None, grow: Callable[[], None] | None = None) -> Iterator[int]:
    """`_spread_order` one position at a time, reading `artists` only as far as it must.

    `artists` may hold just a prefix of the n positions when `grow` is given: `grow()` appends
    more, and is called only when the spacing looks at a position not there yet.
    """
    n = len(artists) if n is None else n
    recent: deque[object] = deque()
    blocked: dict[object, int] = {}  # artists among the last gap - 1 picks (a dict: Counter's misses cost)
    is_blocked = blocked.get
    last_used: dict[object, int] = {}
    taken: set[int] = set()  # positions after `start` already picked (a few: picks stay near it)
    start = 0  # positions before `start` are all taken
    used = 0
    while start < n:
        if taken and start in taken:
            taken.discard(start)
            start += 1
            continue
        try:
            artist = artists[start]
        except IndexError:  # not read yet (an exception: free in the loop while not raised)
            grow()  # type: ignore[misc]
            artist = artists[start]
        pick = start
        if is_blocked(artist):
            # the earliest song by a free artist, scanned lazily (it is usually a few places on:
            # listing every waiting song first made a user's order quadratic, ~14 ms for happy)
            pick = -1
            for i in range(start + 1, n):
                try:
                    other = artists[i]
                except IndexError:
                    grow()  # type: ignore[misc]
                    other = artists[i]
                if not is_blocked(other) and i not in taken:
                    pick, artist = i, other
                    break
            if pick < 0:  # failing that, by the artist heard longest ago (the scan read them all)
                pick = min((i for i in range(start, n) if i not in taken),
                           key=lambda i: (last_used[artists[i]], i))
                artist = artists[pick]
        if pick == start:
            start += 1
        else:
            taken.add(pick)
        yield pick
        used += 1
        last_used[artist] = used
        recent.append(artist)
        blocked[artist] = is_blocked(artist, 0) + 1
        if len(recent) >= gap:
            blocked[recent.popleft()] -= 1


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
    # Per mood, the track ids: what a user's order holds, known without a pass over it.
    _ids: dict[str, frozenset[str]] = field(repr=False, default_factory=dict)
    # Per mood, aligned with by_mood: track hashes and artist ids, so a user's order costs a few
    # milliseconds (numpy) rather than a hash per song per user on the event loop.
    _hashes: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    _artists: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    @classmethod
    def load(cls, path: Path | str = CATALOG_PATH) -> Catalog:
        """Read the catalog CSV (or .csv.gz). Unknown moods and repeated track ids are skipped."""
        return cls.from_songs(read_songs(Path(path)))

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
            _ids={m: frozenset(x.track_id for x in songs) for m, songs in by_mood.items()},
            _hashes={m: np.array([_track_hash(x.track_id) for x in songs], np.uint64)
                     for m, songs in by_mood.items()},
            _artists={m: np.array([artist_ids.setdefault(artist_key(x.artist), len(artist_ids)) for x in songs],
                                  np.int32)
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
def _order_for_user(catalog: Catalog, mood: str, user_id: int) -> Sequence[Song]:
    songs = catalog.songs(mood)
    n = len(songs)
    if n == 0:
        return ()
    return UserOrder(_user_songs(songs, catalog._hashes[mood], catalog._artists[mood], user_id), n,
                     catalog._ids[mood])


class UserOrder(LazySequence[Song]):
    """A user's order of one mood, computed as far as it is read; `track_ids` holds its songs' ids."""

    def __init__(self, songs: Iterable[Song], length: int, track_ids: Collection[str]) -> None:
        super().__init__(songs, length)
        self.track_ids = track_ids  # so a choice needs no pass over the order to know what is in it


def _user_songs(songs: Sequence[Song], hashes: np.ndarray, artists: np.ndarray,
                user_id: int) -> Iterator[Song]:
    """The user's order: jittered global order (`_jittered_positions`), then the artist spacing."""
    positions: list[int] = []
    artist_ids: list[int] = []  # the artist of each of `positions`
    blocks = _jittered_positions(hashes, user_id)

    def grow() -> None:
        block = next(blocks)
        positions.extend(block.tolist())  # Python ints: indexing with numpy ones is slower
        artist_ids.extend(artists[block].tolist())

    spread = _spread_positions(artist_ids, ARTIST_GAP, len(songs), grow)
    return map(songs.__getitem__, map(positions.__getitem__, spread))  # C maps: no generator frame a song


_FIRST_BLOCK = 2 * _HEAD  # the head and a few more: enough for a new user's first songs


def _jittered_positions(hashes: np.ndarray, user_id: int) -> Iterator[np.ndarray]:
    """The global positions sorted by the user's jittered keys, a growing block at a time.

    Position i's key is at least i (i + window * jitter, or below _HEAD for the head), so once
    keys up to `hi` are known every key below `hi` is final: the blocks, joined, are exactly the
    stable argsort of all the keys, without computing or sorting the keys of songs not yet read.
    """
    n = len(hashes)
    window = min(_JITTER_MAX, max(_JITTER_MIN, int(n * _JITTER_FRACTION)))
    head = min(_HEAD, n)
    waiting_keys = np.empty(0)
    waiting = np.empty(0, np.intp)  # positions read whose key is not below `hi` yet, in order
    lo, hi = 0, min(n, _FIRST_BLOCK)
    while lo < n:
        jitter = _user_jitters(user_id, hashes[lo:hi])
        new = np.arange(lo, hi)
        keys = new + window * jitter
        if lo < head:
            keys[:head - lo] = head * jitter[:head - lo]  # below every other key: the head comes first
        keys = np.concatenate((waiting_keys, keys))
        positions = np.concatenate((waiting, new))
        ready = keys < hi if hi < n else np.ones(len(keys), bool)
        if ready.any():
            yield positions[ready][np.argsort(keys[ready], kind="stable")]
        waiting_keys, waiting = keys[~ready], positions[~ready]
        lo, hi = hi, min(n, 2 * hi)
