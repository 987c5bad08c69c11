"""Lift mode: start at the detected mood, then each "More" moves toward brighter, livelier songs."""
from __future__ import annotations

import statistics as st

import pytest

from recommender.music.catalog import Catalog
from recommender.music.lift import GOAL, LIFT_STEPS, choose_lift_song, lift_pool, target
from recommender.types import MOODS, Song


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def _means(songs):
    return st.mean(s.valence for s in songs), st.mean(s.energy for s in songs)


@pytest.mark.parametrize("mood", MOODS)
def test_pools_start_in_the_mood_and_rise_step_by_step(catalog, mood):
    pools = [lift_pool(catalog, mood, step) for step in range(LIFT_STEPS + 1)]
    assert all(s.mood == mood for s in pools[0])
    means = [_means(p) for p in pools]
    for (v0, e0), (v1, e1) in zip(means, means[1:]):
        assert v1 >= v0 - 0.01 and e1 >= e0 - 0.02
    v_end, e_end = means[-1]
    assert v_end >= GOAL[0] - 0.05 and e_end >= min(GOAL[1], means[0][1]) - 0.05
    # steps past the last one stay at the goal
    assert lift_pool(catalog, mood, LIFT_STEPS + 7) == pools[-1]
    assert lift_pool(catalog, mood, -3) == pools[0]


def test_sad_listener_is_met_low_and_lifted_high(catalog):
    v0, e0 = _means(lift_pool(catalog, "sad", 0))
    v5, e5 = _means(lift_pool(catalog, "sad", LIFT_STEPS))
    assert v0 < 0.4 and v5 > 0.8 and e5 > e0 + 0.2
    assert target(catalog, "sad", 0)[0] < target(catalog, "sad", 1)[0] < target(catalog, "sad", 2)[0]


def test_energy_of_energetic_is_never_lowered(catalog):
    starts = target(catalog, "energetic", 0)
    for step in range(1, LIFT_STEPS + 1):
        assert target(catalog, "energetic", step)[1] >= starts[1]
    with pytest.raises(ValueError):
        target(catalog, "grumpy", 0)


def test_a_session_of_more_presses_serves_fresh_rising_songs(catalog):
    served: list[Song] = []
    for step in range(LIFT_STEPS + 3):
        song = choose_lift_song(catalog, "calm", step, user_id=99, exclude={s.track_id for s in served},
                                avoid_artist=served[-1].artist if served else None)
        assert song is not None
        served.append(song)
    assert len({s.track_id for s in served}) == len(served)
    assert served[0].mood == "calm"
    assert served[-1].valence > served[0].valence + 0.4 and served[-1].energy > served[0].energy + 0.4
    assert all(a.artist != b.artist for a, b in zip(served, served[1:]))


def test_choice_is_stable_per_user_and_differs_between_users(catalog):
    a = [choose_lift_song(catalog, "sad", k, user_id=1).track_id for k in range(4)]
    assert a == [choose_lift_song(Catalog.load(), "sad", k, user_id=1).track_id for k in range(4)]
    others = {tuple(choose_lift_song(catalog, "sad", k, user_id=u).track_id for k in range(4))
              for u in range(2, 8)}
    assert len(others | {tuple(a)}) > 3


def test_exhausting_the_neighbourhood_widens_then_ends_with_none():
    songs = [Song(f"t{i}", f"S{i}", f"A{i}", "sad", 0.9, 50, valence=i / 20, energy=i / 20)
             for i in range(20)]
    cat = Catalog.from_songs(songs)
    seen: set[str] = set()
    while (song := choose_lift_song(cat, "sad", 2, user_id=5, exclude=seen)) is not None:
        assert song.track_id not in seen
        seen.add(song.track_id)
    assert seen == {s.track_id for s in songs}


def test_first_lift_song_matches_the_mood_even_in_a_small_catalog():
    # 12 sad songs against 200 bright happy ones: step 0's pool is padded with happy songs
    sad = [Song(f"s{i}", f"Sad {i}", f"SA{i}", "sad", 0.6, 10, valence=0.2, energy=0.3) for i in range(12)]
    happy = [Song(f"h{i}", f"Happy {i}", f"HA{i}", "happy", 0.99, 90, valence=0.8, energy=0.8) for i in range(200)]
    cat = Catalog.from_songs(sad + happy)
    for user in range(20):
        assert choose_lift_song(cat, "sad", 0, user_id=user).mood == "sad"
    assert choose_lift_song(cat, "sad", 0, user_id=1, exclude={s.track_id for s in sad}).mood == "happy"
