"""Lift mode ("Mood Lifter"): start where the listener is, then lift step by step (iso principle).

Music therapy's iso principle: first meet the listener's current mood, then change the music
gradually. Here a mood is a point in Spotify's (valence, energy) plane. Step 0 serves songs of the
detected mood itself (around that mood's median point); each later step moves the target point a
fixed fraction of the way toward a bright, lively goal (valence 0.85, energy 0.80), and serves the
songs nearest to it, whatever their mood label. After LIFT_STEPS steps the target stays at the
goal. An axis that already starts above the goal (the energy of energetic songs) is never lowered.

Contract for callers (the bot keeps the state, this module is pure):

    song = choose_lift_song(catalog, mood, step, user_id, exclude=served_ids, avoid_artist=last)

* `mood`: the mood detected from the photo (recommender.types.MOODS).
* `step`: 0 for the answer to the photo, n for the n-th "More" press since that photo; any
  step >= LIFT_STEPS means "at the goal". Negative steps count as 0.
* `user_id`: the Telegram user id; each user gets their own stable order within a step's pool.
* `exclude`: track ids not to serve (e.g. this user's history). The pool widens around the target
  point until a song is found, so the answer is always near the target when possible.
* `avoid_artist`: the previous song's artist, skipped when another choice exists;
  `avoid_artists`: more such artists (keys, recommender.music.catalog.artist_key), e.g. the last
  nine songs' (within the step's pool, widened until one is found, as for `exclude`).
* Returns None only when every song in the catalog is excluded (the caller may start over).

`lift_pool(catalog, mood, step)` gives the step's ordered pool (nearest to the target first) and
`target(catalog, mood, step)` the (valence, energy) point, for tests, the CLI and /help texts.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from functools import lru_cache
from statistics import median

import numpy as np

from .catalog import Catalog, _track_hash, _user_jitters, artist_key, song_score
from ..types import MOODS, Song

LIFT_STEPS = 5
GOAL: tuple[float, float] = (0.85, 0.80)  # (valence, energy): bright and lively, not frantic
POOL_SIZE = 150  # songs per step's pool: enough variety, still close to the target

# Where each mood starts when the catalog lacks it: the human-labelled songs' medians.
_FALLBACK_START = {"calm": (0.12, 0.12), "happy": (0.59, 0.78), "energetic": (0.43, 0.91),
                   "sad": (0.23, 0.36)}


def target(catalog: Catalog, mood: str, step: int) -> tuple[float, float]:
    """The (valence, energy) point that `step` aims at, starting from `mood`'s median song."""
    if mood not in MOODS:
        raise ValueError(f"unknown mood {mood!r}; expected one of {MOODS}")
    v0, e0 = _start(catalog, mood)
    t = min(max(step, 0), LIFT_STEPS) / LIFT_STEPS
    gv, ge = max(GOAL[0], v0), max(GOAL[1], e0)
    return (v0 + t * (gv - v0), e0 + t * (ge - e0))


def lift_pool(catalog: Catalog, mood: str, step: int) -> Sequence[Song]:
    """The step's POOL_SIZE songs nearest its target; at step 0 only songs of `mood` itself."""
    return _pool(catalog, mood, min(max(int(step), 0), LIFT_STEPS), POOL_SIZE)


def choose_lift_song(
    catalog: Catalog,
    mood: str,
    step: int,
    user_id: int,
    exclude: Collection[str] = frozenset(),
    avoid_artist: str | None = None,
    avoid_artists: Collection[str] = frozenset(),
) -> Song | None:
    """The next lift-mode song for this user (see the module docstring for the contract)."""
    step = min(max(int(step), 0), LIFT_STEPS)
    size = POOL_SIZE
    total = len(catalog)
    avoid = set(avoid_artists) | ({artist_key(avoid_artist)} if avoid_artist else set())
    while True:
        # all of the pool is near the target: within it, confident/popular first, jittered per user
        by_score, hashes = _ranked_pool(catalog, mood, step, size)
        window = max(10, len(by_score) // 2)
        keys = np.arange(len(by_score)) + window * _user_jitters(user_id, hashes)
        first = first_free = None  # the first fresh song, and the first by an artist not avoided
        own = own_free = None  # the same among the mood's own songs: they come first at step 0
        for i in np.argsort(keys, kind="stable").tolist():  # stops at the song it will serve
            song = by_score[i]
            if song.track_id in exclude:
                continue
            free = artist_key(song.artist) not in avoid
            if step == 0 and song.mood == mood:
                if own is None:
                    own = song
                if free:
                    own_free = song
                    break
            if first is None:
                first = song
            if free and first_free is None:
                first_free = song
                if step != 0:
                    break
        if own is not None:  # a small mood's pool is padded with other moods' songs: its own first
            first, first_free = own, own_free
        if first_free is not None or (first is not None and size >= total):
            return first_free or first
        if size >= total:
            return None
        size *= 2  # everything near the target was heard: widen the circle


def _start(catalog: Catalog, mood: str) -> tuple[float, float]:
    songs = catalog.songs(mood)
    if not songs:
        return _FALLBACK_START[mood]
    return (median(s.valence for s in songs), median(s.energy for s in songs))


@lru_cache(maxsize=256)
def _ranked_pool(catalog: Catalog, mood: str, step: int, size: int) -> tuple[tuple[Song, ...], np.ndarray]:
    """The pool, confident/popular first, with its track hashes: the same for every user."""
    by_score = tuple(sorted(_pool(catalog, mood, step, size), key=lambda s: (-song_score(s), s.track_id)))
    return by_score, np.array([_track_hash(s.track_id) for s in by_score], np.uint64)


@lru_cache(maxsize=256)
def _pool(catalog: Catalog, mood: str, step: int, size: int) -> tuple[Song, ...]:
    tv, te = target(catalog, mood, step)

    def key(s: Song) -> tuple[float, float, str]:
        return (math.hypot(s.valence - tv, s.energy - te), -s.confidence, s.track_id)

    everything = sorted((s for m in catalog.moods for s in catalog.songs(m)), key=key)
    if step == 0:
        # matched to the detected mood: its own songs first; others only once those run out
        own = [s for s in everything if s.mood == mood]
        everything = own + [s for s in everything if s.mood != mood]
    return tuple(everything[:size])
