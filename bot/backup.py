"""Back up or restore the bot's SQLite history, safely while the bot runs.

    python -m bot.backup OUT.sqlite3             # a consistent copy of DATABASE_PATH, bot running or not
    python -m bot.backup --restore IN.sqlite3    # replace DATABASE_PATH with a backup (stop the bot first)

The copy uses SQLite's online backup API, which reads a consistent snapshot page by page, WAL
included, so the result is one self-contained file. Inside the container:
`docker compose exec bot python -m bot.backup /data/backup.sqlite3`.
Exit status: 0 done, 2 with one line on stderr when it could not be done.
"""
from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
import time
from pathlib import Path

from recommender.store.sqlite import OUR_TABLES, SCHEMA_VERSION, read_heartbeat

from .config import history_location, load_env_file

RUNNING_S = 90.0  # a heartbeat younger than this means a bot is using the database


class BackupError(RuntimeError):
    """One line a person can act on."""


def open_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def check_history(db: sqlite3.Connection, path: Path) -> None:
    """Refuse anything that is not a history database this bot can read."""
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = db.execute("PRAGMA user_version").fetchone()[0]
        ok = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from None
    if not {"served"} <= tables or not tables - {"sqlite_sequence"} <= OUR_TABLES:
        raise BackupError(f"{path} is not a Music Mood Lifter history (tables: {', '.join(sorted(tables)) or 'none'})")
    if version > SCHEMA_VERSION:
        raise BackupError(f"{path} has schema v{version}, newer than this bot's v{SCHEMA_VERSION}: update the bot first")
    if ok != "ok":
        raise BackupError(f"{path} is damaged (quick_check: {ok})")


def backup(database: Path, out: Path) -> int:
    """Copy the live database into `out` (which must not exist); returns the songs copied."""
    if out.exists():
        raise BackupError(f"{out} already exists: choose a new file name")
    with contextlib.closing(open_readonly(database)) as src:
        check_history(src, database)
        out.parent.mkdir(parents=True, exist_ok=True)  # `backups/` of the docs' command, on first use
        with contextlib.closing(sqlite3.connect(out)) as dst:
            src.backup(dst)
            return dst.execute("SELECT COUNT(*) FROM served").fetchone()[0]


def restore(backup_file: Path, database: Path, *, now: float | None = None) -> int:
    """Replace the database's content with the backup's; returns the songs restored."""
    beat = read_heartbeat(database) if database.exists() else None
    if beat is not None and (now or time.time()) - beat < RUNNING_S:
        raise BackupError(f"the bot is running on {database} (heartbeat {time.time() - beat:.0f} s ago): stop it first")
    with contextlib.closing(open_readonly(backup_file)) as src:
        check_history(src, backup_file)
        database.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(database)) as dst:
            src.backup(dst)  # page-wise overwrite through SQLite, so a WAL file stays consistent
            return dst.execute("SELECT COUNT(*) FROM served").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.backup", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the backup to write (or, with --restore, to read)")
    parser.add_argument("--restore", action="store_true", help="replace DATABASE_PATH with FILE")
    args = parser.parse_args(argv)
    load_env_file()
    database, _ = history_location()
    try:
        if args.restore:
            n = restore(args.file, database)
            print(f"ok: restored {n} songs from {args.file} into {database}")
        else:
            n = backup(database, args.file)
            print(f"ok: backed up {n} songs from {database} to {args.file}")
    except (BackupError, OSError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
