"""Issue 28 (song choice): a user's order is computed only as far as it is read, and a choice stops at
the first song due; both give exactly the songs the plain, whole-list code gave. The references
below are that code as it was before (whole order built, lists filtered), kept to compare against."""
from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Collection, Sequence
from datetime import date

import numpy as np
import pytest

from recommender.music import catalog as catalog_module
from recommender.music.catalog import (
    _HEAD, _JITTER_FRACTION, _JITTER_MAX, _JITTER_MIN, ARTIST_GAP, Catalog, _jittered_positions,
    _order_for_user, _user_jitters, artist_key, song_score, user_jitter,
)
from recommender.music.lazy import LazySequence
from recommender.music.lift import LIFT_STEPS, POOL_SIZE, _pool, choose_lift_song
from recommender.music.rules import Audience, banned_ids
from recommender.music.selection import Choice, pick_lift, pick_next, remaining
from recommender.types import MOODS, Served, Song

# --- the references: the code as it was before the lazy order ----------------------------------


def _spread_reference(artists: list[object], gap: int) -> list[int]:
    n = len(artists)
    out: list[int] = []
    recent: deque[object] = deque()
    blocked: Counter[object] = Counter()
    last_used: dict[object, int] = {}
    start = 0
    taken = [False] * n
    while start < n:
        if taken[start]:
            start += 1
            continue
        pick = start
        if blocked[artists[start]]:
            waiting = [i for i in range(start, n) if not taken[i]]
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


def _order_reference(catalog: Catalog, mood: str, user_id: int, jitter_of=None) -> list[Song]:
    """The whole order at once, with the per-song (not vectorised) jitter."""
    songs = catalog.songs(mood)
    n = len(songs)
    if n == 0:
        return []
    window = min(_JITTER_MAX, max(_JITTER_MIN, int(n * _JITTER_FRACTION)))
    jitter_of = jitter_of or (lambda s: user_jitter(user_id, s.track_id))
    jitter = np.array([jitter_of(s) for s in songs], np.float64)
    keys = np.arange(n) + window * jitter
    head = min(_HEAD, n)
    keys[:head] = head * jitter[:head]
    keyed = np.argsort(keys, kind="stable").tolist()
    return [songs[keyed[i]] for i in _spread_reference([artist_key(songs[k].artist) for k in keyed], ARTIST_GAP)]


def _pick_reference(order: Sequence[Song], served: Sequence[Served],
                    avoid_artists: Collection[str] = frozenset()) -> Choice | None:
    if not order:
        return None
    ids = {song.track_id for song in order}
    relevant = [s for s in served if s.track_id in ids]
    cycle = max((s.cycle for s in relevant), default=0)
    in_cycle = {s.track_id for s in relevant if s.cycle == cycle}
    restarted = len(in_cycle) >= len(ids)
    if restarted:
        cycle += 1
        in_cycle = set()
    last_seen = {s.track_id: i for i, s in enumerate(relevant)}
    fresh = [song for song in order if song.track_id not in last_seen]
    if not fresh:
        fresh = [song for _, _, song in sorted(
            (last_seen.get(song.track_id, -1), pos, song)
            for pos, song in enumerate(order) if song.track_id not in in_cycle)]
    song = next((s for s in fresh if artist_key(s.artist) not in avoid_artists), fresh[0])
    return Choice(song=song, cycle=cycle, restarted=restarted)


def _remaining_reference(order: Sequence[Song], served: Sequence[Served]) -> int:
    ids = {song.track_id for song in order}
    relevant = [s for s in served if s.track_id in ids]
    cycle = max((s.cycle for s in relevant), default=0)
    return len(ids - {s.track_id for s in relevant if s.cycle == cycle})


def _service_reference(whole_order: list[Song], served: list[Served],
                       avoid: Collection[str], banned: Collection[str]) -> Choice | None:
    """What SongService.next chose: the user's whole order, banned songs filtered out, then a pick."""
    return _pick_reference([s for s in whole_order if s.track_id not in banned], served, avoid)


# --- catalogs to try them on ---------------------------------------------------------------------

def _random_catalog(rnd: random.Random) -> Catalog:
    """Moods from 1 song to a few hundred, few or many artists (so the spacing falls back), flags."""
    songs = []
    for mood in MOODS:
        n = rnd.choice((0, 1, 2, 7, 40, 99, 100, 101, 150, 260, 480))
        artists = rnd.choice((1, 2, 4, 12, 60, 1000))
        for i in range(n):
            flags = rnd.choice((frozenset(), frozenset(), frozenset({"explicit"}), frozenset({"christmas"})))
            songs.append(Song(track_id=f"{mood}-{rnd.getrandbits(40):x}-{i}", name=f"S{i}",
                              artist=f"{'  ' * (i % 2)}Artist {rnd.randrange(artists)}{'  ' * (i % 3 == 0)}",
                              mood=mood, confidence=rnd.random(), popularity=rnd.randrange(101),
                              valence=round(rnd.random(), 2), energy=round(rnd.random(), 2),
                              genre=rnd.choice(("pop", "rock", "edm", "")), flags=flags))
    return Catalog.from_songs(songs)


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return Catalog.load()


