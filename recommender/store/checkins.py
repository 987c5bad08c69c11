"""The opt-in daily check-in subscriptions, in the history's database (SQLite or PostgreSQL).

A subscription is one row per user: the local time of day and time zone they picked, and
`due_at`, the UTC moment of the next check-in. Sending is claim → send → done:
- `claim` takes due rows for one replica with a lease (`claimed_until`). In PostgreSQL the rows
  are picked with FOR UPDATE SKIP LOCKED, so replicas claiming at the same moment split the rows
  and never share one; in SQLite one process owns the file.
- `done` moves `due_at` to the next day, only while the claim is still this replica's and the
  row is the one claimed (a user who changed or cancelled meanwhile is left alone).
- `release` hands back a claim that was not sent (a network failure, a shutdown), so the next
  round sends it, late and saying so. A replica killed between Telegram's answer and `done`
  leaves a claim that expires after the lease; that check-in is then sent again: the only
  window in which one can be doubled, milliseconds wide (docs/usage.md#daily-check-in).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

# The table, in each database's dialect; the migrations (sqlite.py v8, postgres.py v6) create it.
CHECKINS_TABLE_SQLITE = """CREATE TABLE checkins (
       user_id       INTEGER PRIMARY KEY,
       chat_id       INTEGER NOT NULL,
       minute        INTEGER NOT NULL,
       zone          TEXT    NOT NULL,
       language      TEXT,
       due_at        REAL    NOT NULL,
       claimed_by    TEXT,
       claimed_until REAL,
       sent_at       REAL,
       created_at    REAL    NOT NULL
   )"""
CHECKINS_TABLE_POSTGRES = """CREATE TABLE checkins (
       user_id       BIGINT PRIMARY KEY,
       chat_id       BIGINT NOT NULL,
       minute        INTEGER NOT NULL,
       zone          TEXT   NOT NULL,
       language      TEXT,
       due_at        DOUBLE PRECISION NOT NULL,
       claimed_by    TEXT,
       claimed_until DOUBLE PRECISION,
       sent_at       DOUBLE PRECISION,
       created_at    DOUBLE PRECISION NOT NULL
   )"""
_COLUMNS = "user_id, chat_id, minute, zone, language, due_at, sent_at"


@dataclass(frozen=True)
class Checkin:
    """One user's daily check-in: where to send it, when (local minute of day in `zone`) and
    the next UTC moment it is due."""

    user_id: int
    chat_id: int
    minute: int  # 0..1439, local time
    zone: str  # an IANA name ("Europe/Berlin") or a fixed offset ("UTC+05:30")
    language: str | None  # the language the user spoke when subscribing (their Telegram's)
    due_at: float
    sent_at: float | None = None


def _checkin(row: Any) -> Checkin:
    user_id, chat_id, minute, zone, language, due_at, sent_at = tuple(row)
    return Checkin(int(user_id), int(chat_id), int(minute), str(zone), language, float(due_at),
                   None if sent_at is None else float(sent_at))


class CheckinStore(Protocol):
    async def subscribe(self, checkin: Checkin) -> None: ...

    async def get(self, user_id: int) -> Checkin | None: ...

    async def unsubscribe(self, user_id: int) -> bool:
        """False when the user had no check-in."""
        ...

    async def claim(self, replica: str, now: float, lease_s: float, limit: int) -> list[Checkin]:
        """Up to `limit` due check-ins no one holds, now held by `replica` for `lease_s`."""
        ...

    async def done(self, checkin: Checkin, replica: str, next_due: float, sent_at: float) -> bool: ...

    async def release(self, checkin: Checkin, replica: str) -> None: ...

    async def count(self) -> int: ...


def checkins_of(store: object) -> CheckinStore:
    """The check-in table of a history store, in that store's database and connection."""
    from .postgres import PostgresHistoryStore
    from .sqlite import SQLiteHistoryStore

    if isinstance(store, SQLiteHistoryStore):
        return SQLiteCheckins(store)
    if isinstance(store, PostgresHistoryStore):
        return PostgresCheckins(store)
    raise TypeError(f"no check-in table for {type(store).__name__}")


