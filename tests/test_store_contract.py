"""The history contract every store keeps, run against SQLite and a real PostgreSQL server.

Two store objects on one database stand for two bot replicas sharing it.
"""
from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from recommender.music import service as song_service
from recommender.music.catalog import Catalog
from recommender.music.service import SongService
from recommender.store.base import NewReading, UserSettings
from recommender.store.postgres import PostgresHistoryStore
from recommender.store.sqlite import SQLiteHistoryStore
from store_commits import counting_commits

FIXTURE_CATALOG = Path(__file__).parent / "fixtures" / "catalog_small.csv"
_names = itertools.count()




@pytest.fixture(params=["sqlite", "postgres"])
async def open_store(request, tmp_path):
    """Opens a store on this test's database; every call is another 'replica' of it."""
    if request.param == "sqlite":
        path = tmp_path / "h.sqlite3"

        async def opener(**kw):
            return await SQLiteHistoryStore.open(path, **kw)
    else:
        url = request.getfixturevalue("postgres").create_database(f"t{next(_names)}")

        async def opener(**kw):
            return await PostgresHistoryStore.open(url, **kw)

    opened = []

    async def open_(**kw):
        store = await opener(**kw)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.close()


async def append(store, user: int, mood: str, track_id: str, cycle: int = 0) -> None:
    async with store.user(user) as history:
        await history.append(mood, track_id, cycle)


async def test_appended_songs_are_read_back_per_user_and_mood(open_store):
    store = await open_store()
    await append(store, 1, "happy", "h1")
    await append(store, 1, "sad", "s1", cycle=2)
    await append(store, 2, "happy", "other")
    async with store.user(1) as history:
        assert [s.track_id for s in await history.served()] == ["h1", "s1"]
        assert [(s.track_id, s.cycle) for s in await history.served("sad")] == [("s1", 2)]
    assert [s.track_id for s in await store.served(2)] == ["other"]


async def test_a_failed_block_stores_nothing(open_store):
    store = await open_store()
    with pytest.raises(RuntimeError):
        async with store.user(1) as history:
            await history.append("happy", "h1", 0)
            raise RuntimeError("the reply could not be built")
    assert await store.served(1) == []


async def test_committed_songs_are_seen_by_another_replica(open_store):
    one, two = await open_store(), await open_store()
    await append(one, 5, "calm", "c1")
    assert [s.track_id for s in await two.served(5)] == ["c1"]


async def test_history_is_bounded_per_user(open_store):
    store = await open_store(max_per_user=3)
    for i in range(5):
        await append(store, 1, "happy", f"x{i}")
    await append(store, 2, "happy", "y0")
    assert [s.track_id for s in await store.served(1)] == ["x2", "x3", "x4"]
    assert len(await store.served(2)) == 1


async def test_forget_deletes_songs_and_settings_of_that_user_only(open_store):
    store = await open_store()
    await append(store, 1, "happy", "a")
    await append(store, 1, "sad", "b")
    await append(store, 2, "happy", "c")
    await store.set_lift(1, True)
    await store.set_language(1, "de")
    await store.set_language(2, "ru")
    assert await store.forget(1) == 2
    assert await store.served(1) == [] and not await store.get_lift(1)
    assert await store.get_language(1) is None and await store.get_language(2) == "ru"
    assert len(await store.served(2)) == 1
    assert await store.forget(1) == 0


async def test_lift_setting_round_trips(open_store):
    store = await open_store()
    assert not await store.get_lift(9)
    await store.set_lift(9, True)
    assert await store.get_lift(9)
    await store.set_lift(9, False)
    assert not await store.get_lift(9)


async def test_language_choice_round_trips_beside_lift(open_store):
    store = await open_store()
    assert await store.get_language(9) is None
    await store.set_language(9, "pt_BR")
    await store.set_lift(9, True)  # one setting never resets the other
    assert await store.get_language(9) == "pt_BR" and await store.get_lift(9)
    await store.set_language(9, None)  # "same as my Telegram"
    assert await store.get_language(9) is None and await store.get_lift(9)
    await store.set_lift(10, True)
    assert await store.get_language(10) is None


