"""The history in SQLite through aiosqlite: the embedded default `HistoryStore`.

Safety choices, each for a reason:
- WAL journal + synchronous=FULL: a song is committed durably *before* the reply that shows
  it is sent, so a crash (even kill -9 or power loss) never forgets a song the user saw.
- Every write is one explicit transaction, serialised by an asyncio lock because one
  aiosqlite connection is shared by concurrent handlers (their statements would interleave).
- The schema version lives in `PRAGMA user_version`; MIGRATIONS upgrade old files in place.
- History is bounded per user (oldest rows dropped) so a heavy user cannot grow the file
  without limit.
Only Telegram user ids, track ids, moods and timestamps are stored; never images.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from ..types import Served

DEFAULT_MAX_PER_USER = 2000

# Index i upgrades a database from version i to i + 1. Append only; never edit a shipped step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE served (
               id        INTEGER PRIMARY KEY AUTOINCREMENT,
               user_id   INTEGER NOT NULL,
               mood      TEXT    NOT NULL,
               track_id  TEXT    NOT NULL,
               served_at REAL    NOT NULL
           )""",
        "CREATE INDEX served_by_user ON served (user_id, mood, id)",
    ),
    (
        # v2: cycles (a mood's songs served once each = one cycle) and per-user settings.
        "ALTER TABLE served ADD COLUMN cycle INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE user_settings (
               user_id    INTEGER PRIMARY KEY,
               lift       INTEGER NOT NULL DEFAULT 0,
               updated_at REAL    NOT NULL
           )""",
    ),
    (
        # v3: small key/value facts about the running bot (the liveness heartbeat).
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The file was written by a newer version of the bot; refuse rather than corrupt it."""


class SQLiteHistoryStore:
    def __init__(self, conn: aiosqlite.Connection, *, max_per_user: int) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.max_per_user = max_per_user

    @classmethod
    async def open(cls, path: Path | str, *, max_per_user: int = DEFAULT_MAX_PER_USER) -> SQLiteHistoryStore:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; we open them explicitly.
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, max_per_user=max_per_user)
            await store._migrate()
        except BaseException:
            await conn.close()
            raise
        return store

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """One write transaction, exclusive among this store's users; rolled back on error."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def _migrate(self) -> None:
        async with self._transaction():
            version = await self._scalar("PRAGMA user_version")
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"database schema v{version} is newer than this bot's v{SCHEMA_VERSION}")
            for step in MIGRATIONS[version:]:
                for statement in step:
                    await self._conn.execute(statement)
            await self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    async def _scalar(self, sql: str, params: tuple = ()) -> int:
        async with self._conn.execute(sql, params) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def schema_version(self) -> int:
        return await self._scalar("PRAGMA user_version")

    async def journal_mode(self) -> str:
        async with self._conn.execute("PRAGMA journal_mode") as cur:
            row = await cur.fetchone()
        return str(row[0])

    async def _served(self, user_id: int, mood: str | None) -> list[Served]:
        if mood is None:
            sql, params = "SELECT track_id, cycle FROM served WHERE user_id = ? ORDER BY id", (user_id,)
        else:
            sql = "SELECT track_id, cycle FROM served WHERE user_id = ? AND mood = ? ORDER BY id"
            params = (user_id, mood)
        async with self._conn.execute(sql, params) as cur:
            return [Served(track_id=r[0], cycle=int(r[1])) for r in await cur.fetchall()]

    async def served(self, user_id: int, mood: str | None = None) -> list[Served]:
        """The user's history (optionally one mood's), oldest first."""
        async with self._lock:
            return await self._served(user_id, mood)

    async def count(self, user_id: int) -> int:
        async with self._lock:
            return await self._scalar("SELECT COUNT(*) FROM served WHERE user_id = ?", (user_id,))

    @contextlib.asynccontextmanager
    async def user(self, user_id: int) -> AsyncIterator[_UserHistory]:
        """One user's history in a write transaction (BEGIN IMMEDIATE: writers queue)."""
        async with self._transaction():
            yield _UserHistory(self, user_id)

    async def _insert(self, user_id: int, mood: str, track_id: str, cycle: int) -> None:
        await self._conn.execute(
            "INSERT INTO served (user_id, mood, track_id, cycle, served_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, mood, track_id, cycle, time.time()))
        # Keep only the newest max_per_user rows of this user.
        await self._conn.execute(
            """DELETE FROM served WHERE user_id = ? AND id <= (
                   SELECT id FROM served WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)""",
            (user_id, user_id, self.max_per_user))

    async def forget(self, user_id: int) -> int:
        """Delete everything stored about the user; returns how many songs were forgotten."""
        async with self._transaction():
            cur = await self._conn.execute("DELETE FROM served WHERE user_id = ?", (user_id,))
            deleted = cur.rowcount
            await self._conn.execute("DELETE FROM user_settings WHERE user_id = ?", (user_id,))
        return max(deleted, 0)

    async def get_lift(self, user_id: int) -> bool:
        async with self._lock:
            return bool(await self._scalar("SELECT lift FROM user_settings WHERE user_id = ?", (user_id,)))

    async def set_lift(self, user_id: int, on: bool) -> None:
        async with self._transaction():
            await self._conn.execute(
                """INSERT INTO user_settings (user_id, lift, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT(user_id) DO UPDATE SET lift = excluded.lift,
                                                      updated_at = excluded.updated_at""",
                (user_id, int(on), time.time()))

    async def heartbeat(self, now: float | None = None) -> None:
        """Record that the bot is alive (read by `python -m bot --health`)."""
        async with self._transaction():
            await self._conn.execute(
                "INSERT INTO meta (key, value) VALUES ('heartbeat', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (repr(time.time() if now is None else now),))


def read_heartbeat(path: Path | str) -> float | None:
    """The last heartbeat in the file (seconds since the epoch), or None; read-only, synchronous."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'heartbeat'").fetchone()
    except sqlite3.Error:
        return None
    return float(row[0]) if row else None


class _UserHistory:
    def __init__(self, store: SQLiteHistoryStore, user_id: int) -> None:
        self._store = store
        self._user_id = user_id

    async def served(self, mood: str | None = None) -> list[Served]:
        return await self._store._served(self._user_id, mood)

    async def append(self, mood: str, track_id: str, cycle: int) -> None:
        await self._store._insert(self._user_id, mood, track_id, cycle)
