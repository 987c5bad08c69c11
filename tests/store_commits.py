"""Counting what a history store commits, for the one-commit-a-photo tests.

SQLite traces every statement run on the store's connection (in aiosqlite's thread): each
BEGIN … COMMIT is one transaction, a write outside one (autocommit) another. PostgreSQL counts the
transaction ids it assigned: a transaction gets one at its first write, a read-only one none.
"""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from recommender.store.postgres import PostgresHistoryStore

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class Commits:
    """What the store committed in the block: `count`, and for SQLite each committed transaction's
    statements (`transactions`) and how many statements ran in all (`statements`)."""

    def __init__(self, at_commit: Callable[[], object] | None = None) -> None:
        self.count = 0
        self.statements = 0
        self.transactions: list[list[str]] = []
        self.seen_at_commit: list[object] = []  # what `at_commit` returned as each one committed
        self._at_commit = at_commit
        self._open: list[str] | None = None

    def touching(self, *tables: str) -> list[list[str]]:
        """The committed transactions that wrote to any of `tables`."""
        return [t for t in self.transactions
                if any(s.split()[0].upper() in WRITES and any(f" {table} " in f" {s} " for table in tables)
                       for s in t)]

    def trace(self, sql: str) -> None:  # SQLite's trace callback, in aiosqlite's thread
        self.statements += 1
        head = sql.split(None, 1)[0].upper() if sql.strip() else ""
        if head == "BEGIN":
            self._open = []
        elif head in ("COMMIT", "END") and self._open is not None:
            self._committed(self._open)
            self._open = None
        elif head == "ROLLBACK":
            self._open = None
        elif self._open is not None:
            self._open.append(sql)
        elif head in WRITES:  # autocommit: a transaction of its own
            self._committed([sql])

    def _committed(self, statements: list[str]) -> None:
        self.count += 1
        self.transactions.append(statements)
        if self._at_commit is not None:
            self.seen_at_commit.append(self._at_commit())


async def _assigned_ids(store: PostgresHistoryStore) -> int:
    # The first transaction id not yet assigned; reading it assigns none.
    return int(await store._pool.fetchval("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))


@contextlib.asynccontextmanager
async def counting_commits(store: object, at_commit: Callable[[], object] | None = None) -> AsyncIterator[Commits]:
    """Counts the store's commits in the block (`at_commit`: SQLite only, called at each commit)."""
    commits = Commits(at_commit)
    if isinstance(store, PostgresHistoryStore):
        before = await _assigned_ids(store)
        yield commits
        commits.count = await _assigned_ids(store) - before
        return
    conn = store._conn  # type: ignore[attr-defined]
    await conn.set_trace_callback(commits.trace)
    try:
        yield commits
    finally:
        await conn.set_trace_callback(None)