async def test_mature_opt_in_round_trips_beside_the_other_settings_and_is_forgotten(open_store):
    store = await open_store()
    assert not await store.get_mature(9)
    await store.set_lift(9, True)
    await store.set_language(9, "de")
    await store.set_mature(9, True)  # one setting never resets another
    assert await store.get_mature(9) and await store.get_lift(9) and await store.get_language(9) == "de"
    assert not await store.get_mature(10)
    again = await open_store()  # another replica, or a restart, reads it back
    assert await again.get_mature(9)
    await again.set_mature(9, False)
    assert not await store.get_mature(9) and await store.get_lift(9)
    await store.set_mature(9, True)
    await store.forget(9)
    assert not await store.get_mature(9)


async def test_reopening_keeps_everything_and_the_schema_version(open_store):
    store = await open_store()
    await append(store, 1, "happy", "a")
    version = await store.schema_version()
    await store.close()
    again = await open_store()
    assert await again.schema_version() == version and len(await again.served(1)) == 1


async def test_two_replicas_serving_one_user_at_once_never_repeat_a_song(open_store):
    catalog = Catalog.load(FIXTURE_CATALOG)
    one, two = SongService(catalog, await open_store()), SongService(catalog, await open_store())
    n = len(catalog.songs("happy"))
    picks = await asyncio.gather(*(svc.next(42, "happy") for svc in [one, two] * (n // 2)))
    assert len({p.song.track_id for p in picks}) == n
    assert len(await one.store.served(42)) == n


async def test_an_update_is_claimed_once_across_replicas(open_store):
    one, two = await open_store(), await open_store()
    results = await asyncio.gather(*(store.claim_update(1001) for store in [one, two] * 3))
    assert sorted(results) == [False] * 5 + [True]
    assert await two.claim_update(1002) and not await one.claim_update(1002)


async def test_each_replica_keeps_its_own_heartbeat(open_store):
    store = await open_store()
    if not isinstance(store, PostgresHistoryStore):
        pytest.skip("one SQLite file serves one process: its heartbeat needs no replica name")
    await store.heartbeat(100.0, "host-a:8080")
    await store.heartbeat(200.0, "host-b:8080")
    assert await store.read_heartbeat("host-a:8080") == 100.0
    assert await store.read_heartbeat("host-b:8080") == 200.0
    await store.stopped("host-a:8080")  # a clean stop removes that replica's beat only
    assert await store.read_heartbeat("host-a:8080") is None
    assert await store.read_heartbeat("host-b:8080") == 200.0


SCORES = (0.05, 0.01, 0.04, 0.10, 0.60, 0.05, 0.15)


async def test_readings_and_choices_round_trip_per_user(open_store):
    store = await open_store()
    first = await store.add_reading(1, "selfie", "sad", SCORES)
    typed = await store.add_reading(1, "text", "calm")
    other = await store.add_reading(2, "selfie", "happy", SCORES)
    reading = await store.reading(1, first)
    assert reading is not None and (reading.source, reading.mood) == ("selfie", "sad")
    assert reading.scores == pytest.approx(SCORES, abs=1e-4)
    assert (await store.reading(1, typed)).scores is None
    assert await store.reading(1, other) is None  # someone else's reading is not found
    assert not await store.add_choice(1, other, "calm")  # nor can it be corrected
    assert await store.add_choice(1, first, "happy")
    assert not await store.add_choice(1, 10**9, "happy")
    assert await store.chosen_counts(1) == {"happy": 1}
    marks = await store.mood_marks(1, since=0)
    assert [(m.mood, m.chosen) for m in marks] == [("happy", True), ("calm", True)]
    stats = await (await open_store()).field_stats()  # another replica sees them
    assert stats.selfies == 2 and stats.choices == {("sad", "happy"): 1}


async def test_forget_deletes_readings_and_choices_and_resets_adaptation(open_store):
    store = await open_store()
    mine = await store.add_reading(1, "selfie", "sad", SCORES)
    await store.add_choice(1, mine, "happy")
    theirs = await store.add_reading(2, "selfie", "sad", SCORES)
    await store.add_choice(2, theirs, "calm")
    await store.forget(1)
    assert await store.reading(1, mine) is None
    assert await store.chosen_counts(1) == {} and await store.mood_marks(1, since=0) == []
    assert await store.chosen_counts(2) == {"calm": 1}
    assert (await store.field_stats()).choices == {("sad", "calm"): 1}


async def test_recent_songs_are_newest_first_with_mood_and_time(open_store):
    store = await open_store()
    for i in range(12):
        await append(store, 1, "happy" if i % 2 else "sad", f"t{i}")
    recent = await store.recent_songs(1, 10)
    assert [s.track_id for s in recent] == [f"t{i}" for i in range(11, 1, -1)]
    assert recent[0].mood == "happy" and recent[0].at >= recent[-1].at > 0


async def test_a_forget_on_one_replica_wins_over_a_selfie_in_flight_on_another(open_store):
    from bot.logs import logged_update

    handling, forgetting = await open_store(), await open_store()
    earlier = await handling.add_reading(1, "selfie", "sad", SCORES)
    with logged_update(object(), b"key"):  # replica A takes the user's update, as the bot wraps each one
        assert await forgetting.forget(1) == 0  # replica B: "Done — I forgot"
        # A's analysis finishes after the forget and writes what it found.
        assert await handling.add_reading(1, "selfie", "happy", SCORES) == 0
        await append(handling, 1, "happy", "song-after-forget")
        assert not await handling.add_choice(1, earlier, "calm")
        await handling.set_lift(1, True)
        await handling.set_language(1, "de")
        async with handling.user(1) as history:  # a selfie answered with a song: neither is kept
            assert await history.add_reading("selfie", "happy", SCORES) == 0
            await history.append("happy", "song-with-its-reading", 0)
    for replica in (handling, forgetting):
        assert await replica.served(1) == [] and await replica.mood_marks(1, since=0) == []
        assert not await replica.get_lift(1) and await replica.get_language(1) is None
    with logged_update(object(), b"key"):  # the user's next update, after the forget, is stored again
        assert await handling.add_reading(1, "selfie", "calm", SCORES) > 0
        await append(handling, 1, "calm", "song-later")
    assert [s.track_id for s in await forgetting.served(1)] == ["song-later"]


async def test_a_reading_and_its_song_are_one_commit_seen_by_another_replica(open_store):
    store = await open_store()
    async with counting_commits(store) as commits:
        async with store.user(1) as history:
            reading = await history.add_reading("selfie", "sad", SCORES)
            assert await history.served() == []
            await history.append("sad", "s1", 0)
    assert commits.count == 1
    other = await open_store()  # another replica, or the bot restarted after a crash
    assert (await other.reading(1, reading)).mood == "sad"
    assert [s.track_id for s in await other.served(1)] == ["s1"]


async def test_a_block_failing_midway_stores_neither_the_reading_nor_the_song(open_store):
    store = await open_store()
    with pytest.raises(RuntimeError):
        async with store.user(1) as history:
            reading = await history.add_reading("selfie", "sad", SCORES)
            await history.append("sad", "s1", 0)
            raise RuntimeError("the reply could not be built")
    assert await store.reading(1, reading) is None and await store.mood_marks(1, since=0) == []
    assert await store.served(1) == []


async def test_a_photo_is_one_settings_read_and_one_commit_for_its_reading_and_song(open_store):
    store = await open_store()
    service = SongService(Catalog.load(FIXTURE_CATALOG), store)
    await store.set_language(3, "de")
    async with counting_commits(store) as commits:
        settings = await store.settings(3, with_choices=True)  # what the bot reads when a photo arrives
        pick = await service.next(3, "sad", settings=settings, reading=NewReading("selfie", "sad", SCORES))
    assert commits.count == 1 and settings.language == "de"
    reading = await store.reading(3, pick.reading)
    assert reading is not None and reading.scores == pytest.approx(SCORES, abs=1e-4)
    assert [s.track_id for s in await store.served(3)] == [pick.song.track_id]


async def test_a_photo_failing_midway_stores_neither_its_reading_nor_a_song(open_store, monkeypatch):
    store = await open_store()
    service = SongService(Catalog.load(FIXTURE_CATALOG), store)

    def broken(*_args, **_kwargs):
        raise RuntimeError("the choice failed after the reading was written")

    monkeypatch.setattr(song_service, "pick_next", broken)
    with pytest.raises(RuntimeError):
        await service.next(3, "sad", reading=NewReading("selfie", "sad", SCORES))
    assert await store.mood_marks(3, since=0) == [] and await store.served(3) == []
    monkeypatch.undo()
    pick = await service.next(3, "sad", reading=NewReading("selfie", "sad", SCORES))  # the next photo is kept
    assert [m.mood for m in await store.mood_marks(3, since=0)] == ["sad"] and pick.reading


async def test_settings_are_one_read_with_the_adaptation_counts(open_store):
    store = await open_store()
    assert await store.settings(9, with_choices=True) == UserSettings()
    await store.set_language(9, "de")
    await store.set_lift(9, True)
    await store.set_mature(9, True)
    await store.add_choice(9, await store.add_reading(9, "selfie", "sad", SCORES), "calm")
    await store.add_choice(9, await store.add_reading(9, "mood", "happy"), "energetic")  # not a selfie
    await store.add_choice(10, await store.add_reading(10, "selfie", "sad", SCORES), "happy")
    assert await store.settings(9, with_choices=True) == UserSettings("de", True, True, {"calm": 1})
    assert await store.settings(9) == UserSettings("de", True, True)
    assert await store.settings(10, with_choices=True) == UserSettings(chosen_counts={"happy": 1})
    await store.set_lift(9, False)
    assert await (await open_store()).settings(9) == UserSettings("de", False, True)  # another replica
    await store.forget(9)
    assert await store.settings(9, with_choices=True) == UserSettings()


async def test_the_bound_holds_when_a_block_reads_its_songs_before_appending(open_store):
    store = await open_store(max_per_user=3)
    for i in range(5):
        async with store.user(1) as history:
            assert len(await history.served()) == min(i, 3)
            await history.append("happy", f"x{i}", 0)
    assert [s.track_id for s in await store.served(1)] == ["x2", "x3", "x4"]
    async with store.user(2) as history:  # several in one block: what it reads follows its writes
        assert await history.served() == []
        for track in ("a", "b", "c", "d"):
            await history.append("calm" if track != "c" else "sad", track, 0)
        assert [s.track_id for s in await history.served()] == ["b", "c", "d"]
        assert [s.track_id for s in await history.served("calm")] == ["b", "d"]
    assert [s.track_id for s in await store.served(2)] == ["b", "c", "d"]


async def test_choices_are_bounded_per_user_however_often_a_press_is_replayed(open_store):
    store = await open_store(max_per_user=5)
    reading = await store.add_reading(1, "selfie", "sad", SCORES)
    other = await store.add_reading(2, "selfie", "sad", SCORES)
    await store.add_choice(2, other, "calm")
    assert await store.add_choice(1, reading, "happy")
    for _ in range(20):  # a replayed press counts once
        assert not await store.add_choice(1, reading, "happy")
    for _ in range(20):  # and many readings keep only the newest choices
        assert await store.add_choice(1, await store.add_reading(1, "selfie", "sad", SCORES), "happy")
    assert await store.chosen_counts(1) == {"happy": 5}
    assert await store.chosen_counts(2) == {"calm": 1}


async def test_a_reading_is_chosen_once_across_replicas(open_store):
    one, two = await open_store(), await open_store()
    reading = await one.add_reading(1, "selfie", "sad", SCORES)
    results = await asyncio.gather(one.add_choice(1, reading, "happy"), two.add_choice(1, reading, "calm"))
    assert sorted(results) == [False, True]
    assert sum((await one.chosen_counts(1)).values()) == 1


async def test_forgotten_scores_leave_no_trace_in_the_sqlite_files(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = await SQLiteHistoryStore.open(path)
    try:
        marker = (0.1357, 0.2468, 0.0123, 0.0456, 0.0789, 0.0987, 0.3820)  # scores no other row has
        await store.add_reading(1, "selfie", "sad", marker)
        await append(store, 1, "sad", "FORGET-ME-TRACK")
        kept = await store.add_reading(2, "selfie", "calm", SCORES)
        await store.forget(1)
        files = [p for p in tmp_path.iterdir() if p.name.startswith("h.sqlite3")]
        raw = b"".join(p.read_bytes() for p in files)
        assert b"0.1357,0.2468" not in raw and b"FORGET-ME-TRACK" not in raw
        assert (await store.reading(2, kept)) is not None  # the other user's reading stays
    finally:
        await store.close()
