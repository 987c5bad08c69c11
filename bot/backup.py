"""Back up or restore the bot's SQLite history, safely while the bot runs.

    python -m bot.backup OUT.sqlite3             # a consistent copy of DATABASE_PATH, bot running or not
    python -m bot.backup --restore IN.sqlite3    # replace DATABASE_PATH with a backup (stop the bot first)

The copy uses SQLite's online backup API, which reads a consistent snapshot page by page, WAL
included, so the result is one self-contained file. It is written under a temporary name and
renamed only when complete (a full disk leaves no half file behind), never through a symlink, and
readable by its owner only (0600). A restore first checks the backup read-only (integrity_check and
the bot's own schema check: every table and column, a version it can migrate from) and keeps the
database it replaces as DATABASE_PATH-before-restore. Inside the container:
`docker compose exec bot python -m bot.backup /data/backup.sqlite3`.
Exit status: 0 done, 2 with one line on stderr when it could not be done.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from recommender.store.sqlite import read_heartbeat, schema_problem

from .config import database_path, load_env_file

RUNNING_S = 90.0  # a heartbeat younger than this means a bot is using the database


class BackupError(RuntimeError):
    """One line a person can act on."""


def open_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def check_history(db: sqlite3.Connection, path: Path, *, thorough: bool = False) -> None:
    """Refuse anything that is not a history database this bot can read and migrate; `thorough`
    reads every page (integrity_check) rather than the quick structural check."""
    try:
        problem = schema_problem(db)
        ok = db.execute(f"PRAGMA {'integrity_check' if thorough else 'quick_check'}(1)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from None
    if problem is not None:
        raise BackupError(f"{path} is not a Music Mood Lifter history this bot can use: {problem}")
    if ok != "ok":
        raise BackupError(f"{path} is damaged (integrity check: {ok})")


def _songs(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COUNT(*) FROM served").fetchone()[0]


def _copy(src: sqlite3.Connection, out: Path) -> int:
    """Write a snapshot of `src` to `out` (which must not exist, not even as a dangling symlink)
    through a 0600 temporary file beside it, linked into place only once complete; returns its songs."""
    if os.path.lexists(out):
        what = "a symlink" if out.is_symlink() else "already there"
        raise BackupError(f"{out} is {what}: choose a new file name")
    temp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.close(fd)
    try:
        with contextlib.closing(sqlite3.connect(temp)) as dst:
            src.backup(dst)
            songs = _songs(dst)
        with open(temp, "rb") as done:
            os.fsync(done.fileno())
        os.link(temp, out)  # fails, rather than overwrites, if `out` appeared meanwhile
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return songs


def backup(database: Path, out: Path) -> int:
    """Copy the live database into `out` (which must not exist); returns the songs copied."""
    with contextlib.closing(open_readonly(database)) as src:
        check_history(src, database)
        out.parent.mkdir(parents=True, exist_ok=True)  # `backups/` of the docs' command, on first use
        return _copy(src, out)


def kept_name(database: Path) -> Path:
    """Where a restore keeps the database it replaces: DATABASE_PATH-before-restore, or .2, .3…"""
    kept = database.with_name(f"{database.name}-before-restore")
    n = 1
    while os.path.lexists(kept):
        n += 1
        kept = database.with_name(f"{database.name}-before-restore.{n}")
    return kept


def restore(backup_file: Path, database: Path, *, now: float | None = None) -> tuple[int, Path | None]:
    """Replace the database's content with the backup's; returns the songs restored and where the
    replaced database was kept (None when there was none)."""
    beat = read_heartbeat(database) if database.exists() else None
    if beat is not None and (now or time.time()) - beat < RUNNING_S:
        raise BackupError(f"the bot is running on {database} (heartbeat {time.time() - beat:.0f} s ago): stop it first")
    with contextlib.closing(open_readonly(backup_file)) as src:
        check_history(src, backup_file, thorough=True)
        kept = _keep(database) if database.exists() else None
        database.parent.mkdir(parents=True, exist_ok=True)
        try:
            songs = _overwrite(src, database)
        except sqlite3.DatabaseError:  # the old file is damaged (a copy is kept): start from a fresh one
            for file in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                with contextlib.suppress(FileNotFoundError):
                    file.unlink()
            songs = _overwrite(src, database)
        return songs, kept


def _overwrite(src: sqlite3.Connection, database: Path) -> int:
    if not database.exists():
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with contextlib.closing(sqlite3.connect(database)) as dst:
        src.backup(dst)  # page-wise overwrite through SQLite, so a WAL file stays consistent
        songs = _songs(dst)
    with contextlib.suppress(OSError):
        os.chmod(database, 0o600)
    return songs


def _keep(database: Path) -> Path:
    """A copy of the database about to be replaced; byte for byte if SQLite cannot read it."""
    kept = kept_name(database)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as old:
            _copy(old, kept)
    except sqlite3.DatabaseError:
        for suffix in ("", "-wal"):  # the damaged file as it is, its WAL beside it
            if Path(f"{database}{suffix}").exists():
                fd = os.open(f"{kept}{suffix}", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out, open(f"{database}{suffix}", "rb") as old_file:
                    shutil.copyfileobj(old_file, out)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.backup", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the backup to write (or, with --restore, to read)")
    parser.add_argument("--restore", action="store_true", help="replace DATABASE_PATH with FILE")
    args = parser.parse_args(argv)
    load_env_file()
    database = database_path()
    try:
        if args.restore:
            n, kept = restore(args.file, database)
            print(f"ok: restored {n} songs from {args.file} into {database}"
                  + (f"; the replaced database is kept as {kept}" if kept else ""))
        else:
            n = backup(database, args.file)
            print(f"ok: backed up {n} songs from {database} to {args.file}")
    except (BackupError, OSError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
