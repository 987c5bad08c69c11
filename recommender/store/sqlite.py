"""The history in SQLite through aiosqlite: the embedded default `HistoryStore`.

Safety choices, each for a reason:
- WAL journal + synchronous=FULL: a song is committed durably *before* the reply that shows
  it is sent, so a crash (even kill -9 or power loss) never forgets a song the user saw.
- Every write is one explicit transaction, serialised by an asyncio lock because one
  aiosqlite connection is shared by concurrent handlers (their statements would interleave). A
  selfie answered with a song is one of them (the reading and the song: one commit, one fsync).
- Each statement is a trip to aiosqlite's thread (a queue put, a thread wake-up, a loop wake-up),
  so the photo path asks in few: its settings in one query, the user's songs once a transaction.
- The schema version lives in `PRAGMA user_version`; MIGRATIONS upgrade old files in place.
- History is bounded per user (oldest rows dropped: songs, readings and choices) so a heavy
  user cannot grow the file without limit.
- /forget wins: it leaves a timestamp in `meta`, and a write for that user from a request that
  began before it is dropped; secure_delete zeroes the deleted rows and a checkpoint then empties
  the WAL, so forgotten scores do not linger in either file.
- The file (and so its -wal and -shm, which SQLite creates with the same mode) is 0600.
- A file is opened only if it has every table and column this bot's schema version says it
  has (`schema_problem`): a file that claims a version it does not have is refused at start.
- A file that is not ours (another application's database, garbage, a newer schema) is refused
  before anything is written to it, WAL switch included, with one line naming the path and the
  fix; the file opened is remembered (device + inode) so a deletion or replacement while the bot
  runs is noticed instead of served into.
Only Telegram user ids, track ids, moods and timestamps are stored; never images.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite

from ..types import Served
from .base import (FORGET_WINDOW_S, FieldStats, MoodMark, Reading, SongServed, UserSettings, decode_scores,
                   encode_scores, forget_key, forgotten_during, settings_from_rows)
from .checkins import CHECKINS_TABLE_SQLITE

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
    (
        # v4: update ids already taken, so a delivery repeated by Telegram is handled once.
        "CREATE TABLE updates_seen (update_id INTEGER PRIMARY KEY, seen_at REAL NOT NULL)",
    ),
    (
        # v5: moods answered (selfie scores, never photos) and the moods users chose for them.
        """CREATE TABLE readings (
               id      INTEGER PRIMARY KEY AUTOINCREMENT,
               user_id INTEGER NOT NULL,
               at      REAL    NOT NULL,
               source  TEXT    NOT NULL,
               mood    TEXT    NOT NULL,
               scores  TEXT
           )""",
        "CREATE INDEX readings_by_user ON readings (user_id, id)",
        """CREATE TABLE choices (
               id         INTEGER PRIMARY KEY AUTOINCREMENT,
               reading_id INTEGER NOT NULL REFERENCES readings (id) ON DELETE CASCADE,
               user_id    INTEGER NOT NULL,
               mood       TEXT    NOT NULL,
               at         REAL    NOT NULL
           )""",
        "CREATE INDEX choices_by_reading ON choices (reading_id)",
        "CREATE INDEX choices_by_user ON choices (user_id)",
    ),
    (
        # v6: the language a user chose with /language (NULL: follow their Telegram language).
        "ALTER TABLE user_settings ADD COLUMN language TEXT",
    ),
    (
        # v7: the opt-in to explicit and dark songs in happy and lift mode (/settings).
        "ALTER TABLE user_settings ADD COLUMN mature INTEGER NOT NULL DEFAULT 0",
    ),
    (
        # v8: the opt-in daily check-in (recommender/store/checkins.py).
        CHECKINS_TABLE_SQLITE,
        "CREATE INDEX checkins_due ON checkins (due_at)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
OUR_TABLES = frozenset({"served", "user_settings", "meta", "updates_seen", "readings", "choices", "checkins"})
SEEN_KEPT = 100_000  # update ids remembered; Telegram resends within hours, ids only grow


class DatabaseUnusable(RuntimeError):
    """The database cannot be used; the message is one line naming the path and the fix."""


class SchemaTooNew(DatabaseUnusable):
    """The file was written by a newer version of the bot; refuse rather than corrupt it."""


def _unusable(path: Path, exc: sqlite3.Error) -> DatabaseUnusable:
    """A start-up failure from SQLite as one line a person can act on."""
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text:
        return DatabaseUnusable(f"{path} is not a SQLite database or is damaged: move it away (the bot "
                                "creates a new one) or point DATABASE_PATH at the right file")
    if "readonly" in text or "read-only" in text:
        return DatabaseUnusable(f"{path} is read-only for this user: make the file and its directory "
                                f"{path.parent} writable (SQLite also writes {path.name}-wal and -shm there)")
    if "unable to open" in text:
        return DatabaseUnusable(f"cannot open or create {path}: make the directory {path.parent} writable "
                                "for this user, or set DATABASE_PATH to a writable place")
    if "disk i/o" in text or "full" in text:
        return DatabaseUnusable(f"cannot write {path} ({exc}): the volume is full or failing; free space "
                                "or move DATABASE_PATH")
    if "locked" in text:
        return DatabaseUnusable(f"{path} is locked by another process: stop the other bot using it")
    return DatabaseUnusable(f"cannot use the database {path}: {exc}")


def file_identity(path: Path | str) -> str | None:
    """Which file is at `path` (device and inode), or None if there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{st.st_dev}:{st.st_ino}"


