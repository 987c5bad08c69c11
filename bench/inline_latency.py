"""Inline answer latency of the real bot, through the loopback Bot API.

    python -m bench.inline_latency [--queries 300] [--catalog data/catalog.csv]

The bot runs in-process (bot.app.serve, as `python -m bot` runs it: long polling, SQLite, the
shipped catalog of 13,909 songs) against tests/fake_telegram.py. One inline query at a time, each
from another user (their flood limit never applies), cycling through "calm", "happy",
"energetic", "sad", "" (the four moods) and a feeling in words; latency is measured on the fake
server's clock, from the moment the query is offered to the bot's getUpdates to the moment its
answerInlineQuery arrives. Prints p50/p95/max. Nothing is written outside a temporary directory.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback Bot API and the bot harness live with the tests

from bot_harness import running_bot  # noqa: E402
from fake_telegram import FakeTelegram  # noqa: E402

from bot.config import Config  # noqa: E402
from recommender.paths import CATALOG_PATH  # noqa: E402

QUERIES = ("calm", "happy", "energetic", "sad", "", "I feel so stressed")


async def run(args: argparse.Namespace) -> None:
    from recommender.pipeline import Pipeline  # the bot needs its models to start

    pipeline = Pipeline.load()
    fake = await FakeTelegram().start()
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Config.from_env({**fake.env(), "DATABASE_PATH": str(Path(tmp) / "mood.sqlite3"),
                                  "CATALOG_PATH": str(args.catalog)})
        async with running_bot(config, pipeline):
            for i in range(args.queries + 5):  # the first 5 warm up
                user = fake.user(1_000_000 + i)
                pushed = time.monotonic()
                answer = await user.inline(QUERIES[i % len(QUERIES)])
                assert answer.params["results"], "an inline query got no results"
                if i >= 5:
                    latencies.append((answer.at - pushed) * 1000)
    await fake.stop()
    q = statistics.quantiles(latencies, n=100)
    print(f"inline answers: {len(latencies)} queries, p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, "
          f"max {max(latencies):.1f} ms (catalog {args.catalog.name})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--catalog", type=Path, default=CATALOG_PATH)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
