"""The per-user history store: durability settings, migrations, bounds, forget."""
from __future__ import annotations

import sqlite3

import pytest

from recommender.music.selection import pick_next
from recommender.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SchemaTooNew, read_heartbeat
from recommender.store.sqlite import SQLiteHistoryStore as HistoryStore
from recommender.types import Served, Song

ORDER = [Song(track_id=f"t{i}", name=f"S{i}", artist="A", mood="happy") for i in range(5)]


async def serve(store: HistoryStore, user: int, mood: str = "happy") -> str:
    async with store.user(user) as history:
        pick = pick_next(ORDER, await history.served(mood))
        assert pick is not None
        await history.append(mood, pick.song.track_id, pick.cycle)
    return pick.song.track_id


async def record(store: HistoryStore, user: int, mood: str, track_id: str) -> None:
    async with store.user(user) as history:
        await history.append(mood, track_id, 0)


async def test_wal_and_schema_version(tmp_path):
    store = await HistoryStore.open(tmp_path / "h.sqlite3")
    try:
        assert await store.journal_mode() == "wal"
        assert await store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    finally:
        await store.close()


async def test_history_survives_reopen_and_is_per_user(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = await HistoryStore.open(path)
    first = [await serve(store, 1) for _ in range(3)]
    assert await serve(store, 2) == "t0"  # another user starts fresh
    await store.close()

    store = await HistoryStore.open(path)
    try:
        assert [s.track_id for s in await store.served(1)] == first
        assert await serve(store, 1) not in first
    finally:
        await store.close()


async def test_committed_before_return_visible_to_another_connection(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = await HistoryStore.open(path)
    try:
        track = await serve(store, 7)
        # A separate connection (as after a crash and restart) already sees the row.
        with sqlite3.connect(path) as other:
            rows = other.execute("SELECT track_id FROM served WHERE user_id = 7").fetchall()
        assert rows == [(track,)]
    finally:
        await store.close()


async def test_failed_choice_rolls_back(tmp_path):
    store = await HistoryStore.open(tmp_path / "h.sqlite3")
    try:
        with pytest.raises(RuntimeError):
            async with store.user(1) as history:
                await history.append("happy", "t0", 0)
                raise RuntimeError("the reply could not be built")
        assert await store.count(1) == 0
        assert await serve(store, 1) == "t0"  # the store is still usable
    finally:
        await store.close()


async def test_history_is_bounded_per_user(tmp_path):
    store = await HistoryStore.open(tmp_path / "h.sqlite3", max_per_user=3)
    try:
        for i in range(5):
            await record(store, 1, "happy", f"x{i}")
        await record(store, 2, "happy", "y0")
        assert [s.track_id for s in await store.served(1)] == ["x2", "x3", "x4"]
        assert await store.count(2) == 1
    finally:
        await store.close()


async def test_forget_deletes_history_and_settings(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = await HistoryStore.open(path)
    try:
        for _ in range(3):
            await serve(store, 1)
        await serve(store, 2)
        await store.set_lift(1, True)
        assert await store.forget(1) == 3
        assert await store.count(1) == 0 and not await store.get_lift(1)
        assert await store.count(2) == 1
        assert await store.forget(1) == 0
    finally:
        await store.close()
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT COUNT(*) FROM served WHERE user_id = 1").fetchone() == (0,)


async def test_lift_setting_round_trip(tmp_path):
    store = await HistoryStore.open(tmp_path / "h.sqlite3")
    try:
        assert not await store.get_lift(5)
        await store.set_lift(5, True)
        assert await store.get_lift(5)
        await store.set_lift(5, False)
        assert not await store.get_lift(5)
    finally:
        await store.close()


async def test_migrates_a_version_1_file_keeping_rows(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        for statement in MIGRATIONS[0]:
            old.execute(statement)
        old.execute("INSERT INTO served (user_id, mood, track_id, served_at) VALUES (1, 'happy', 't0', 0)")
        old.execute("PRAGMA user_version = 1")
    store = await HistoryStore.open(path)
    try:
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.served(1) == [Served("t0", 0)]
        assert await serve(store, 1) == "t1"
        await store.set_lift(1, True)  # the v2 table exists
    finally:
        await store.close()


async def test_a_file_from_before_language_choices_keeps_its_settings(tmp_path):
    path = tmp_path / "v5.sqlite3"
    with sqlite3.connect(path) as old:
        for step in MIGRATIONS[:5]:
            for statement in step:
                old.execute(statement)
        old.execute("INSERT INTO user_settings (user_id, lift, updated_at) VALUES (3, 1, 0)")
        old.execute("PRAGMA user_version = 5")
    store = await HistoryStore.open(path)
    try:
        assert await store.get_lift(3) and await store.get_language(3) is None
        await store.set_language(3, "id")
        assert await store.get_language(3) == "id" and await store.get_lift(3)
    finally:
        await store.close()


async def test_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew):
        await HistoryStore.open(path)


async def test_heartbeat_is_readable_from_another_process_view(tmp_path):
    path = tmp_path / "h.sqlite3"
    assert read_heartbeat(path) is None  # no file: no heartbeat (and no file gets created)
    assert not path.exists()
    store = await HistoryStore.open(path)
    try:
        assert read_heartbeat(path) is None
        await store.heartbeat(now=1234.5)
        assert read_heartbeat(path) == 1234.5
    finally:
        await store.close()