def _users(rnd: random.Random, k: int) -> list[int]:
    return [rnd.choice((rnd.randrange(10**10), -rnd.randrange(10**6), rnd.randrange(2**64))) for _ in range(k)]


# --- the order ------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_a_lazy_user_order_is_the_whole_order_as_before(seed: int) -> None:
    rnd = random.Random(seed)
    catalog = _random_catalog(rnd)
    for mood in catalog.moods:
        for user in _users(rnd, 4):
            want = _order_reference(catalog, mood, user)
            order = _order_for_user(catalog, mood, user)
            assert len(order) == len(want)
            k = rnd.randrange(len(want))
            assert order[k] == want[k]  # read at one place first: what comes before it is computed too
            assert list(order) == want
            assert order.track_ids == {s.track_id for s in want}


def test_the_shipped_orders_are_the_same_as_before(shipped: Catalog) -> None:
    rnd = random.Random(28)
    for mood in shipped.moods:
        for user in _users(rnd, 3):
            want = _order_reference(shipped, mood, user)
            order = _order_for_user(shipped, mood, user)
            assert order[:5] == tuple(want[:5]) and order[-1] == want[-1]
            assert list(order) == want


@pytest.mark.parametrize("levels", [2, 5, 50])
def test_jittered_blocks_break_ties_as_the_stable_sort_did(monkeypatch, levels: int) -> None:
    """Jitters from a handful of values make equal keys everywhere: the blocks must still order
    them by position, as the one stable argsort did."""
    rnd = random.Random(levels)
    catalog = _random_catalog(rnd)
    coarse = {s.track_id: rnd.randrange(levels) / levels for m in catalog.moods for s in catalog.songs(m)}
    hash_to_id = {}
    for mood in catalog.moods:
        for s, h in zip(catalog.songs(mood), catalog._hashes[mood].tolist()):
            hash_to_id[h] = s.track_id
    monkeypatch.setattr(catalog_module, "_user_jitters",
                        lambda user, hashes: np.array([coarse[hash_to_id[h]] for h in hashes.tolist()]))
    for mood in catalog.moods:
        want = _order_reference(catalog, mood, 1, jitter_of=lambda s: coarse[s.track_id])
        assert list(_order_for_user(catalog, mood, 10**12 + levels)) == want


def test_jittered_blocks_join_into_one_permutation(shipped: Catalog) -> None:
    for mood in shipped.moods:
        hashes = shipped._hashes[mood]
        blocks = list(_jittered_positions(hashes, 5))
        n = len(hashes)
        window = min(_JITTER_MAX, max(_JITTER_MIN, int(n * _JITTER_FRACTION)))
        jitter = _user_jitters(5, hashes)
        keys = np.arange(n) + window * jitter
        keys[:_HEAD] = _HEAD * jitter[:_HEAD]
        assert np.concatenate(blocks).tolist() == np.argsort(keys, kind="stable").tolist()
        assert len(blocks) > 3  # it does come in pieces


def test_a_new_users_first_song_reads_a_small_part_of_the_order(shipped: Catalog) -> None:
    mood = max(shipped.moods, key=lambda m: len(shipped.songs(m)))
    order = _order_for_user(shipped, mood, 31_337_001)
    pick = pick_next(order, [])
    assert pick is not None and pick.song == _order_reference(shipped, mood, 31_337_001)[0]
    assert order.materialised < len(order) // 20


@pytest.mark.parametrize("heard", [0, 50])
def test_a_choice_costs_well_under_half_a_millisecond(shipped: Catalog, heard: int) -> None:
    """A photo ordered a whole mood and filtered it (~2 ms of the event loop for a new user, ~0.7 ms
    for one whose order was cached); now the order is read as far as the first song due (~0.05 ms)."""
    banned = banned_ids(shipped, "happy", Audience.on(date(2024, 6, 1)))
    spent = []
    for user in range(32_000_001, 32_000_021):  # fresh users: the order cache never has them
        served: list[Served] = []
        for _ in range(heard):
            pick = pick_next(shipped.order_for_user("happy", user), served, frozenset(), banned)
            served.append(Served(pick.song.track_id, pick.cycle))
        started = time.process_time()
        pick_next(shipped.order_for_user("happy", user), served, frozenset(), banned)
        spent.append(time.process_time() - started)
    assert min(spent) < 0.0005, f"{min(spent) * 1e6:.0f} µs of CPU for a song after {heard} heard"


