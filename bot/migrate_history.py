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
from pathlib import Path

from .backup import BackupError, check_history, open_readonly
from .config import history_location, load_env_file


async def migrate(source: Path, url: str) -> tuple[int, int]:
    """Copies served songs, settings, moods read and chosen, daily check-ins; returns (songs, users with settings)."""
    from recommender.store.checkins import Checkin, checkins_of
    from recommender.store.postgres import PostgresHistoryStore

    with contextlib.closing(open_readonly(source)) as db:
        check_history(db, source)
        songs = db.execute("SELECT user_id, mood, track_id, cycle, served_at FROM served ORDER BY id").fetchall()
        has_settings = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'user_settings'").fetchone()
        columns = {row[1] for row in db.execute("PRAGMA table_info(user_settings)")}
        language = "language" if "language" in columns else "NULL"  # files older than /language
        settings = (db.execute(f"SELECT user_id, lift, updated_at, {language} FROM user_settings").fetchall()
                    if has_settings else [])
        has_moods = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'choices'").fetchone()
        readings = (db.execute("SELECT id, user_id, at, source, mood, scores FROM readings").fetchall()
                    if has_moods else [])
        choices = (db.execute("SELECT id, reading_id, user_id, mood, at FROM choices").fetchall()
                   if has_moods else [])
        has_checkins = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'checkins'").fetchone()
        checkins = (db.execute("SELECT user_id, chat_id, minute, zone, language, due_at FROM checkins").fetchall()
                    if has_checkins else [])
    store = await PostgresHistoryStore.open(url)
    try:
        await store.import_history(songs, settings, readings, choices)
        table = checkins_of(store)
        for user_id, chat_id, minute, zone, language, due_at in checkins:  # the daily check-ins go along
            await table.subscribe(Checkin(user_id, chat_id, minute, zone, language, due_at))
    finally:
        await store.close()
    return len(songs), len(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.migrate_history", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="the SQLite file (default: DATABASE_PATH)")
    parser.add_argument("--to", dest="url", help="the PostgreSQL URL (default: DATABASE_URL)")
    args = parser.parse_args(argv)
    load_env_file()
    path, env_url = history_location()
    source = args.source or path
    url = args.url or env_url or ""
    if not url.startswith(("postgresql://", "postgres://")):
        print("error: give the PostgreSQL URL with --to or DATABASE_URL (postgresql://user:pass@host:5432/db)",
              file=sys.stderr)
        return 2
    try:
        songs, users = asyncio.run(migrate(source, url))
    except (BackupError, ValueError, OSError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # asyncpg's connection and server errors: one line, no password
        print(f"error: cannot migrate into PostgreSQL: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"ok: copied {songs} songs and {users} users' settings from {source} to PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
