"""What the song choice costs the bot's event loop, and what the catalog costs in memory (issue 28).

    python -m bench.song_choice [--users 100] [--heard 50] [--loads 5]

Prints, on the shipped catalog (recommender.paths.CATALOG_PATH):
- the catalog's resident memory: RSS after `Catalog.load` minus RSS after the imports;
- `Catalog.load` time (the median of --loads loads; CPU seconds of this process);
- CPU per `SongService.next` (a photo, no lift) for --users distinct new users, round the moods,
  and for as many users who have each heard --heard songs of the mood (then the same users with
  lift mode on, a photo: lift step 0), over an in-memory history store (no database: only the
  choice itself is timed), after one choice per mood has filled the caches that do not depend
  on the user.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from contextlib import asynccontextmanager

from recommender.music.catalog import Catalog
from recommender.music.service import SongService
from recommender.paths import CATALOG_PATH
from recommender.types import Served


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


class _History:
    def __init__(self, rows: list[tuple[str, Served]]) -> None:
        self.rows = rows

    async def served(self, mood: str | None = None) -> list[Served]:
        return [s for m, s in self.rows if mood is None or m == mood]

    async def append(self, mood: str, track_id: str, cycle: int) -> None:
        self.rows.append((mood, Served(track_id, cycle)))


class MemoryStore:
    """Just what SongService.next asks of a HistoryStore, in memory."""

    def __init__(self) -> None:
        self.rows: dict[int, list[tuple[str, Served]]] = {}
        self.lifting: set[int] = set()

    async def get_lift(self, user_id: int) -> bool:
        return user_id in self.lifting

    async def get_mature(self, user_id: int) -> bool:
        return False

    @asynccontextmanager
    async def user(self, user_id: int):
        yield _History(self.rows.setdefault(user_id, []))


async def cpu_per_next(service: SongService, users: range, moods: tuple[str, ...]) -> float:
    """Mean CPU seconds of one `service.next` over the users (user k asks for mood k mod 4)."""
    spent = 0.0
    for k, user in enumerate(users):
        mood = moods[k % len(moods)]
        started = time.process_time()
        await service.next(user, mood)
        spent += time.process_time() - started
    return spent / len(users)


async def main_async(args: argparse.Namespace) -> None:
    gc.collect()
    before = rss_mib()
    catalog = Catalog.load(CATALOG_PATH)
    gc.collect()
    print(f"catalog RSS: {rss_mib() - before:.1f} MiB ({len(catalog)} songs)")
    loads = []
    for _ in range(args.loads):
        started = time.process_time()
        Catalog.load(CATALOG_PATH)
        loads.append(time.process_time() - started)
    print(f"Catalog.load: median {statistics.median(loads) * 1000:.0f} ms CPU "
          f"(min {min(loads) * 1000:.0f}, {args.loads} loads)")

    gc.collect()  # the loads' garbage: a full collection inside a timed choice would count there
    store = MemoryStore()
    service = SongService(catalog, store)  # type: ignore[arg-type]
    moods = catalog.moods
    started = time.process_time()
    for mood in moods:  # the first choice of a mood fills the serve rules' cache (once a month)
        await service.next(0, mood)
    print(f"first choice of each mood: {(time.process_time() - started) * 1000:.1f} ms CPU in all, once")
    new = await cpu_per_next(service, range(1_000_000, 1_000_000 + args.users), moods)
    print(f"SongService.next, {args.users} new users: {new * 1e6:.0f} µs CPU a choice")
    regulars = range(2_000_000, 2_000_000 + args.users)
    for k, user in enumerate(regulars):  # their history, untimed
        for _ in range(args.heard):
            await service.next(user, moods[k % len(moods)])
    heard = await cpu_per_next(service, regulars, moods)
    print(f"SongService.next, {args.users} users with {args.heard} songs heard: {heard * 1e6:.0f} µs CPU a choice")
    store.lifting.update(regulars)
    store.lifting.add(0)
    for mood in moods:  # lift pools are cached per mood and step, for every user
        await service.next(0, mood)
    lifted = await cpu_per_next(service, regulars, moods)
    print(f"SongService.next in lift mode, the same users: {lifted * 1e6:.0f} µs CPU a choice")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--heard", type=int, default=50)
    parser.add_argument("--loads", type=int, default=5)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
