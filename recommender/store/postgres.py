"""The history in PostgreSQL through asyncpg: the `HistoryStore` for several bot replicas.

Same guarantees as SQLite, held by the database rather than by one process:
- `user(user_id)` is a transaction that first takes a transaction-scoped advisory lock on the
  user id, so two replicas serving one user at the same moment queue instead of both choosing
  the same song; the song's row commits before the block exits (synchronous commit), with the
  reading of a selfie answered by it (one commit).
- The schema is versioned in `mml_schema` and MIGRATIONS upgrade it in place, under a lock, so
  replicas starting together migrate once.
- History is bounded per user, as in SQLite.
- /forget wins across replicas: it takes the user's advisory lock and leaves a timestamp in
  `meta`; every write for a user takes that lock and is dropped when the user used /forget after
  the request writing began (base.REQUEST_STARTED; replica clocks are assumed NTP-synchronised).
- `open(read_only=True)` (stats, --health) creates and migrates nothing, in a read-only session.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterable

import asyncpg

from ..types import Served
from .base import (FORGET_WINDOW_S, FieldStats, MoodMark, Reading, SongServed, UserSettings, decode_scores,
                   encode_scores, forget_key, forgotten_during, settings_from_rows)
from .checkins import CHECKINS_TABLE_POSTGRES
from .sqlite import DEFAULT_MAX_PER_USER, DatabaseUnusable, SchemaTooNew

# Index i upgrades the schema from version i to i + 1. Append only; never edit a shipped step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE served (
               id        BIGSERIAL PRIMARY KEY,
               user_id   BIGINT  NOT NULL,
               mood      TEXT    NOT NULL,
               track_id  TEXT    NOT NULL,
               cycle     INTEGER NOT NULL DEFAULT 0,
               served_at DOUBLE PRECISION NOT NULL
           )""",
        "CREATE INDEX served_by_user ON served (user_id, mood, id)",
        """CREATE TABLE user_settings (
               user_id    BIGINT PRIMARY KEY,
               lift       BOOLEAN NOT NULL DEFAULT FALSE,
               updated_at DOUBLE PRECISION NOT NULL
           )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (
        # v2: update ids already taken by any replica, so a repeated delivery is handled once.
        "CREATE TABLE updates_seen (update_id BIGINT PRIMARY KEY, seen_at DOUBLE PRECISION NOT NULL)",
    ),
    (
        # v3: moods answered (selfie scores, never photos) and the moods users chose for them.
        """CREATE TABLE readings (
               id      BIGSERIAL PRIMARY KEY,
               user_id BIGINT NOT NULL,
               at      DOUBLE PRECISION NOT NULL,
               source  TEXT   NOT NULL,
               mood    TEXT   NOT NULL,
               scores  TEXT
           )""",
        "CREATE INDEX readings_by_user ON readings (user_id, id)",
        """CREATE TABLE choices (
               id         BIGSERIAL PRIMARY KEY,
               reading_id BIGINT NOT NULL REFERENCES readings (id) ON DELETE CASCADE,
               user_id    BIGINT NOT NULL,
               mood       TEXT   NOT NULL,
               at         DOUBLE PRECISION NOT NULL
           )""",
        "CREATE INDEX choices_by_reading ON choices (reading_id)",
        "CREATE INDEX choices_by_user ON choices (user_id)",
    ),
    (
        # v4: the language a user chose with /language (NULL: follow their Telegram language).
        "ALTER TABLE user_settings ADD COLUMN language TEXT",
    ),
    (
        # v5: the opt-in to explicit and dark songs in happy and lift mode (/settings).
        "ALTER TABLE user_settings ADD COLUMN mature BOOLEAN NOT NULL DEFAULT FALSE",
    ),
    (
        # v6: the opt-in daily check-in (recommender/store/checkins.py).
        CHECKINS_TABLE_POSTGRES,
        "CREATE INDEX checkins_due ON checkins (due_at)",
    ),
)
SEEN_KEPT = 100_000
SCHEMA_VERSION = len(MIGRATIONS)
_MIGRATION_LOCK = 0x6D6D6C00  # advisory lock id for migrations ("mml\0")


def where(url: str) -> str:
    """host:port/database of a PostgreSQL URL, without the credentials."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:  # a raw password with '/' or '#' splits the URL there: never echo it
        return "<an unparsable DATABASE_URL>"
    return f"{parts.hostname}:{port}{parts.path}"


