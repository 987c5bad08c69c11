"""One replica against two, on one PostgreSQL history, and PostgreSQL against SQLite per song.

    python -m bench.replicas [--burst 200] [--serves 300]

1. A burst of `--burst` users, each sending one selfie at once, delivered as Telegram delivers
   webhooks (POST, resent until a 200) through a round-robin proxy to one or two `python -m bot`
   processes in webhook mode: photos/s until the last reply, p50/p95 reply latency, peak RSS of
   each replica. All processes share this machine's cores, so two replicas cannot double the
   throughput here (docs/scaling.md says what one core per replica gives).
2. The song service's cost per served song (`SongService.next`, history committed) on SQLite and
   on PostgreSQL over loopback: ms per call, median and p95 of `--serves` calls.
Needs PostgreSQL's server binaries (Debian: apt-get install postgresql) and ../shared/data/photos.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.bot_load import DEFAULT_PHOTO, ROOT, launch, make_jpeg, pct
from recommender.paths import shared_data_dir

sys.path.insert(0, str(ROOT / "tests"))  # the loopback Bot API, proxy and server live with the tests
from fake_telegram import FakeTelegram, free_port  # noqa: E402
from pg_server import PostgresServer  # noqa: E402
from rr_proxy import RoundRobinProxy  # noqa: E402

SECRET = "bench-secret_1"
HOOK = "/hook"


async def deliver(client: httpx.AsyncClient, url: str, update: dict) -> None:
    for _ in range(20):
        try:
            if (await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)  # back-off before Telegram-style redelivery, not synchronisation
    raise RuntimeError("update never accepted")


async def burst(replicas: int, users: int, jpeg: bytes, server: PostgresServer, workdir: Path) -> dict:
    fake = await FakeTelegram().start()
    url = server.create_database(f"bench{replicas}_{int(time.time())}")
    ports = [free_port() for _ in range(replicas)]
    procs = []
    proxy = await RoundRobinProxy([f"http://127.0.0.1:{p}" for p in ports]).start()
    try:
        for i, port in enumerate(ports):
            d = workdir / f"r{replicas}-{i}"
            d.mkdir()
            procs.append(await launch(fake, d, {"DATABASE_URL": url, "PORT": str(port), "WEBHOOK_LISTEN": "127.0.0.1",
                                                "WEBHOOK_URL": f"https://bench.example.com{HOOK}",
                                                "WEBHOOK_SECRET": SECRET, "PHOTOS_PER_MINUTE": "1000"}))
        async with httpx.AsyncClient(timeout=60) as client:
            for port in ports:  # until each replica answers its probe
                deadline = time.monotonic() + 120
                while True:
                    try:
                        r = await client.get(f"http://127.0.0.1:{port}{HOOK}", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                        if r.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("a replica did not start")
                    await asyncio.sleep(0.2)
            people = [fake.user(50_000 + i) for i in range(users)]
            updates = [await u.send_photo(jpeg, 1280, 960) for u in people]
            started = time.monotonic()
            await asyncio.gather(*(deliver(client, proxy.url(HOOK), up) for up in updates))
            await fake.wait_for(lambda: all(fake.sent_to(u.id) for u in people), 300)
            latencies = [fake.sent_to(u.id)[0].at - started for u in people]
        peaks = [p.status().get("VmHWM", 0) / 1024 for p in procs]
    finally:
        for p in procs:
            await p.stop()
        await proxy.stop()
        await fake.stop()
    return {"replicas": replicas, "photos_per_s": users / max(latencies), "p50": pct(latencies, 50),
            "p95": pct(latencies, 95), "last": max(latencies), "peak_rss_mib": peaks}


async def serve_cost(n: int, server: PostgresServer, workdir: Path) -> dict[str, list[float]]:
    from recommender.music.catalog import Catalog
    from recommender.music.service import SongService
    from recommender.store.postgres import PostgresHistoryStore
    from recommender.store.sqlite import SQLiteHistoryStore

    catalog = Catalog.load()
    out: dict[str, list[float]] = {}
    for name, store in (("SQLite", await SQLiteHistoryStore.open(workdir / "cost.sqlite3")),
                        ("PostgreSQL", await PostgresHistoryStore.open(server.create_database("cost")))):
        service = SongService(catalog, store)
        times = []
        try:
            for i in range(n):
                t = time.perf_counter()
                await service.next(1 + i % 10, "happy")
                times.append((time.perf_counter() - t) * 1000)
        finally:
            await store.close()
        out[name] = times
    return out


async def run(args: argparse.Namespace) -> int:
    photo = Path(args.photo) if args.photo else shared_data_dir() / "photos" / DEFAULT_PHOTO
    jpeg = make_jpeg(photo, 1280, 960)
    server = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
            work = Path(tmp)
            print(f"burst of {args.burst} users, one selfie each, webhook deliveries through a round-robin proxy")
            print(f"{'replicas':>8} {'photos/s':>9} {'p50 s':>7} {'p95 s':>7} {'last s':>7}  peak RSS per replica")
            rows = []
            for n in (1, 2):
                r = await burst(n, args.burst, jpeg, server, work)
                rows.append(r)
                print(f"{n:>8} {r['photos_per_s']:>9.1f} {r['p50']:>7.2f} {r['p95']:>7.2f} {r['last']:>7.2f}  "
                      + ", ".join(f"{m:.0f} MiB" for m in r["peak_rss_mib"]))
            print(f"two replicas / one: {rows[1]['photos_per_s'] / rows[0]['photos_per_s']:.2f}x throughput")
            cost = await serve_cost(args.serves, server, work)
            print(f"\nSongService.next (history committed), {args.serves} calls, ms per call:")
            for name, times in cost.items():
                print(f"  {name:<10} median {statistics.median(times):.2f}  p95 {pct(times, 95):.2f}")
    finally:
        server.stop()
        server.remove()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.splitlines()[0])
    p.add_argument("--burst", type=int, default=200)
    p.add_argument("--serves", type=int, default=300)
    p.add_argument("--photo", help=f"source photo (default ../shared/data/photos/{DEFAULT_PHOTO})")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
