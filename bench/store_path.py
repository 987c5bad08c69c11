"""The history store's share of an answered selfie: calls, trips, commits and CPU, per photo.

    python -m bench.store_path [--photos 100] [--repeat 5] [--flow one|two] [--postgres]

Replays the store calls bot/handlers.py makes for a selfie that gets a song, for `--photos`
distinct new users one after another, without Telegram or the models, on a SQLite file in a
temporary directory on /tmp's disk (WAL, synchronous=FULL: the commits fsync as in the bot):

- `--flow one` (the bot now): one read of the user's settings and adaptation counts, then the
  reading and the song in one transaction (`SongService.next(..., settings=, reading=)`).
- `--flow two` (the bot before): /language, the adaptation counts, the reading in its own
  transaction, then `SongService.next` (lift, mature, the song's transaction). It also runs on an
  older checkout (the "before" figures): copy this file there and run it with `--flow two`.

Prints per photo: store calls (methods awaited on the store and on the history it yields), trips
to aiosqlite's thread, commits, and CPU ms: the event loop's thread, aiosqlite's thread, the
whole process (with the kernel's fsync work), the median of `--repeat` timed runs; and the wall
time a photo (mostly fsync waits, which depend on the disk). Counting runs
separately (the counters cost CPU). The song catalog is tests/fixtures/catalog_small.csv so the
song choice itself stays out of the figures. With `--postgres` (needs PostgreSQL's server
binaries) the same on a loopback server: calls, write transactions (transaction ids assigned)
and the event loop's CPU.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from recommender.music.catalog import Catalog
from recommender.music.service import SongService
from recommender.store.sqlite import SQLiteHistoryStore
from recommender.types import MOODS

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "tests" / "fixtures" / "catalog_small.csv"
SCORES = (0.05, 0.01, 0.04, 0.10, 0.60, 0.05, 0.15)
FIRST_USER = 10_000_000


class Counting:
    """A store (or the history it yields) whose awaited methods are counted by name."""

    def __init__(self, inner: Any, calls: Counter, prefix: str = "") -> None:
        self._inner, self._calls, self._prefix = inner, calls, prefix

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[self._prefix + name] += 1
            return attr(*args, **kwargs)
        return counted

    @contextlib.asynccontextmanager
    async def user(self, user_id: int) -> AsyncIterator[Counting]:
        self._calls["user"] += 1
        async with self._inner.user(user_id) as history:
            yield Counting(history, self._calls, "history.")


async def photo(store: Any, songs: SongService, user_id: int, mood: str, flow: str) -> None:
    """The store calls of one answered selfie, as bot/handlers.py makes them."""
    if flow == "one":
        from recommender.store.base import NewReading  # not in older checkouts

        settings = await store.settings(user_id, with_choices=True)  # photo(): language; _decide: counts
        pick = await songs.next(user_id, mood, settings=settings, reading=NewReading("selfie", mood, SCORES))
        assert pick is not None and pick.reading
    else:
        await store.get_language(user_id)  # photo() → _tr
        await store.chosen_counts(user_id)  # _decide
        assert await store.add_reading(user_id, "selfie", mood, SCORES)
        assert await songs.next(user_id, mood) is not None


async def photos(store: Any, catalog: Catalog, n: int, first_user: int, flow: str) -> None:
    songs = SongService(catalog, store)
    for i in range(n):
        await photo(store, songs, first_user + i, MOODS[i % len(MOODS)], flow)


def thread_cpu(thread: threading.Thread) -> float:
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


async def sqlite_figures(args: argparse.Namespace, catalog: Catalog, workdir: Path) -> None:
    import aiosqlite

    store = await SQLiteHistoryStore.open(workdir / "bench.sqlite3")
    users = iter(range(FIRST_USER, 10**12, args.photos))
    try:
        # Counting pass: store calls, trips to aiosqlite's thread, statements run there.
        calls: Counter = Counter()
        statements: list[str] = []
        trips = 0
        real_execute = aiosqlite.Connection._execute

        async def counted_execute(self: Any, fn: Any, *a: Any, **kw: Any) -> Any:
            nonlocal trips
            trips += 1
            return await real_execute(self, fn, *a, **kw)

        await store._conn.set_trace_callback(statements.append)
        aiosqlite.Connection._execute = counted_execute  # type: ignore[method-assign]
        try:
            await photos(Counting(store, calls), catalog, args.photos, next(users), args.flow)
        finally:
            aiosqlite.Connection._execute = real_execute  # type: ignore[method-assign]
            await store._conn.set_trace_callback(None)
        n = args.photos
        commits = sum(s.strip().upper().startswith("COMMIT") for s in statements)
        print(f"SQLite, flow {args.flow}: per photo {sum(calls.values()) / n:g} store calls "
              f"({', '.join(f'{k} {v / n:g}' for k, v in calls.items())}), {trips / n:g} trips to aiosqlite's "
              f"thread, {len(statements) / n:g} statements, {commits / n:g} commits")

        # Timed runs: CPU of the loop's thread, aiosqlite's thread and the process.
        worker = store._conn._thread
        loop_ms, worker_ms, process_ms, wall_ms = [], [], [], []
        for _ in range(args.repeat):
            t_loop, t_worker, t_proc = time.thread_time(), thread_cpu(worker), time.process_time()
            t_wall = time.perf_counter()
            await photos(store, catalog, n, next(users), args.flow)
            wall_ms.append((time.perf_counter() - t_wall) * 1000 / n)
            loop_ms.append((time.thread_time() - t_loop) * 1000 / n)
            worker_ms.append((thread_cpu(worker) - t_worker) * 1000 / n)
            process_ms.append((time.process_time() - t_proc) * 1000 / n)
        print(f"SQLite, flow {args.flow}: CPU ms a photo over {n} photos, median of {args.repeat} "
              f"(min-max): loop {span(loop_ms)}, aiosqlite thread {span(worker_ms)}, process {span(process_ms)}; "
              f"wall {span(wall_ms)}")
    finally:
        await store.close()


async def postgres_figures(args: argparse.Namespace, catalog: Catalog) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from pg_server import PostgresServer

    from recommender.store.postgres import PostgresHistoryStore

    server = PostgresServer().start()
    try:
        store = await PostgresHistoryStore.open(server.create_database("bench"))
        users = iter(range(FIRST_USER, 10**12, args.photos))
        try:
            xid = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"  # assigns no id itself
            calls: Counter = Counter()
            before = await store._pool.fetchval(xid)
            await photos(Counting(store, calls), catalog, args.photos, next(users), args.flow)
            writes = await store._pool.fetchval(xid) - before
            n = args.photos
            print(f"PostgreSQL, flow {args.flow}: per photo {sum(calls.values()) / n:g} store calls, "
                  f"{writes / n:g} write transactions")
            loop_ms = []
            for _ in range(args.repeat):
                t_loop = time.thread_time()
                await photos(store, catalog, n, next(users), args.flow)
                loop_ms.append((time.thread_time() - t_loop) * 1000 / n)
            print(f"PostgreSQL, flow {args.flow}: loop CPU ms a photo, median of {args.repeat} (min-max): "
                  f"{span(loop_ms)}")
        finally:
            await store.close()
    finally:
        server.stop()
        server.remove()


def span(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


async def run(args: argparse.Namespace) -> None:
    catalog = Catalog.load(CATALOG)
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        await sqlite_figures(args, catalog, Path(tmp))
    if args.postgres:
        await postgres_figures(args, catalog)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--flow", choices=("one", "two"), default="one")
    parser.add_argument("--postgres", action="store_true", help="also on a loopback PostgreSQL server")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
