"""`python -m bot.migrate_history`: an existing SQLite history moved into PostgreSQL, as an operator runs it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.music.catalog import Catalog
from recommender.music.service import SongService
from recommender.paths import PROJECT_ROOT
from recommender.store.checkins import Checkin, checkins_of
from recommender.store.postgres import PostgresHistoryStore
from recommender.store.sqlite import SQLiteHistoryStore

FIXTURE_CATALOG = Path(__file__).parent / "fixtures" / "catalog_small.csv"




def migrate(source: Path, url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_PATH")}
    return subprocess.run([sys.executable, "-m", "bot.migrate_history", "--from", str(source), "--to", url],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)


async def test_history_moves_over_and_serving_continues_without_repeats(postgres, tmp_path):
    catalog = Catalog.load(FIXTURE_CATALOG)
    sqlite = await SQLiteHistoryStore.open(tmp_path / "h.sqlite3")
    old = SongService(catalog, sqlite)
    heard = [(await old.next(7, "happy")).song.track_id for _ in range(5)]
    await old.next(8, "sad")
    await sqlite.set_lift(8, True)
    await sqlite.set_language(8, "tr")
    await sqlite.set_mature(8, True)
    reading = await sqlite.add_reading(7, "selfie", "sad", (0.1, 0.0, 0.1, 0.2, 0.4, 0.1, 0.1))
    await sqlite.add_choice(7, reading, "happy")
    await checkins_of(sqlite).subscribe(Checkin(8, 8, 510, "Europe/Istanbul", "tr", 1.9e9))
    await sqlite.close()

    url = postgres.create_database("migrated")
    proc = migrate(tmp_path / "h.sqlite3", url)
    assert proc.returncode == 0, proc.stderr
    assert "copied 6 songs and 1 users' settings" in proc.stdout

    store = await PostgresHistoryStore.open(url)
    try:
        assert [s.track_id for s in await store.served(7)] == heard
        assert await store.get_lift(8) and not await store.get_lift(7)
        assert await store.get_language(8) == "tr" and await store.get_language(7) is None
        assert await store.get_mature(8) and not await store.get_mature(7)  # the /settings opt-in too
        # Moods read and chosen move too, under the same ids (buttons already sent keep working).
        assert (await store.reading(7, reading)).mood == "sad" and await store.chosen_counts(7) == {"happy": 1}
        assert await store.add_reading(7, "mood", "calm") > reading
        assert await checkins_of(store).get(8) == Checkin(8, 8, 510, "Europe/Istanbul", "tr", 1.9e9)
        new = SongService(catalog, store)
        rest = [(await new.next(7, "happy")).song.track_id for _ in range(len(catalog.songs("happy")) - 5)]
        assert not set(rest) & set(heard) and len(set(rest)) == len(rest)
    finally:
        await store.close()

    again = migrate(tmp_path / "h.sqlite3", url)  # a second run must not duplicate anything
    assert again.returncode == 2 and "migrated already" in again.stderr


def test_without_a_postgresql_url_it_says_how_to_give_one(tmp_path):
    proc = migrate(tmp_path / "missing.sqlite3", "")
    assert proc.returncode == 2 and "DATABASE_URL" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


async def test_a_big_history_is_streamed_not_held_in_memory(postgres, tmp_path):
    import sqlite3
    import tracemalloc

    from bot.migrate_history import migrate as migrate_in_process

    source = tmp_path / "big.sqlite3"
    await (await SQLiteHistoryStore.open(source)).close()
    songs = 100_000
    with sqlite3.connect(source) as db:
        db.executemany("INSERT INTO served (user_id, mood, track_id, cycle, served_at) VALUES (?, 'happy', ?, 0, ?)",
                       ((i % 500, f"spotify:track:{i:022d}", 1.7e9 + i) for i in range(songs)))
    url = postgres.create_database("big_migration")
    tracemalloc.start()
    try:
        assert await migrate_in_process(source, url) == (songs, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB while copying {songs} songs"
    store = await PostgresHistoryStore.open(url)
    try:
        assert len(await store.served(499)) == songs // 500
    finally:
        await store.close()