class SQLiteHistoryStore:
    def __init__(self, conn: aiosqlite.Connection, *, max_per_user: int, path: Path | None = None) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.max_per_user = max_per_user
        self.path = path
        self._identity = file_identity(path) if path is not None else None

    @classmethod
    async def open(cls, path: Path | str, *, max_per_user: int = DEFAULT_MAX_PER_USER) -> SQLiteHistoryStore:
        """Open (or create) the history; raises DatabaseUnusable with a one-line reason."""
        path = Path(path)
        on_disk = str(path) != ":memory:"
        if on_disk:
            _preflight(path)
        try:
            # isolation_level=None: no implicit transactions; we open them explicitly.
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            raise _unusable(path, exc) from None
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA secure_delete = ON")  # deleted rows are zeroed, not just unlinked
            store = cls(conn, max_per_user=max_per_user, path=path if on_disk else None)
            await store._migrate()
        except sqlite3.Error as exc:
            await conn.close()
            raise _unusable(path, exc) from None
        except BaseException:
            await conn.close()
            raise
        return store

    def file_problem(self) -> str | None:
        """Why the file at the store's path is no longer the one it writes to, or None."""
        if self.path is None or self._identity is None:
            return None
        now = file_identity(self.path)
        if now == self._identity:
            return None
        what = "deleted" if now is None else "replaced by another file"
        return (f"database {self.path} was {what} while the bot was running: history written from now "
                "on is lost at the next restart; restart the bot (restore the file first if that was "
                "not meant to happen)")

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

    async def _first(self, sql: str, params: tuple = ()) -> Any:
        """The first row or None, in one trip to aiosqlite's thread (execute + fetch + close are
        three, each a thread hand-off and an event-loop wake-up: ~20 a photo before)."""
        rows = await self._conn.execute_fetchall(sql, params)
        return rows[0] if rows else None

    async def _scalar(self, sql: str, params: tuple = ()) -> int:
        row = await self._first(sql, params)
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
        return [Served(track_id=r[0], cycle=int(r[1])) for r in await self._conn.execute_fetchall(sql, params)]

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
            yield _UserHistory(self, user_id, writable=not await self._forgotten(user_id))

    async def _forgotten(self, user_id: int) -> bool:
        """Inside a transaction: whether the user used /forget after the current request began."""
        row = await self._first("SELECT value FROM meta WHERE key = ?", (forget_key(user_id),))
        return forgotten_during(row[0] if row else None)

    async def _history(self, user_id: int) -> list[tuple[str, Served]]:
        """Inside a transaction: the user's servings with their moods, oldest first, in one trip."""
        rows = await self._conn.execute_fetchall(
            "SELECT mood, track_id, cycle FROM served WHERE user_id = ? ORDER BY id", (user_id,))
        return [(str(m), Served(track_id=t, cycle=int(c))) for m, t, c in rows]

    async def _insert(self, user_id: int, mood: str, track_id: str, cycle: int, *, bound: bool = True) -> None:
        await self._conn.execute(
            "INSERT INTO served (user_id, mood, track_id, cycle, served_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, mood, track_id, cycle, time.time()))
        if bound:  # keep only the newest max_per_user rows of this user
            await self._conn.execute(
                """DELETE FROM served WHERE user_id = ? AND id <= (
                       SELECT id FROM served WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)""",
                (user_id, user_id, self.max_per_user))

    async def _insert_reading(self, user_id: int, source: str, mood: str, scores: tuple[float, ...] | None) -> int:
        cur = await self._conn.execute(
            "INSERT INTO readings (user_id, at, source, mood, scores) VALUES (?, ?, ?, ?, ?)",
            (user_id, time.time(), source, mood, encode_scores(scores)))
        await self._conn.execute(
            """DELETE FROM readings WHERE user_id = ? AND id <= (
                   SELECT id FROM readings WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)""",
            (user_id, user_id, self.max_per_user))
        return int(cur.lastrowid or 0)

    async def forget(self, user_id: int) -> int:
        """Delete everything stored about the user; returns how many songs were forgotten."""
        now = time.time()
        async with self._transaction():
            cur = await self._conn.execute("DELETE FROM served WHERE user_id = ?", (user_id,))
            deleted = cur.rowcount
            await self._conn.execute("DELETE FROM user_settings WHERE user_id = ?", (user_id,))
            await self._conn.execute("DELETE FROM choices WHERE user_id = ?", (user_id,))
            await self._conn.execute("DELETE FROM readings WHERE user_id = ?", (user_id,))
            await self._conn.execute("DELETE FROM checkins WHERE user_id = ?", (user_id,))
            # Writes from requests already running for this user (see base.REQUEST_STARTED) are dropped.
            await self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (forget_key(user_id), repr(now)))
            await self._conn.execute("DELETE FROM meta WHERE key LIKE 'forgot:%' AND CAST(value AS REAL) < ?",
                                     (now - FORGET_WINDOW_S,))
        async with self._lock:  # the deleted rows' old pages leave the WAL too
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return max(deleted, 0)

    async def add_reading(self, user_id: int, source: str, mood: str,
                          scores: tuple[float, ...] | None = None) -> int:
        async with self.user(user_id) as history:
            return await history.add_reading(source, mood, scores)

    async def reading(self, user_id: int, reading_id: int) -> Reading | None:
        async with self._lock:
            row = await self._first(
                "SELECT id, at, source, mood, scores FROM readings WHERE id = ? AND user_id = ?",
                (reading_id, user_id))
        if row is None:
            return None
        return Reading(int(row[0]), float(row[1]), str(row[2]), str(row[3]), decode_scores(row[4]))

    async def add_choice(self, user_id: int, reading_id: int, mood: str) -> bool:
        async with self._transaction():
            if await self._forgotten(user_id):
                return False
            cur = await self._conn.execute(
                """INSERT INTO choices (reading_id, user_id, mood, at)
                   SELECT id, user_id, ?, ? FROM readings WHERE id = ? AND user_id = ?
                   AND NOT EXISTS (SELECT 1 FROM choices WHERE reading_id = ?)""",
                (mood, time.time(), reading_id, user_id, reading_id))
            if cur.rowcount != 1:
                return False
            # Bounded like the rest: presses replayed forever keep only the newest rows.
            await self._conn.execute(
                """DELETE FROM choices WHERE user_id = ? AND id <= (
                       SELECT id FROM choices WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)""",
                (user_id, user_id, self.max_per_user))
            return True

    async def settings(self, user_id: int, *, with_choices: bool = False) -> UserSettings:
        sql, params = "SELECT 0, language, lift, mature FROM user_settings WHERE user_id = ?", (user_id,)
        if with_choices:
            sql += """ UNION ALL SELECT 1, c.mood, COUNT(*), 0
                       FROM choices c JOIN readings r ON r.id = c.reading_id
                       WHERE c.user_id = ? AND r.source = 'selfie' GROUP BY c.mood"""
            params = (user_id, user_id)
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, params)
        return settings_from_rows(rows)

    async def chosen_counts(self, user_id: int) -> dict[str, int]:
        async with self._lock:
            rows = await self._conn.execute_fetchall(
                """SELECT c.mood, COUNT(*) FROM choices c JOIN readings r ON r.id = c.reading_id
                   WHERE c.user_id = ? AND r.source = 'selfie' GROUP BY c.mood""", (user_id,))
        return {str(m): int(n) for m, n in rows}

    async def mood_marks(self, user_id: int, since: float) -> list[MoodMark]:
        async with self._lock:
            async with self._conn.execute(
                    """SELECT r.at, r.source, r.mood,
                              (SELECT c.mood FROM choices c WHERE c.reading_id = r.id ORDER BY c.id DESC LIMIT 1)
                       FROM readings r WHERE r.user_id = ? AND r.at >= ? ORDER BY r.id""",
                    (user_id, since)) as cur:
                rows = await cur.fetchall()
        return [MoodMark(float(at), str(chosen or mood), chosen is not None or source != "selfie")
                for at, source, mood, chosen in rows]

    async def recent_songs(self, user_id: int, limit: int) -> list[SongServed]:
        async with self._lock:
            async with self._conn.execute(
                    "SELECT track_id, mood, served_at FROM served WHERE user_id = ? ORDER BY id DESC LIMIT ?",
                    (user_id, limit)) as cur:
                return [SongServed(str(t), str(m), float(a)) for t, m, a in await cur.fetchall()]

    async def field_stats(self) -> FieldStats:
        async with self._lock:
            selfies = await self._scalar("SELECT COUNT(*) FROM readings WHERE source = 'selfie'")
            async with self._conn.execute(
                    """SELECT r.mood, c.mood, COUNT(*) FROM choices c JOIN readings r ON r.id = c.reading_id
                       WHERE r.source = 'selfie' GROUP BY r.mood, c.mood""") as cur:
                rows = await cur.fetchall()
        return FieldStats(selfies, {(str(d), str(c)): int(n) for d, c, n in rows})

    async def get_lift(self, user_id: int) -> bool:
        async with self._lock:
            return bool(await self._scalar("SELECT lift FROM user_settings WHERE user_id = ?", (user_id,)))

    async def set_lift(self, user_id: int, on: bool) -> None:
        async with self._transaction():
            if await self._forgotten(user_id):
                return
            await self._conn.execute(
                """INSERT INTO user_settings (user_id, lift, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT(user_id) DO UPDATE SET lift = excluded.lift,
                                                      updated_at = excluded.updated_at""",
                (user_id, int(on), time.time()))

    async def get_mature(self, user_id: int) -> bool:
        async with self._lock:
            return bool(await self._scalar("SELECT mature FROM user_settings WHERE user_id = ?", (user_id,)))

    async def set_mature(self, user_id: int, on: bool) -> None:
        async with self._transaction():
            await self._conn.execute(
                """INSERT INTO user_settings (user_id, mature, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT(user_id) DO UPDATE SET mature = excluded.mature,
                                                      updated_at = excluded.updated_at""",
                (user_id, int(on), time.time()))

    async def get_language(self, user_id: int) -> str | None:
        async with self._lock:
            row = await self._first("SELECT language FROM user_settings WHERE user_id = ?", (user_id,))
        return row[0] if row else None

    async def set_language(self, user_id: int, language: str | None) -> None:
        async with self._transaction():
            if await self._forgotten(user_id):
                return
            await self._conn.execute(
                """INSERT INTO user_settings (user_id, language, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT(user_id) DO UPDATE SET language = excluded.language,
                                                      updated_at = excluded.updated_at""",
                (user_id, language, time.time()))

    async def claim_update(self, update_id: int) -> bool:
        """True the first time an update id is claimed, False for a repeated delivery."""
        async with self._transaction():
            cur = await self._conn.execute(
                "INSERT INTO updates_seen (update_id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (update_id, time.time()))
            if cur.rowcount:
                await self._conn.execute("DELETE FROM updates_seen WHERE update_id < ?", (update_id - SEEN_KEPT,))
            return cur.rowcount == 1

    async def heartbeat(self, now: float | None = None, replica: str = "") -> None:
        """Record that the bot is alive (read by `python -m bot --health`); one process per file,
        so `replica` is not needed to tell beats apart."""
        async with self._transaction():
            for key, value in (("heartbeat", repr(time.time() if now is None else now)),
                               ("heartbeat_file", self._identity or "")):
                await self._conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    async def stopped(self, replica: str = "") -> None:
        """Remove the heartbeat at a clean stop, so nothing mistakes this file for one in use."""
        async with self._transaction():
            await self._conn.execute("DELETE FROM meta WHERE key IN ('heartbeat', 'heartbeat_file')")


@functools.cache
def expected_schema(version: int) -> dict[str, frozenset[str]]:
    """Every table and its columns as MIGRATIONS[:version] leave them (built in memory once)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        for step in MIGRATIONS[:version]:
            for statement in step:
                db.execute(statement)
        return _schema(db)


def _schema(db: sqlite3.Connection) -> dict[str, frozenset[str]]:
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: frozenset(r[1] for r in db.execute(f'PRAGMA table_info("{t}")')) for t in tables}


def schema_problem(db: sqlite3.Connection) -> str | None:
    """Why the file behind `db` is not a history this bot can read and migrate, or None: its
    version must be one the bot knows (1..SCHEMA_VERSION), with every table and column that version
    has, and no tables of another application. Read-only."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    found = _schema(db)
    if version > SCHEMA_VERSION:
        return f"schema v{version} is newer than this bot's v{SCHEMA_VERSION}"
    if version < 1:
        return (f"schema v{version} is no version of this bot's history "
                f"(tables: {', '.join(sorted(found)[:5]) or 'none'})")
    foreign = sorted(set(found) - OUR_TABLES)
    if foreign:
        return f"it has tables this bot does not use ({', '.join(foreign[:5])})"
    for table, columns in expected_schema(version).items():
        if table not in found:
            return f"schema v{version} lacks the table {table}"
        missing = sorted(columns - found[table])
        if missing:
            return f"schema v{version} lacks {table} column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
    return None


def _private(path: Path) -> None:
    """Create the file 0600 if it is new (SQLite gives -wal and -shm the same mode); tighten a
    wider one: the history says who listened to what."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            with contextlib.suppress(OSError):  # not ours to change (another owner): leave it
                mode = file.stat().st_mode & 0o777
                if mode & 0o077:
                    file.chmod(mode & 0o700)
        return
    except OSError:
        return  # sqlite3 below reports it as one line
    os.close(fd)


def _preflight(path: Path) -> None:
    """Check, read-only, that `path` can hold this bot's history, creating the directory (and an
    empty 0600 file) as the bot would; raises DatabaseUnusable naming the path and the fix.

    It runs before the WAL switch (which alone rewrites a file) and with plain sqlite3, so that a
    refused file is left exactly as it was."""
    if path.is_dir():
        raise DatabaseUnusable(f"DATABASE_PATH {path} is a directory: point it at a file, "
                               f"e.g. {path / 'mood.sqlite3'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnusable(
            f"cannot create the directory {path.parent} for {path.name} ({exc.strerror}): create it "
            "writable for this user, or set DATABASE_PATH to a writable place") from None
    _private(path)
    try:
        with contextlib.closing(sqlite3.connect(str(path))) as db:
            tables = {row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if not tables and version == 0:
                return  # a new, empty file
            problem = schema_problem(db)
    except sqlite3.Error as exc:
        raise _unusable(path, exc) from None
    if version > SCHEMA_VERSION and ("served" in tables or not tables):
        raise SchemaTooNew(f"{path} has schema v{version}, newer than this bot's v{SCHEMA_VERSION}: "
                           "run the newer bot version, or point DATABASE_PATH at another file")
    if "served" not in tables or version == 0 or (version <= SCHEMA_VERSION and tables - OUR_TABLES):
        raise DatabaseUnusable(f"{path} belongs to another application (tables: "
                               f"{', '.join(sorted(tables)[:5]) or 'none'}); it was left untouched: point "
                               "DATABASE_PATH at a file of its own")
    if problem is not None:
        raise DatabaseUnusable(f"{path} is not a history this bot can use: {problem}; it was left untouched: "
                               "restore a backup (python -m bot.backup --restore) or point DATABASE_PATH "
                               "at another file")


def read_heartbeat(path: Path | str) -> float | None:
    """The last heartbeat in the file (seconds since the epoch), or None; read-only, synchronous.

    None too when the heartbeat was written to another file than the one now at `path` (the
    database was replaced while the bot kept writing to the old one)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)) as db:
            rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('heartbeat', 'heartbeat_file')"))
    except sqlite3.Error:
        return None
    if "heartbeat" not in rows:
        return None
    written_to = rows.get("heartbeat_file")
    if written_to and written_to != file_identity(path):
        return None
    return float(rows["heartbeat"])


