"""Field accuracy, privately: how the bot does with real users, as counts only (no user ids).

    python -m bot.stats

Reads the history at DATABASE_URL (PostgreSQL) or DATABASE_PATH (SQLite, opened read-only) and
prints how many selfies were answered, how often users chose another mood than the one read (the
correction rate), and every mood chosen after a selfie as a detected-mood × chosen-mood table (the
diagonal: an unsure answer settled on the mood the bot leaned to). Exit status 2 with one line
when the database cannot be read.
"""
from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import aiosqlite

from recommender.store.base import FieldStats
from recommender.types import MOODS

from .config import ConfigError, history_location, load_env_file


async def read_stats(path: Path | None = None, url: str | None = None) -> FieldStats:
    from recommender.store.sqlite import DatabaseUnusable, SQLiteHistoryStore

    if url:
        import asyncpg

        from recommender.store.postgres import PostgresHistoryStore, where

        store = await PostgresHistoryStore.open(url, read_only=True)  # never creates tables
        try:
            return await store.field_stats()
        except asyncpg.UndefinedTableError:
            return FieldStats()  # a history from before moods were kept
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise DatabaseUnusable(f"cannot read {where(url)}: {type(exc).__name__}") from None
        finally:
            await store.close()

    assert path is not None
    if not path.is_file():
        raise DatabaseUnusable(f"no history at {path}: set DATABASE_PATH (or DATABASE_URL) to the bot's database")
    try:
        conn = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DatabaseUnusable(f"cannot read {path}: {exc}") from None
    store = SQLiteHistoryStore(conn, max_per_user=0)  # read-only: never migrated or written
    try:
        return await store.field_stats()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return FieldStats()  # a history from before moods were kept
        raise DatabaseUnusable(f"cannot read {path}: {exc}") from None
    except sqlite3.Error as exc:
        raise DatabaseUnusable(f"cannot read {path}: {exc}") from None
    finally:
        await store.close()


def report(stats: FieldStats) -> str:
    chosen = sum(stats.choices.values())
    corrected = sum(n for (detected, mood), n in stats.choices.items() if detected != mood)
    rate = f"{corrected / stats.selfies:.1%}" if stats.selfies else "n/a"
    width = max(len(m) for m in MOODS) + 2
    lines = [
        f"selfies answered: {stats.selfies}",
        f"moods chosen after a selfie: {chosen}",
        f"corrections (chosen mood differs from the one read): {corrected}",
        f"correction rate: {rate}",
        "",
        "detected \\ chosen".ljust(18) + "".join(m.rjust(width) for m in MOODS),
    ]
    for detected in MOODS:
        lines.append(detected.ljust(18) + "".join(str(stats.choices.get((detected, m), 0)).rjust(width)
                                                  for m in MOODS))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    if argv:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python -m bot.stats (no arguments; DATABASE_URL or DATABASE_PATH)", file=sys.stderr)
        return 2
    from recommender.store.sqlite import DatabaseUnusable

    load_env_file()
    try:
        path, url = history_location()
        stats = asyncio.run(read_stats(path, url))
    except (ConfigError, DatabaseUnusable) as exc:
        print(f"bot.stats: {exc}", file=sys.stderr)
        return 2
    print(report(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
