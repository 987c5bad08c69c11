"""Copy an existing SQLite history into PostgreSQL, once, when moving to several replicas.

    python -m bot.migrate_history [--from PATH] [--to URL]

PATH defaults to DATABASE_PATH (or the default SQLite file) and URL to DATABASE_URL. The target
must hold no history yet, so running it twice cannot duplicate songs; stop the bot first so no
song is served while copying. Exit status: 0 done, 2 with one line on stderr when it could not be done.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from .backup import BackupError, check_history, open_readonly
from .config import ConfigError, database_path, dsn_password, load_env_file, postgres_dsn

BATCH = 5000  # rows per fetch from SQLite


def _rows(db: sqlite3.Connection, sql: str) -> Iterator[tuple]:
    """The rows of a query, fetched in batches: a 2 M-song history is never held in memory."""
    cursor = db.execute(sql)
    while batch := cursor.fetchmany(BATCH):
        yield from batch


async def migrate(source: Path, url: str) -> tuple[int, int]:
    """Copies served songs, settings, moods read and chosen, daily check-ins; returns (songs, users with settings)."""
    from recommender.store.checkins import Checkin, checkins_of
    from recommender.store.postgres import PostgresHistoryStore

    with contextlib.closing(open_readonly(source)) as db:
        check_history(db, source)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {row[1] for row in db.execute("PRAGMA table_info(user_settings)")}
        language = "language" if "language" in columns else "NULL"  # files older than /language
        mature = "mature" if "mature" in columns else "0"  # files older than /settings
        songs = db.execute("SELECT COUNT(*) FROM served").fetchone()[0]
        users = db.execute("SELECT COUNT(*) FROM user_settings").fetchone()[0] if "user_settings" in tables else 0
        store = await PostgresHistoryStore.open(url)
        try:
            await store.import_history(
                _rows(db, "SELECT user_id, mood, track_id, cycle, served_at FROM served ORDER BY id"),
                _rows(db, f"SELECT user_id, lift, updated_at, {language}, {mature} FROM user_settings")
                if "user_settings" in tables else (),
                _rows(db, "SELECT id, user_id, at, source, mood, scores FROM readings") if "readings" in tables else (),
                _rows(db, "SELECT id, reading_id, user_id, mood, at FROM choices") if "choices" in tables else ())
            if "checkins" in tables:  # the daily check-ins go along
                table = checkins_of(store)
                for row in _rows(db, "SELECT user_id, chat_id, minute, zone, language, due_at FROM checkins"):
                    await table.subscribe(Checkin(*row))
        finally:
            await store.close()
    return songs, users


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.migrate_history", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="the SQLite file (default: DATABASE_PATH)")
    parser.add_argument("--to", dest="url", help="the PostgreSQL URL (default: DATABASE_URL)")
    args = parser.parse_args(argv)
    load_env_file()
    source = args.source or database_path()
    try:
        url = postgres_dsn(url=args.url) if args.url else postgres_dsn()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if url is None:
        print("error: give the PostgreSQL URL with --to or DATABASE_URL (postgresql://user:pass@host:5432/db)",
              file=sys.stderr)
        return 2
    try:
        songs, users = asyncio.run(migrate(source, url))
    except (BackupError, ValueError, OSError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # asyncpg's connection and server errors: one line, no password
        message = f"cannot migrate into PostgreSQL: {type(exc).__name__}: {exc}"
        password = dsn_password(url)
        print(f"error: {message.replace(password, '<redacted>') if password else message}", file=sys.stderr)
        return 2
    print(f"ok: copied {songs} songs and {users} users' settings from {source} to PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