class SQLiteCheckins:
    # Uses the store's own connection and write lock: one aiosqlite connection per file.
    def __init__(self, store: Any) -> None:
        self._store = store

    async def subscribe(self, c: Checkin) -> None:
        async with self._store._transaction():
            await self._store._conn.execute(
                """INSERT INTO checkins (user_id, chat_id, minute, zone, language, due_at, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(user_id) DO UPDATE SET chat_id = excluded.chat_id, minute = excluded.minute,
                       zone = excluded.zone, language = excluded.language, due_at = excluded.due_at,
                       claimed_by = NULL, claimed_until = NULL""",
                (c.user_id, c.chat_id, c.minute, c.zone, c.language, c.due_at, time.time()))

    async def get(self, user_id: int) -> Checkin | None:
        async with self._store._lock, self._store._conn.execute(
                f"SELECT {_COLUMNS} FROM checkins WHERE user_id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else _checkin(row)

    async def unsubscribe(self, user_id: int) -> bool:
        async with self._store._transaction():
            cur = await self._store._conn.execute("DELETE FROM checkins WHERE user_id = ?", (user_id,))
            return cur.rowcount == 1

    async def claim(self, replica: str, now: float, lease_s: float, limit: int) -> list[Checkin]:
        async with self._store._transaction():
            async with self._store._conn.execute(
                    f"""UPDATE checkins SET claimed_by = ?, claimed_until = ?
                        WHERE user_id IN (SELECT user_id FROM checkins WHERE due_at <= ?
                                          AND (claimed_until IS NULL OR claimed_until < ?)
                                          ORDER BY due_at LIMIT ?)
                        RETURNING {_COLUMNS}""", (replica, now + lease_s, now, now, limit)) as cur:
                rows = await cur.fetchall()
        return sorted((_checkin(r) for r in rows), key=lambda c: c.due_at)

    async def done(self, c: Checkin, replica: str, next_due: float, sent_at: float) -> bool:
        async with self._store._transaction():
            cur = await self._store._conn.execute(
                """UPDATE checkins SET due_at = ?, sent_at = ?, claimed_by = NULL, claimed_until = NULL
                   WHERE user_id = ? AND claimed_by = ? AND due_at = ?""",
                (next_due, sent_at, c.user_id, replica, c.due_at))
            return cur.rowcount == 1

    async def release(self, c: Checkin, replica: str) -> None:
        async with self._store._transaction():
            await self._store._conn.execute(
                "UPDATE checkins SET claimed_by = NULL, claimed_until = NULL WHERE user_id = ? AND claimed_by = ?",
                (c.user_id, replica))

    async def count(self) -> int:
        async with self._store._lock:
            return await self._store._scalar("SELECT COUNT(*) FROM checkins")


class PostgresCheckins:
    # Uses the store's pool: the same database, transactions and timeouts as the history.
    def __init__(self, store: Any) -> None:
        self._pool = store._pool

    async def subscribe(self, c: Checkin) -> None:
        await self._pool.execute(
            """INSERT INTO checkins (user_id, chat_id, minute, zone, language, due_at, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (user_id) DO UPDATE SET chat_id = EXCLUDED.chat_id, minute = EXCLUDED.minute,
                   zone = EXCLUDED.zone, language = EXCLUDED.language, due_at = EXCLUDED.due_at,
                   claimed_by = NULL, claimed_until = NULL""",
            c.user_id, c.chat_id, c.minute, c.zone, c.language, c.due_at, time.time())

    async def get(self, user_id: int) -> Checkin | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM checkins WHERE user_id = $1", user_id)
        return None if row is None else _checkin(row)

    async def unsubscribe(self, user_id: int) -> bool:
        status = await self._pool.execute("DELETE FROM checkins WHERE user_id = $1", user_id)
        return status.endswith(" 1")

    async def claim(self, replica: str, now: float, lease_s: float, limit: int) -> list[Checkin]:
        # SKIP LOCKED: a replica claiming at the same moment takes other rows, never these.
        rows = await self._pool.fetch(
            f"""UPDATE checkins SET claimed_by = $1, claimed_until = $2
                WHERE user_id IN (SELECT user_id FROM checkins WHERE due_at <= $3
                                  AND (claimed_until IS NULL OR claimed_until < $3)
                                  ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
                  AND due_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)
                RETURNING {_COLUMNS}""", replica, now + lease_s, now, limit)
        return sorted((_checkin(r) for r in rows), key=lambda c: c.due_at)

    async def done(self, c: Checkin, replica: str, next_due: float, sent_at: float) -> bool:
        status = await self._pool.execute(
            """UPDATE checkins SET due_at = $1, sent_at = $2, claimed_by = NULL, claimed_until = NULL
               WHERE user_id = $3 AND claimed_by = $4 AND due_at = $5""",
            next_due, sent_at, c.user_id, replica, c.due_at)
        return status.endswith(" 1")

    async def release(self, c: Checkin, replica: str) -> None:
        await self._pool.execute(
            "UPDATE checkins SET claimed_by = NULL, claimed_until = NULL WHERE user_id = $1 AND claimed_by = $2",
            c.user_id, replica)

    async def count(self) -> int:
        return int(await self._pool.fetchval("SELECT COUNT(*) FROM checkins"))