class _UserHistory:
    def __init__(self, store: SQLiteHistoryStore, user_id: int, *, writable: bool = True) -> None:
        self._store = store
        self._user_id = user_id
        self._writable = writable  # False: the user used /forget while this request ran
        self._songs: list[tuple[str, Served]] | None = None  # (mood, serving): read once, then kept

    async def served(self, mood: str | None = None) -> list[Served]:
        if self._songs is None:  # nobody else writes this user's songs until the block ends
            self._songs = await self._store._history(self._user_id)
        return [s for m, s in self._songs if mood is None or m == mood]

    async def append(self, mood: str, track_id: str, cycle: int) -> None:
        if not self._writable:
            return
        # Below the bound (known from this block's read) there is nothing old to delete.
        room = self._songs is not None and len(self._songs) < self._store.max_per_user
        await self._store._insert(self._user_id, mood, track_id, cycle, bound=not room)
        if self._songs is not None and room:
            self._songs.append((mood, Served(track_id=track_id, cycle=cycle)))
        else:
            self._songs = None

    async def add_reading(self, source: str, mood: str, scores: tuple[float, ...] | None = None) -> int:
        if not self._writable:
            return 0  # forgotten meanwhile: no reading (its buttons answer as for a forgotten one)
        return await self._store._insert_reading(self._user_id, source, mood, scores)
