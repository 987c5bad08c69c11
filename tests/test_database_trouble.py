"""Database trouble at start-up is one line and exit 2 (for the bot and for --check), a file that is
not ours is left untouched, and a database deleted or replaced under the running bot is noticed."""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import check_health
from bot_harness import bot_config, running_bot
from recommender.store.sqlite import MIGRATIONS, SCHEMA_VERSION, read_heartbeat
from fake_telegram import TOKEN
from test_bot_process import bot_env, run_to_end

EXIT_CONFIG = 2


def database(tmp_path: Path) -> Path:
    return tmp_path / "data" / "mood.sqlite3"


async def refused(tmp_path: Path, fake, *needles: str) -> None:
    """Both `python -m bot` and `--check` stop with exit 2 and one line naming the path."""
    env = bot_env(tmp_path, fake)
    for args in ((), ("--check",)):
        code, output = await run_to_end(tmp_path, env, *args)
        lines = [line for line in output.splitlines() if line.strip() and "TensorFlow Lite" not in line]
        assert code == EXIT_CONFIG, output
        assert len(lines) == 1 and lines[0].startswith("error: "), output
        assert env["DATABASE_PATH"] in lines[0] or str(Path(env["DATABASE_PATH"]).parent) in lines[0]
        for needle in needles:
            assert needle in lines[0], output
        assert "Traceback" not in output


def files_beside(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir())}


async def test_a_garbage_file_is_refused_in_one_line(fake, tmp_path):
    path = database(tmp_path)
    path.parent.mkdir()
    path.write_bytes(b"these are my holiday notes, not a database\n" * 20)
    before = files_beside(path)
    await refused(tmp_path, fake, "not a SQLite database")
    assert files_beside(path) == before


async def test_another_applications_database_is_refused_and_left_untouched(fake, tmp_path):
    path = database(tmp_path)
    path.parent.mkdir()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        db.execute("INSERT INTO contacts VALUES ('Ann', '555')")
        db.commit()
    before = files_beside(path)
    await refused(tmp_path, fake, "another application", "untouched")
    assert files_beside(path) == before  # same bytes, and no -wal / -shm created beside it
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)


async def test_a_newer_schema_is_refused_in_one_line(fake, tmp_path):
    path = database(tmp_path)
    path.parent.mkdir()
    with contextlib.closing(sqlite3.connect(path)) as db:
        for step in MIGRATIONS:
            for statement in step:
                db.execute(statement)
        db.execute("CREATE TABLE from_the_future (x)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.commit()
    await refused(tmp_path, fake, f"v{SCHEMA_VERSION + 1}", "newer")


async def test_check_creates_the_database_as_the_bot_would(tmp_path):
    env = bot_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN)
    assert not database(tmp_path).exists()
    code, output = await run_to_end(tmp_path, env, "--check", "--offline")
    assert code == 0, output
    with contextlib.closing(sqlite3.connect(database(tmp_path))) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[None]:
    """`path` read-only for the bot. Root ignores permission bits, so as root the directory is
    bind-mounted read-only onto itself (a read-only volume), or the test is skipped."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)
        return
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "--bind", "-o", "ro", str(path), str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root without the right to mount read-only, and chmod does not bind root")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


@contextlib.contextmanager
def unwritable_file(path: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a file system without the immutable attribute; chmod does not bind root")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


async def test_a_read_only_directory_is_refused_in_one_line(fake, tmp_path):
    database(tmp_path).parent.mkdir()
    with read_only_dir(database(tmp_path).parent):
        await refused(tmp_path, fake, "writable")


async def test_an_unwritable_database_file_is_refused_in_one_line(fake, tmp_path):
    code, output = await run_to_end(tmp_path, bot_env(tmp_path, fake), "--check")
    assert code == 0, output  # a good database of ours...
    with unwritable_file(database(tmp_path)):  # ...that the bot may no longer write
        await refused(tmp_path, fake, "read-only")


def database_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "database" in r.getMessage()]


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_database_deleted_or_replaced_under_the_running_bot_is_noticed(fake, pipeline, tmp_path,
                                                                              caplog, how):
    caplog.set_level(logging.INFO)
    config = dataclasses.replace(bot_config(fake, tmp_path), heartbeat_s=1.0)
    path = config.database_path
    async with running_bot(config, pipeline):
        await fake.until(lambda: read_heartbeat(path) is not None, 15)
        assert check_health(config)[0]
        if how == "deleted":
            for p in path.parent.glob(path.name + "*"):
                p.unlink()
        else:  # a copy, heartbeat and all, moved over it (a restore, or another tool's rewrite)
            with contextlib.closing(sqlite3.connect(path)) as src, \
                    contextlib.closing(sqlite3.connect(tmp_path / "copy.sqlite3")) as dst:
                src.backup(dst)
            os.replace(tmp_path / "copy.sqlite3", path)
        healthy, line = check_health(config)
        assert not healthy, line
        await fake.until(lambda: database_errors(caplog), 15)
        rounds = fake.get_updates_calls
        await fake.until(lambda: fake.get_updates_calls >= rounds + 3, 15)  # a few more beats
        assert not check_health(config)[0]
    errors = database_errors(caplog)
    assert len(errors) == 1 and str(path) in errors[0] and how in errors[0], errors
