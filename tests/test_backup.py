"""`python -m bot.backup`: a consistent copy of a live history, and restoring it, as an operator runs them."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from recommender.paths import PROJECT_ROOT
from recommender.store.sqlite import SQLiteHistoryStore


def run(*args: str, database) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_PATH"] = str(database)
    return subprocess.run([sys.executable, "-m", "bot.backup", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


async def add_songs(store: SQLiteHistoryStore, user: int, n: int, prefix: str) -> None:
    for i in range(n):
        async with store.user(user) as history:
            await history.append("happy", f"{prefix}{i}", 0)


def songs_in(path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT user_id, track_id FROM served ORDER BY id").fetchall()


async def test_backup_of_a_live_database_then_restore(tmp_path):
    live = tmp_path / "live.sqlite3"
    copy = tmp_path / "backup.sqlite3"
    store = await SQLiteHistoryStore.open(live)
    try:
        await add_songs(store, 1, 5, "a")
        await add_songs(store, 2, 3, "b")
        assert (tmp_path / "live.sqlite3-wal").stat().st_size > 0  # the rows are still in the WAL
        proc = run(str(copy), database=live)  # while the bot's connection is open
        assert proc.returncode == 0, proc.stderr
        assert "backed up 8 songs" in proc.stdout
        await add_songs(store, 1, 2, "later")
    finally:
        await store.close()
    assert not (tmp_path / "backup.sqlite3-wal").exists()  # one self-contained file
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(songs_in(copy)) == 8

    proc = run("--restore", str(copy), database=live)
    assert proc.returncode == 0, proc.stderr
    assert "restored 8 songs" in proc.stdout
    assert songs_in(live) == songs_in(copy)
    store = await SQLiteHistoryStore.open(live)  # the bot opens the restored file as usual
    try:
        assert [s.track_id for s in await store.served(1)] == [f"a{i}" for i in range(5)]
    finally:
        await store.close()


async def test_restore_refuses_while_the_bot_is_running(tmp_path):
    live, copy = tmp_path / "live.sqlite3", tmp_path / "b.sqlite3"
    store = await SQLiteHistoryStore.open(live)
    try:
        await add_songs(store, 1, 2, "a")
        assert run(str(copy), database=live).returncode == 0
        await store.heartbeat()
        proc = run("--restore", str(copy), database=live)
    finally:
        await store.close()
    assert proc.returncode == 2 and "stop it first" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("case", ["garbage", "foreign", "missing", "exists"])
def test_bad_files_get_one_line_and_exit_2(tmp_path, case):
    live = tmp_path / "live.sqlite3"
    with sqlite3.connect(live) as db:
        db.execute("CREATE TABLE served (id INTEGER PRIMARY KEY, user_id, mood, track_id, served_at)")
    other = tmp_path / "other.sqlite3"
    if case == "garbage":
        other.write_bytes(b"this is not a database\n" * 100)
    elif case == "foreign":
        with sqlite3.connect(other) as db:
            db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    args = ("--restore", str(other)) if case != "exists" else (str(live),)
    proc = run(*args, database=live)
    assert proc.returncode == 2, proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr
    assert songs_in(live) == []  # nothing was overwritten


async def test_the_documented_backup_command_works_before_backups_exists(tmp_path):
    # docs/operations.md: `python -m bot.backup backups/mood-$(date +%F).sqlite3` in a fresh checkout.
    live, out = tmp_path / "live.sqlite3", tmp_path / "backups" / "mood-2026-12-05.sqlite3"
    store = await SQLiteHistoryStore.open(live)
    try:
        await add_songs(store, 1, 3, "a")
    finally:
        await store.close()
    proc = run(str(out), database=live)
    assert proc.returncode == 0, proc.stderr
    assert songs_in(out) == songs_in(live)


def test_backups_and_var_are_never_committed_nor_in_the_image():
    # Both hold Telegram user ids.
    if not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "check-ignore", "backups/mood-2026-12-05.sqlite3", "var/mood.sqlite3"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
    assert proc.stdout.split() == ["backups/mood-2026-12-05.sqlite3", "var/mood.sqlite3"]
    dockerignore = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert "backups" in dockerignore and "var" in dockerignore