def test_a_lazy_order_read_from_many_threads_is_whole_and_the_same(shipped: Catalog) -> None:
    order = _order_for_user(shipped, "energetic", 777_000_123)
    want = _order_reference(shipped, "energetic", 777_000_123)
    seen: list[list[Song]] = []
    threads = [threading.Thread(target=lambda: seen.append(list(order))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 6 and all(s == want for s in seen)


def test_lazy_sequence_indexes_as_a_tuple() -> None:
    items = tuple(range(100))
    for read in (lambda s: s[5], lambda s: s[-1], lambda s: s[-100], lambda s: s[3:40:7],
                 lambda s: s[::-1], lambda s: s[90:200], lambda s: s[50:10], lambda s: list(s),
                 lambda s: 42 in s, lambda s: s.index(63), lambda s: len(s)):
        assert read(LazySequence(iter(items), 100)) == read(items)
    for bad in (100, -101):
        with pytest.raises(IndexError):
            LazySequence(iter(items), 100)[bad]
    with pytest.raises(RuntimeError):
        LazySequence(iter(range(3)), 5)[4]


# --- the choice -----------------------------------------------------------------------------------

def _random_history(rnd: random.Random, catalog: Catalog, mood: str, user: int) -> list[Served]:
    """Real serving (cycles and restarts) mixed with noise: other moods, removed songs, odd cycles."""
    served: list[Served] = []
    order = _order_reference(catalog, mood, user)
    ids = [s.track_id for s in order]
    for _ in range(rnd.choice((0, 1, 3, 50, len(ids) - 1, len(ids), len(ids) + 2, 2 * len(ids) + 1))):
        pick = _pick_reference(order, served)
        served.append(Served(pick.song.track_id, pick.cycle))
        if rnd.random() < 0.1:
            other = rnd.choice([m for m in catalog.moods])
            served.append(Served(rnd.choice(catalog.songs(other)).track_id, rnd.randrange(3)))
        if rnd.random() < 0.05:
            served.append(Served("gone-from-the-catalog", rnd.randrange(3)))
    if rnd.random() < 0.3:
        served += [Served(rnd.choice(ids), rnd.randrange(4)) for _ in range(rnd.randrange(1, 12))]
    return served


def _random_banned(rnd: random.Random, catalog: Catalog, mood: str) -> frozenset[str]:
    ids = [s.track_id for s in catalog.songs(mood)]
    kind = rnd.randrange(5)
    if kind == 0:
        return frozenset()
    if kind == 1:  # the rules' own: flags by month and opt-in
        return banned_ids(catalog, mood, Audience(month=rnd.randrange(1, 13), mature_ok=rnd.random() < 0.5))
    if kind == 2:  # all of it
        return frozenset(ids)
    if kind == 3:  # all but one
        return frozenset(ids[1:])
    return frozenset(rnd.sample(ids, rnd.randrange(len(ids) + 1)) + ["other-mood-or-gone"])


@pytest.mark.parametrize("seed", range(30))
def test_the_choice_is_the_same_as_before(seed: int) -> None:
    rnd = random.Random(1000 + seed)
    catalog = _random_catalog(rnd)
    for _ in range(12):
        mood = rnd.choice(catalog.moods)
        user = _users(rnd, 1)[0]
        served = _random_history(rnd, catalog, mood, user)
        banned = _random_banned(rnd, catalog, mood)
        artists = sorted({artist_key(s.artist) for s in catalog.songs(mood)})
        avoid = frozenset(rnd.sample(artists, min(len(artists), rnd.choice((0, 1, 3, 9)))))
        want = _service_reference(_order_reference(catalog, mood, user), served, avoid, banned)
        order = catalog.order_for_user(mood, user)
        assert pick_next(order, served, avoid, banned) == want
        assert remaining(order, served) == _remaining_reference(list(order), served)
        assert pick_next(order, served, avoid) == _pick_reference(list(order), served, avoid)


@pytest.mark.parametrize("seed", range(8))
def test_serving_a_mood_through_several_cycles_is_the_same_as_before(seed: int) -> None:
    """Song after song, past exhausted moods and restarts, the banned list changing on the way
    (a month turning, an opt-in), the last songs' artists passed over: the same songs in the
    same order, cycles and restarts."""
    rnd = random.Random(2000 + seed)
    catalog = _random_catalog(rnd)
    mood = max(catalog.moods, key=lambda m: len(catalog.songs(m)) if len(catalog.songs(m)) < 200 else 0)
    user = _users(rnd, 1)[0]
    whole = _order_reference(catalog, mood, user)
    served: list[Served] = []
    audience = Audience(month=12, mature_ok=False)
    for step in range(3 * len(catalog.songs(mood)) + 5):
        if rnd.random() < 0.03:
            audience = Audience(month=rnd.choice((6, 12)), mature_ok=rnd.random() < 0.5)
        banned = banned_ids(catalog, mood, audience)
        avoid = frozenset(artist_key(catalog.get(s.track_id).artist) for s in served[-(ARTIST_GAP - 1):])
        want = _service_reference(whole, served, avoid, banned)
        got = pick_next(catalog.order_for_user(mood, user), served, avoid, banned)
        assert got == want, f"step {step}"
        if got is None:
            break
        served.append(Served(got.song.track_id, got.cycle))


def test_the_shipped_catalog_choices_are_the_same_as_before(shipped: Catalog) -> None:
    rnd = random.Random(7)
    for mood in shipped.moods:
        for user in _users(rnd, 3):
            banned = banned_ids(shipped, mood, Audience(month=rnd.randrange(1, 13)))
            whole = _order_reference(shipped, mood, user)
            served: list[Served] = []
            for _ in range(60):
                avoid = frozenset(artist_key(shipped.get(s.track_id).artist) for s in served[-9:])
                got = pick_next(shipped.order_for_user(mood, user), served, avoid, banned)
                assert got == _service_reference(whole, served, avoid, banned)
                served.append(Served(got.song.track_id, got.cycle))


def test_an_empty_or_all_banned_mood_gives_none() -> None:
    catalog = Catalog.from_songs([Song("a", "A", "X", "sad"), Song("b", "B", "Y", "sad")])
    order = catalog.order_for_user("sad", 1)
    assert pick_next(order, [], banned=frozenset({"a", "b"})) is None
    assert pick_next(catalog.order_for_user("calm", 1), []) is None
    assert pick_next(order, [Served("a", 0)], banned={"b"}) == Choice(catalog.get("a"), 1, True)


# --- lift mode ------------------------------------------------------------------------------------

def _lift_reference(catalog: Catalog, mood: str, step: int, user_id: int, exclude: Collection[str] = frozenset(),
                    avoid_artist: str | None = None, avoid_artists: Collection[str] = frozenset()) -> Song | None:
    """choose_lift_song as it was: the pool sorted and jittered song by song, whole lists filtered."""
    step = min(max(int(step), 0), LIFT_STEPS)
    size = POOL_SIZE
    total = len(catalog)
    avoid = set(avoid_artists) | ({artist_key(avoid_artist)} if avoid_artist else set())
    while True:
        pool = _pool(catalog, mood, step, size)
        by_score = sorted(pool, key=lambda s: (-song_score(s), s.track_id))
        window = max(10, len(pool) // 2)
        ordered = sorted(range(len(by_score)),
                         key=lambda i: (i + window * user_jitter(user_id, by_score[i].track_id), i))
        fresh = [by_score[i] for i in ordered if by_score[i].track_id not in exclude]
        if step == 0:
            fresh = [s for s in fresh if s.mood == mood] or fresh
        other = [s for s in fresh if artist_key(s.artist) not in avoid]
        if other or (fresh and size >= total):
            return (other or fresh)[0]
        if size >= total:
            return None
        size *= 2


@pytest.mark.parametrize("seed", range(10))
def test_a_lift_choice_is_the_same_as_before(seed: int) -> None:
    rnd = random.Random(3000 + seed)
    catalog = _random_catalog(rnd)
    everything = [s for m in catalog.moods for s in catalog.songs(m)]
    artists = sorted({artist_key(s.artist) for s in everything})
    for _ in range(40):
        mood, step, user = rnd.choice(MOODS), rnd.randrange(-1, LIFT_STEPS + 3), _users(rnd, 1)[0]
        heard = rnd.choice((0, 0.2, 0.6, 0.95, 1.0))  # up to everything: the pool widens, then None
        exclude = frozenset(s.track_id for s in everything if rnd.random() < heard)
        avoid = frozenset(rnd.sample(artists, min(len(artists), rnd.choice((0, 1, 9)))))
        one = rnd.choice([None, rnd.choice(everything).artist.upper()])
        assert choose_lift_song(catalog, mood, step, user, exclude, one, avoid) == \
            _lift_reference(catalog, mood, step, user, exclude, one, avoid)


def test_lift_sessions_on_the_shipped_catalog_are_the_same_as_before(shipped: Catalog) -> None:
    rnd = random.Random(11)
    for mood in MOODS:
        for user in _users(rnd, 2):
            served: list[Served] = []
            for step in range(12):
                got = pick_lift(shipped, mood, step, user, served)
                heard = {s.track_id for s in served}
                avoid = frozenset(artist_key(shipped.get(s.track_id).artist) for s in served[-9:])
                assert got.song == _lift_reference(shipped, mood, step, user, heard, avoid_artists=avoid)
                served.append(Served(got.song.track_id, got.cycle))
