"""Two attacks on the real bot (`python -m bot` as a subprocess against the loopback Bot API).

    python -m bench.stall [--users 4] [--texts 16] [--stream-mb 200] [--timeout 120]

- stalled users: each of N users sends an image whose download never answers, then M texts;
  then a new user sends /start. Prints that /start's latency (offer → reply). Every update a
  stalled user has queued must not hold a slot the new user needs.
- unsized download: one image file whose size neither the message nor getFile gives, streamed
  without Content-Length (S MB). Prints the bot process's VmRSS before and after the reply and its
  peak (VmHWM), and the reply the user got.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench.bot_load import BotProcess, launch
from fake_telegram import FakeTelegram  # bench.bot_load puts tests/ on the path


async def ready(fake: FakeTelegram, bot: BotProcess, timeout: float) -> None:
    """The bot answers a first /start: models loaded, polling."""
    probe = fake.user(1)
    await probe.send_text("/start")
    await probe.reply(timeout=timeout)


async def stalled_users(args: argparse.Namespace) -> None:
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory(prefix="bench-stall-") as tmp:
        bot = await launch(fake, Path(tmp), {})
        try:
            await ready(fake, bot, args.timeout)
            hanging = []
            for n in range(args.users):
                user = fake.user(100 + n)
                file_id = fake.add_misbehaving_file(hang=True)
                hanging.append(file_id)
                await user.send_file_id(file_id)
                for _ in range(args.texts):
                    await user.send_text("hello?")
            await fake.wait_for(lambda: all(f in fake.downloads for f in hanging), args.timeout)
            newcomer = fake.user(999)
            offered = time.monotonic()
            await newcomer.send_text("/start")
            reply = await newcomer.reply(timeout=args.timeout)
            print(f"stalled users: {args.users} users × (1 hanging download + {args.texts} texts), "
                  f"then a new user's /start answered after {reply.at - offered:.2f} s")
            answered = await _wait_stalled_answers(fake, args)
            print(f"    the stalled users' downloads got a reply after {answered}")
        finally:
            await bot.stop()
            await fake.stop()


async def _wait_stalled_answers(fake: FakeTelegram, args: argparse.Namespace) -> str:
    start = time.monotonic()
    try:
        await fake.wait_for(lambda: all(
            any("too long" in s.text or "couldn't" in s.text.lower() for s in fake.sent_to(100 + n))
            for n in range(args.users)), args.timeout)
    except TimeoutError:
        return f"more than {args.timeout:.0f} s (no reply)"
    return f"{time.monotonic() - start:.1f} s more"


async def unsized_download(args: argparse.Namespace) -> None:
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory(prefix="bench-stall-") as tmp:
        bot = await launch(fake, Path(tmp), {})
        try:
            await ready(fake, bot, args.timeout)
            before = bot.status()
            user = fake.user(500)
            file_id = fake.add_misbehaving_file(stream_bytes=args.stream_mb * 1024 * 1024)
            offered = time.monotonic()
            await user.send_file_id(file_id)
            reply = await user.reply(timeout=args.timeout)
            after = bot.status()
            print(f"unsized download of {args.stream_mb} MB: reply after {reply.at - offered:.2f} s: "
                  f"{reply.text[:80]!r}")
            rss0, rss1 = before.get("VmRSS", 0) / 1024, after.get("VmRSS", 0) / 1024
            print(f"    bot VmRSS before {rss0:.0f} MiB, after {rss1:.0f} MiB (+{rss1 - rss0:.0f} MiB), "
                  f"peak VmHWM {after.get('VmHWM', 0) / 1024:.0f} MiB")
        finally:
            await bot.stop()
            await fake.stop()


async def run(args: argparse.Namespace) -> int:
    if args.only in (None, "stall"):
        await stalled_users(args)
    if args.only in (None, "unsized"):
        await unsized_download(args)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.stall", description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=4, help="users with a hanging download")
    p.add_argument("--texts", type=int, default=16, help="texts each of them queues behind it")
    p.add_argument("--stream-mb", type=int, default=200, help="size of the unsized download")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one reply")
    p.add_argument("--only", choices=("stall", "unsized"), help="run one of the two")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
