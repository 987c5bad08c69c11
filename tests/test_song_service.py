"""The song service without Telegram: what a user hears next, as the bot and the CLI both ask for it."""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from recommender.music.catalog import Catalog
from recommender.music.service import SongService
from recommender.store.base import NewReading, UserSettings
from recommender.store.sqlite import SQLiteHistoryStore
from store_commits import counting_commits

FIXTURE_CATALOG = Path(__file__).parent / "fixtures" / "catalog_small.csv"


@pytest.fixture
async def service(tmp_path):
    store = await SQLiteHistoryStore.open(tmp_path / "h.sqlite3")
    try:
        yield SongService(Catalog.load(FIXTURE_CATALOG), store)
    finally:
        await store.close()


async def test_a_mood_is_served_without_repeats_then_starts_over(service):
    n = len(service.catalog.songs("sad"))
    picks = [await service.next(7, "sad") for _ in range(n + 1)]
    ids = [p.song.track_id for p in picks]
    assert len(set(ids[:n])) == n and all(p.song.mood == "sad" for p in picks)
    assert not any(p.restarted for p in picks[:n]) and picks[n].restarted
    assert ids[:n] == [s.track_id for s in service.catalog.order_for_user("sad", 7)]
    assert all(p.lift_step is None for p in picks)


async def test_each_song_is_stored_before_it_is_returned(service, tmp_path):
    pick = await service.next(7, "calm")
    with sqlite3.connect(tmp_path / "h.sqlite3") as other:  # another reader sees the commit
        rows = other.execute("SELECT user_id, mood, track_id FROM served").fetchall()
    assert rows == [(7, "calm", pick.song.track_id)]


async def test_concurrent_requests_of_one_user_never_get_the_same_song(service):
    n = len(service.catalog.songs("happy"))
    picks = await asyncio.gather(*(service.next(3, "happy") for _ in range(n)))
    assert len({p.song.track_id for p in picks}) == n


async def test_users_have_their_own_histories(service):
    first = await service.next(1, "energetic")
    assert (await service.next(2, "energetic")).song == service.catalog.order_for_user("energetic", 2)[0]
    assert (await service.next(1, "energetic")).song != first.song


async def test_lift_mode_starts_in_the_mood_and_counts_steps(service):
    await service.store.set_lift(5, True)
    first = await service.next(5, "sad")
    assert first.lift_step == 0 and first.song.mood == "sad"
    second = await service.next(5, "sad", after=first.lift_step)
    third = await service.next(5, "sad", after=second.lift_step)
    assert (second.lift_step, third.lift_step) == (1, 2)
    assert len({first.song, second.song, third.song}) == 3
    await service.store.set_lift(5, False)
    assert (await service.next(5, "sad", after=third.lift_step)).lift_step is None


async def test_unknown_moods_are_refused_without_touching_the_history(service):
    assert not service.knows("grumpy") and service.knows("calm")
    assert await service.next(1, "grumpy") is None
    assert await service.store.served(1) == []


SCORES = (0.05, 0.01, 0.04, 0.10, 0.60, 0.05, 0.15)


async def test_a_photo_is_eight_trips_to_sqlite_and_one_commit(service, tmp_path):
    await service.next(8, "sad")  # not a new user: some history to read
    async with counting_commits(service.store) as commits:
        settings = await service.store.settings(8, with_choices=True)
        pick = await service.next(8, "sad", settings=settings, reading=NewReading("selfie", "sad", SCORES))
    # The settings (one query); BEGIN, the forget mark, the reading and its bound, the songs (one
    # query for every mood), the song (the user is below the bound: nothing to delete), COMMIT.
    assert commits.statements == 8 and commits.count == 1
    with sqlite3.connect(tmp_path / "h.sqlite3") as other:  # committed before the song is returned
        assert other.execute("SELECT id, mood FROM readings").fetchall() == [(pick.reading, "sad")]
        assert other.execute("SELECT COUNT(*) FROM served").fetchone() == (2,)


async def test_settings_handed_in_are_not_read_again(service):
    await service.store.set_lift(5, False)
    async with counting_commits(service.store) as commits:
        pick = await service.next(5, "sad", settings=UserSettings(lift=True))
    assert pick.lift_step == 0 and pick.reading is None  # lifted, as the settings handed in say
    assert commits.statements == 5  # no settings read: BEGIN, the forget mark, the songs, the song, COMMIT


async def test_a_reading_with_no_song_for_its_mood_is_stored_alone(tmp_path):
    calm_only = Catalog.from_songs(Catalog.load(FIXTURE_CATALOG).songs("calm"))
    store = await SQLiteHistoryStore.open(tmp_path / "h.sqlite3")
    try:
        service = SongService(calm_only, store)
        assert await service.next(4, "sad", reading=NewReading("selfie", "sad", SCORES)) is None
        assert [m.mood for m in await store.mood_marks(4, since=0)] == ["sad"]
        assert await store.served(4) == []
    finally:
        await store.close()
