"""How fast the daily check-in reaches many subscribers, through the loopback Bot API.

    python -m bench.checkin_rate [--subscribers 10000] [--rate 25] [--replicas 1] [--postgres URL]
                                 [--unlimited]

N subscribers all due at the same minute (the worst case: everyone picked 09:00) in a fresh
SQLite file (or a PostgreSQL database with --postgres, where --replicas senders share the table),
sent by the bot's own `CheckinSender` through the bot's own `Bot` (with its rate limiter, as
`python -m bot` builds it) to tests/fake_telegram.py. Prints: sent, duplicates, time to the last,
the mean rate, and the most messages sent in any one second (Telegram's broadcast limit is ~30/s).
--unlimited drops both limits, to show the ceiling of claim → send → done itself.
Nothing is written outside a temporary directory, removed at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback Bot API lives with the tests

from fake_telegram import FakeTelegram  # noqa: E402
from telegram import Bot  # noqa: E402

from bot.app import build_bot  # noqa: E402
from bot.checkin import CheckinSender  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.i18n import Languages  # noqa: E402
from recommender.store.checkins import Checkin, checkins_of  # noqa: E402
from recommender.store.postgres import PostgresHistoryStore  # noqa: E402
from recommender.store.sqlite import SQLiteHistoryStore  # noqa: E402


async def run(args: argparse.Namespace) -> None:
    fake = await FakeTelegram().start()
    languages = Languages.load()
    with tempfile.TemporaryDirectory() as tmp:
        stores = []
        for _ in range(args.replicas if args.postgres else 1):
            stores.append(await PostgresHistoryStore.open(args.postgres) if args.postgres
                          else await SQLiteHistoryStore.open(Path(tmp) / "bench.sqlite3"))
        table = checkins_of(stores[0])
        due = time.time() - 1
        for uid in range(1, args.subscribers + 1):
            await table.subscribe(Checkin(uid, uid, 9 * 60, "UTC", "en", due))
        config = Config.from_env({**fake.env(), "DATABASE_PATH": str(Path(tmp) / "unused.sqlite3")})
        bots = [Bot(fake.token, base_url=fake.api_url) if args.unlimited else build_bot(config) for _ in stores]
        for bot in bots:
            await bot.initialize()
        rate = 1_000_000 if args.unlimited else args.rate
        senders = [CheckinSender(bot, store, languages, per_second=rate, poll_s=0.05, replica=f"bench{i}")
                   for i, (bot, store) in enumerate(zip(bots, stores))]
        started = time.monotonic()
        for sender in senders:
            sender.start()
        try:
            await fake.wait_for(lambda: sum(s.method == "sendMessage" for s in fake.sent) >= args.subscribers,
                                timeout=args.subscribers / (50 if args.unlimited else min(rate, 30)) * 3 + 60)
        finally:
            for sender in senders:
                await sender.stop()
        sends = [s for s in fake.sent if s.method == "sendMessage"]
        elapsed = sends[-1].at - started
        per_chat = Counter(s.chat_id for s in sends)
        per_second = Counter(int(s.at - started) for s in sends)
        for bot in bots:
            await bot.shutdown()
        for store in stores:
            await store.close()
    await fake.stop()
    where = f"PostgreSQL, {args.replicas} replica(s)" if args.postgres else "SQLite"
    limit = "no limits" if args.unlimited else f"CHECKINS_PER_SECOND={args.rate} + the bot's AIORateLimiter"
    print(f"check-ins: {len(per_chat)}/{args.subscribers} subscribers reached, "
          f"{sum(per_chat.values()) - len(per_chat)} duplicates ({where}, {limit})")
    print(f"time to the last: {elapsed:.1f} s; mean rate {len(sends) / elapsed:.1f} msg/s; "
          f"busiest second {max(per_second.values())} msg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=25, help="CHECKINS_PER_SECOND per replica")
    parser.add_argument("--replicas", type=int, default=1, help="senders sharing the table (PostgreSQL only)")
    parser.add_argument("--postgres", help="a PostgreSQL URL of an empty database (default: SQLite)")
    parser.add_argument("--unlimited", action="store_true", help="no rate limits: the ceiling of the loop")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
