"""The 'next unseen song' rule, on plain values."""
from __future__ import annotations

from recommender.music.selection import pick_lift, pick_next, remaining
from recommender.types import Served, Song


def songs(n: int, mood: str = "happy") -> list[Song]:
    return [Song(track_id=f"t{i}", name=f"Song {i}", artist=f"Artist {i}", mood=mood) for i in range(n)]


def serve_all(order: list[Song], history: list[Served], times: int) -> list[str]:
    out = []
    for _ in range(times):
        pick = pick_next(order, history)
        assert pick is not None
        history.append(Served(pick.song.track_id, pick.cycle))
        out.append(pick.song.track_id)
    return out


def test_first_pick_follows_catalog_order():
    pick = pick_next(songs(3), [])
    assert pick is not None and pick.song.track_id == "t0" and pick.cycle == 0 and not pick.restarted


def test_no_repeat_until_exhausted_then_restart_oldest_first():
    order = songs(4)
    history: list[Served] = []
    first_cycle = serve_all(order, history, 4)
    assert sorted(first_cycle) == ["t0", "t1", "t2", "t3"]
    assert remaining(order, history) == 0
    pick = pick_next(order, history)
    assert pick is not None and pick.restarted and pick.cycle == 1
    # The new cycle replays the songs oldest-served first, and announces the restart once.
    history.append(Served(pick.song.track_id, pick.cycle))
    rest = [pick_next(order, history) for _ in range(1)]
    assert pick.song.track_id == first_cycle[0]
    assert rest[0] is not None and not rest[0].restarted
    second_cycle = [pick.song.track_id] + serve_all(order, history, 3)
    assert second_cycle == first_cycle


def test_oldest_first_uses_the_last_time_a_song_was_served():
    order = songs(3)
    # t1 served long ago, t0 and t2 more recently: in the new cycle t1 comes first.
    history = [Served("t1", 0), Served("t0", 0), Served("t2", 0)]
    pick = pick_next(order, history)
    assert pick is not None and pick.song.track_id == "t1" and pick.restarted


def test_unknown_or_other_mood_history_is_ignored():
    order = songs(2)
    history = [Served("gone", 0), Served("other-mood", 3), Served("t0", 0)]
    pick = pick_next(order, history)
    assert pick is not None and pick.song.track_id == "t1" and pick.cycle == 0


def test_songs_added_to_catalog_are_served_before_a_restart():
    history: list[Served] = []
    serve_all(songs(2), history, 2)
    grown = songs(3)
    pick = pick_next(grown, history)
    assert pick is not None and pick.song.track_id == "t2" and not pick.restarted


def test_empty_mood_gives_none():
    assert pick_next([], [Served("t0", 0)]) is None


def lift_catalog():
    from recommender.music.catalog import Catalog

    # Enough songs per mood to fill a lift pool (recommender.music.lift.POOL_SIZE) from one mood.
    points = {"sad": (0.2, 0.3), "calm": (0.1, 0.15), "happy": (0.75, 0.7), "energetic": (0.5, 0.9)}
    return Catalog.from_songs(
        Song(track_id=f"{mood}{i}", name=f"{mood} {i}", artist=f"{mood} artist {i % 7}", mood=mood,
             valence=points[mood][0] + (i % 10) * 0.005, energy=points[mood][1] + (i % 10) * 0.005)
        for mood in points for i in range(160))


def test_lift_starts_in_the_mood_then_rises_without_repeats():
    catalog = lift_catalog()
    history: list[Served] = []
    picks = []
    for step in range(6):
        pick = pick_lift(catalog, "sad", step, user_id=9, served=history)
        assert pick is not None and not pick.restarted
        history.append(Served(pick.song.track_id, pick.cycle))
        picks.append(pick.song)
    assert picks[0].mood == "sad"
    assert picks[-1].valence + picks[-1].energy > picks[0].valence + picks[0].energy + 0.5
    assert len({s.track_id for s in picks}) == len(picks)


def test_lift_starts_over_when_everything_was_heard():
    catalog = lift_catalog()
    history = [Served(s.track_id, 0) for m in catalog.moods for s in catalog.songs(m)]
    pick = pick_lift(catalog, "happy", 2, user_id=9, served=history)
    assert pick is not None and pick.restarted and pick.cycle == 1