class PostgresHistoryStore:
    def __init__(self, pool: asyncpg.Pool, *, max_per_user: int) -> None:
        self._pool = pool
        self.max_per_user = max_per_user

    @classmethod
    async def open(cls, url: str, *, max_per_user: int = DEFAULT_MAX_PER_USER, max_connections: int = 10,
                   timeout: float = 10.0, read_only: bool = False) -> PostgresHistoryStore:
        """Connect and migrate; with `read_only`, only read an existing history (nothing created)."""
        settings = {"default_transaction_read_only": "on"} if read_only else None
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=max_connections, timeout=timeout,
                                             command_timeout=timeout, server_settings=settings)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnusable(f"cannot connect to PostgreSQL at {where(url)} ({type(exc).__name__}: "
                                   f"{exc}): check DATABASE_URL and that the server is running") from None
        store = cls(pool, max_per_user=max_per_user)
        try:
            if read_only:
                await store._require_history(where(url))
            else:
                await store._migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    async def _require_history(self, place: str) -> None:
        if await self._pool.fetchval("SELECT to_regclass('mml_schema') IS NULL"):
            raise DatabaseUnusable(f"no Music Mood Lifter history at {place} (nothing was created there): "
                                   "check DATABASE_URL")

    async def _migrate(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS mml_schema (version INTEGER NOT NULL)")
            version = await conn.fetchval("SELECT version FROM mml_schema")
            if version is None:
                await conn.execute("INSERT INTO mml_schema (version) VALUES (0)")
                version = 0
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(f"database schema v{version} is newer than this bot's v{SCHEMA_VERSION}")
            for step in MIGRATIONS[version:]:
                for statement in step:
                    await conn.execute(statement)
            await conn.execute("UPDATE mml_schema SET version = $1", SCHEMA_VERSION)

    async def ping(self) -> None:
        """Raises when the database cannot be reached."""
        await self._pool.fetchval("SELECT 1")

    async def schema_version(self) -> int:
        return int(await self._pool.fetchval("SELECT version FROM mml_schema"))

    @contextlib.asynccontextmanager
    async def user(self, user_id: int) -> AsyncIterator[_UserHistory]:
        async with self._locked(user_id) as (conn, forgotten):
            yield _UserHistory(conn, user_id, self.max_per_user, writable=not forgotten)

    @contextlib.asynccontextmanager
    async def _locked(self, user_id: int) -> AsyncIterator[tuple[asyncpg.Connection, bool]]:
        """A transaction holding the user's advisory lock (so a forget on another replica is wholly
        before or after it), and whether the user used /forget after the current request began."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", user_id)
            forgot_at = await conn.fetchval("SELECT value FROM meta WHERE key = $1", forget_key(user_id))
            yield conn, forgotten_during(forgot_at)

    async def served(self, user_id: int, mood: str | None = None) -> list[Served]:
        async with self._pool.acquire() as conn:
            return await _served(conn, user_id, mood)

    async def forget(self, user_id: int) -> int:
        now = time.time()
        async with self._locked(user_id) as (conn, _):
            status = await conn.execute("DELETE FROM served WHERE user_id = $1", user_id)
            await conn.execute("DELETE FROM user_settings WHERE user_id = $1", user_id)
            await conn.execute("DELETE FROM choices WHERE user_id = $1", user_id)
            await conn.execute("DELETE FROM readings WHERE user_id = $1", user_id)
            await conn.execute("DELETE FROM checkins WHERE user_id = $1", user_id)
            # Writes from requests already running for this user, on any replica, are dropped.
            await conn.execute("""INSERT INTO meta (key, value) VALUES ($1, $2)
                                  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""",
                               forget_key(user_id), repr(now))
            await conn.execute("DELETE FROM meta WHERE key LIKE 'forgot:%' AND value::float8 < $1",
                               now - FORGET_WINDOW_S)
        return int(status.split()[-1])

    async def add_reading(self, user_id: int, source: str, mood: str,
                          scores: tuple[float, ...] | None = None) -> int:
        async with self.user(user_id) as history:
            return await history.add_reading(source, mood, scores)

    async def reading(self, user_id: int, reading_id: int) -> Reading | None:
        row = await self._pool.fetchrow(
            "SELECT id, at, source, mood, scores FROM readings WHERE id = $1 AND user_id = $2", reading_id, user_id)
        if row is None:
            return None
        return Reading(int(row["id"]), float(row["at"]), row["source"], row["mood"], decode_scores(row["scores"]))

    async def add_choice(self, user_id: int, reading_id: int, mood: str) -> bool:
        async with self._locked(user_id) as (conn, forgotten):
            if forgotten:
                return False
            status = await conn.execute(
                """INSERT INTO choices (reading_id, user_id, mood, at)
                   SELECT id, user_id, $1, $2 FROM readings WHERE id = $3 AND user_id = $4
                   AND NOT EXISTS (SELECT 1 FROM choices WHERE reading_id = $3)""",
                mood, time.time(), reading_id, user_id)
            if not status.endswith(" 1"):
                return False
            # Bounded like the rest: presses replayed forever keep only the newest rows.
            await conn.execute(
                """DELETE FROM choices WHERE user_id = $1 AND id <= (
                       SELECT id FROM choices WHERE user_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)""",
                user_id, self.max_per_user)
            return True

    async def settings(self, user_id: int, *, with_choices: bool = False) -> UserSettings:
        sql = "SELECT 0, language, lift::int, mature::int FROM user_settings WHERE user_id = $1"
        if with_choices:
            sql += """ UNION ALL SELECT 1, c.mood, COUNT(*)::int, 0
                       FROM choices c JOIN readings r ON r.id = c.reading_id
                       WHERE c.user_id = $1 AND r.source = 'selfie' GROUP BY c.mood"""
        return settings_from_rows(await self._pool.fetch(sql, user_id))

    async def chosen_counts(self, user_id: int) -> dict[str, int]:
        rows = await self._pool.fetch(
            """SELECT c.mood, COUNT(*) AS n FROM choices c JOIN readings r ON r.id = c.reading_id
               WHERE c.user_id = $1 AND r.source = 'selfie' GROUP BY c.mood""", user_id)
        return {r["mood"]: int(r["n"]) for r in rows}

    async def mood_marks(self, user_id: int, since: float) -> list[MoodMark]:
        rows = await self._pool.fetch(
            """SELECT r.at, r.source, r.mood,
                      (SELECT c.mood FROM choices c WHERE c.reading_id = r.id ORDER BY c.id DESC LIMIT 1) AS chosen
               FROM readings r WHERE r.user_id = $1 AND r.at >= $2 ORDER BY r.id""", user_id, since)
        return [MoodMark(float(r["at"]), r["chosen"] or r["mood"], r["chosen"] is not None or r["source"] != "selfie")
                for r in rows]

    async def recent_songs(self, user_id: int, limit: int) -> list[SongServed]:
        rows = await self._pool.fetch(
            "SELECT track_id, mood, served_at FROM served WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
            user_id, limit)
        return [SongServed(r["track_id"], r["mood"], float(r["served_at"])) for r in rows]

    async def field_stats(self) -> FieldStats:
        async with self._pool.acquire() as conn:
            selfies = await conn.fetchval("SELECT COUNT(*) FROM readings WHERE source = 'selfie'")
            rows = await conn.fetch(
                """SELECT r.mood AS detected, c.mood AS chosen, COUNT(*) AS n
                   FROM choices c JOIN readings r ON r.id = c.reading_id
                   WHERE r.source = 'selfie' GROUP BY r.mood, c.mood""")
        return FieldStats(int(selfies), {(r["detected"], r["chosen"]): int(r["n"]) for r in rows})

    async def get_lift(self, user_id: int) -> bool:
        return bool(await self._pool.fetchval("SELECT lift FROM user_settings WHERE user_id = $1", user_id))

    async def set_lift(self, user_id: int, on: bool) -> None:
        async with self._locked(user_id) as (conn, forgotten):
            if not forgotten:
                await conn.execute(
                    """INSERT INTO user_settings (user_id, lift, updated_at) VALUES ($1, $2, $3)
                       ON CONFLICT (user_id) DO UPDATE SET lift = EXCLUDED.lift, updated_at = EXCLUDED.updated_at""",
                    user_id, on, time.time())

    async def get_mature(self, user_id: int) -> bool:
        return bool(await self._pool.fetchval("SELECT mature FROM user_settings WHERE user_id = $1", user_id))

    async def set_mature(self, user_id: int, on: bool) -> None:
        await self._pool.execute(
            """INSERT INTO user_settings (user_id, mature, updated_at) VALUES ($1, $2, $3)
               ON CONFLICT (user_id) DO UPDATE SET mature = EXCLUDED.mature, updated_at = EXCLUDED.updated_at""",
            user_id, on, time.time())

    async def get_language(self, user_id: int) -> str | None:
        return await self._pool.fetchval("SELECT language FROM user_settings WHERE user_id = $1", user_id)

    async def set_language(self, user_id: int, language: str | None) -> None:
        async with self._locked(user_id) as (conn, forgotten):
            if not forgotten:
                await conn.execute(
                    """INSERT INTO user_settings (user_id, language, updated_at) VALUES ($1, $2, $3)
                       ON CONFLICT (user_id) DO UPDATE SET language = EXCLUDED.language,
                                                           updated_at = EXCLUDED.updated_at""",
                    user_id, language, time.time())

    async def claim_update(self, update_id: int) -> bool:
        """True the first time any replica claims an update id, False for a repeated delivery."""
        async with self._pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "INSERT INTO updates_seen (update_id, seen_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                update_id, time.time())
            claimed = status.endswith(" 1")
            if claimed:
                await conn.execute("DELETE FROM updates_seen WHERE update_id < $1", update_id - SEEN_KEPT)
        return claimed

    async def heartbeat(self, now: float | None = None, replica: str = "") -> None:
        """Record that this replica is alive; each replica has its own beat."""
        await self._pool.execute(
            """INSERT INTO meta (key, value) VALUES ($1, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""",
            f"heartbeat:{replica}", repr(time.time() if now is None else now))

    async def stopped(self, replica: str = "") -> None:
        """Remove this replica's heartbeat at a clean stop (the others keep theirs)."""
        await self._pool.execute("DELETE FROM meta WHERE key = $1", f"heartbeat:{replica}")

    async def import_history(self, songs: Iterable[tuple], settings: Iterable[tuple],
                             readings: Iterable[tuple] = (), choices: Iterable[tuple] = ()) -> None:
        """Load another store's rows in one transaction: songs as (user_id, mood, track_id, cycle,
        served_at), settings as (user_id, lift, updated_at, language[, mature]), readings as (id, user_id, at, source,
        mood, scores) and choices as (id, reading_id, user_id, mood, at); reading ids are kept, so
        buttons already sent keep working. Any iterables: rows are streamed, never all held at once.
        Refuses a store that has history."""
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM served) OR EXISTS (SELECT 1 FROM user_settings)"
                                   " OR EXISTS (SELECT 1 FROM readings)"):
                raise ValueError("the PostgreSQL history is not empty: it was migrated already")
            await conn.copy_records_to_table("served", records=songs,
                                             columns=("user_id", "mood", "track_id", "cycle", "served_at"))
            await conn.copy_records_to_table("user_settings",
                                             records=((u, bool(on), t, lang, bool(rest[0]) if rest else False)
                                                      for u, on, t, lang, *rest in settings),
                                             columns=("user_id", "lift", "updated_at", "language", "mature"))
            await conn.copy_records_to_table("readings", records=readings,
                                             columns=("id", "user_id", "at", "source", "mood", "scores"))
            await conn.copy_records_to_table("choices", records=choices,
                                             columns=("id", "reading_id", "user_id", "mood", "at"))
            for table in ("readings", "choices"):  # new rows continue after the copied ids
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"COALESCE(MAX(id), 0) + 1, false) FROM {table}")

    async def read_heartbeat(self, replica: str = "") -> float | None:
        value = await self._pool.fetchval("SELECT value FROM meta WHERE key = $1", f"heartbeat:{replica}")
        return float(value) if value is not None else None


