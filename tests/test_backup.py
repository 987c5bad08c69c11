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


def restore_env_case(path, case: str) -> None:
    """Backups that look like a history by table names or version, but that the bot cannot use."""
    with sqlite3.connect(path) as db:
        if case == "bare_served_v6":
            db.execute("CREATE TABLE served (x)")
            db.execute("PRAGMA user_version = 6")
        elif case == "version_0":
            db.execute("CREATE TABLE served (id INTEGER PRIMARY KEY, user_id, mood, track_id, served_at)")
        elif case == "missing_column":
            db.execute("CREATE TABLE served (id INTEGER PRIMARY KEY, user_id, mood, track_id, served_at)")
            db.execute("PRAGMA user_version = 2")  # v2 added served.cycle and user_settings


@pytest.mark.parametrize("case", ["bare_served_v6", "version_0", "missing_column"])
async def test_restore_refuses_a_history_the_bot_cannot_use_and_keeps_the_live_one(tmp_path, case):
    live, bad = tmp_path / "live.sqlite3", tmp_path / "bad.sqlite3"
    store = await SQLiteHistoryStore.open(live)
    try:
        await add_songs(store, 1, 3, "a")
    finally:
        await store.close()
    restore_env_case(bad, case)
    proc = run("--restore", str(bad), database=live)
    assert proc.returncode == 2, proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1 and "history this bot can use" in proc.stderr
    assert len(songs_in(live)) == 3
    assert not list(tmp_path.glob("live.sqlite3-before-restore*"))


@pytest.mark.parametrize("case", ["bare_served_v6", "missing_column"])
async def test_the_bot_refuses_at_start_a_file_that_claims_a_version_it_does_not_have(tmp_path, case):
    from recommender.store.sqlite import DatabaseUnusable

    bad = tmp_path / "bad.sqlite3"
    restore_env_case(bad, case)
    before = bad.read_bytes()
    with pytest.raises(DatabaseUnusable, match="not a history this bot can use"):
        await SQLiteHistoryStore.open(bad)  # what `python -m bot --check` does first
    assert bad.read_bytes() == before


async def test_restore_keeps_the_replaced_database_and_says_so_in_one_line(tmp_path):
    live, copy = tmp_path / "live.sqlite3", tmp_path / "b.sqlite3"
    store = await SQLiteHistoryStore.open(live)
    try:
        await add_songs(store, 1, 2, "old")
        assert run(str(copy), database=live).returncode == 0
        await add_songs(store, 1, 3, "new")
    finally:
        await store.close()
    proc = run("--restore", str(copy), database=live)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1 and "live.sqlite3-before-restore" in proc.stdout
    assert len(songs_in(live)) == 2
    kept = tmp_path / "live.sqlite3-before-restore"
    assert len(songs_in(kept)) == 5
    assert run("--restore", str(copy), database=live).returncode == 0  # a second restore keeps both
    assert len(songs_in(kept)) == 5 and len(songs_in(tmp_path / "live.sqlite3-before-restore.2")) == 2


async def test_a_backup_on_a_full_disk_leaves_nothing_that_blocks_the_retry(tmp_path):
    import resource
    import signal

    live, copy = tmp_path / "live.sqlite3", tmp_path / "b.sqlite3"
    store = await SQLiteHistoryStore.open(live)
    try:
        await add_songs(store, 1, 1500, "track-with-a-longish-id-")
    finally:
        await store.close()
    assert live.stat().st_size > 64 * 1024

    def full_disk() -> None:  # in the child only: files cannot grow past 64 KiB, like a full volume
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env.update(DATABASE_PATH=str(live), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-m", "bot.backup", str(copy)], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60, preexec_fn=full_disk)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("b.", ".b."))) == []
    retry = run(str(copy), database=live)
    assert retry.returncode == 0, retry.stderr
    assert len(songs_in(copy)) == 1500


async def test_a_backup_never_writes_through_a_symlink(tmp_path):
    live = tmp_path / "live.sqlite3"
    store = await SQLiteHistoryStore.open(live)
    try:
        await add_songs(store, 1, 1, "a")
    finally:
        await store.close()
    elsewhere = tmp_path / "elsewhere" / "planted.sqlite3"
    elsewhere.parent.mkdir()
    link = tmp_path / "b.sqlite3"
    link.symlink_to(elsewhere)  # dangling: `exists()` says False
    proc = run(str(link), database=live)
    assert proc.returncode == 2 and "symlink" in proc.stderr
    assert not elsewhere.exists()


async def test_the_database_and_its_backups_are_private_to_their_owner(tmp_path):
    old = os.umask(0o022)  # the usual default, which makes new files 0644
    try:
        live, copy = tmp_path / "live.sqlite3", tmp_path / "b.sqlite3"
        store = await SQLiteHistoryStore.open(live)
        try:
            await add_songs(store, 1, 1, "a")
            files = [live, tmp_path / "live.sqlite3-wal", tmp_path / "live.sqlite3-shm"]
            assert [oct(p.stat().st_mode & 0o777) for p in files] == ["0o600"] * 3
            assert run(str(copy), database=live).returncode == 0
        finally:
            await store.close()
        assert oct(copy.stat().st_mode & 0o777) == "0o600"
        assert run("--restore", str(copy), database=live).returncode == 0
        assert oct((tmp_path / "live.sqlite3-before-restore").stat().st_mode & 0o777) == "0o600"
    finally:
        os.umask(old)


async def test_a_damaged_database_can_be_restored_over_and_is_kept_as_it_was(tmp_path):
    live, copy = tmp_path / "live.sqlite3", tmp_path / "b.sqlite3"
    store = await SQLiteHistoryStore.open(live)
    try:
        await add_songs(store, 1, 4, "a")
    finally:
        await store.close()
    assert run(str(copy), database=live).returncode == 0
    damaged = b"this is no longer a database\n" * 200
    live.write_bytes(damaged)
    proc = run("--restore", str(copy), database=live)
    assert proc.returncode == 0, proc.stderr
    assert len(songs_in(live)) == 4
    assert (tmp_path / "live.sqlite3-before-restore").read_bytes() == damaged


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