async def _served(conn: asyncpg.Connection, user_id: int, mood: str | None) -> list[Served]:
    if mood is None:
        rows = await conn.fetch("SELECT track_id, cycle FROM served WHERE user_id = $1 ORDER BY id", user_id)
    else:
        rows = await conn.fetch("SELECT track_id, cycle FROM served WHERE user_id = $1 AND mood = $2 ORDER BY id",
                                user_id, mood)
    return [Served(track_id=r["track_id"], cycle=r["cycle"]) for r in rows]


class _UserHistory:
    def __init__(self, conn: asyncpg.Connection, user_id: int, max_per_user: int, *, writable: bool = True) -> None:
        self._conn = conn
        self._user_id = user_id
        self._max = max_per_user
        self._writable = writable  # False: the user used /forget while this request ran
        self._songs: list[tuple[str, Served]] | None = None  # (mood, serving): read once, then kept

    async def served(self, mood: str | None = None) -> list[Served]:
        if self._songs is None:  # every writer of this user's songs waits for the advisory lock
            rows = await self._conn.fetch(
                "SELECT mood, track_id, cycle FROM served WHERE user_id = $1 ORDER BY id", self._user_id)
            self._songs = [(r["mood"], Served(track_id=r["track_id"], cycle=r["cycle"])) for r in rows]
        return [s for m, s in self._songs if mood is None or m == mood]

    async def append(self, mood: str, track_id: str, cycle: int) -> None:
        if not self._writable:
            return
        await self._conn.execute(
            "INSERT INTO served (user_id, mood, track_id, cycle, served_at) VALUES ($1, $2, $3, $4, $5)",
            self._user_id, mood, track_id, cycle, time.time())
        if self._songs is not None and len(self._songs) < self._max:
            # Below the bound (known from this block's read): nothing old to delete.
            self._songs.append((mood, Served(track_id=track_id, cycle=cycle)))
            return
        # Keep only the newest max_per_user rows of this user.
        await self._conn.execute(
            """DELETE FROM served WHERE user_id = $1 AND id <= (
                   SELECT id FROM served WHERE user_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)""",
            self._user_id, self._max)
        self._songs = None

    async def add_reading(self, source: str, mood: str, scores: tuple[float, ...] | None = None) -> int:
        if not self._writable:
            return 0  # forgotten meanwhile: no reading (its buttons answer as for a forgotten one)
        reading_id = await self._conn.fetchval(
            "INSERT INTO readings (user_id, at, source, mood, scores) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            self._user_id, time.time(), source, mood, encode_scores(scores))
        await self._conn.execute(
            """DELETE FROM readings WHERE user_id = $1 AND id <= (
                   SELECT id FROM readings WHERE user_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)""",
            self._user_id, self._max)
        return int(reading_id)
