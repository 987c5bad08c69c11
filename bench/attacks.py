"""Three attacks within the limits on the real bot (`python -m bot` against the loopback Bot API),
issue 29 points 1, 2 and 5, and what a bystander sees meanwhile.

    python -m bench.attacks [--only bombs|group|diary] [--members 200] [--diarists 40] [--seconds 30]

- bombs: two users send a 6300×6300 fully transparent WebP as a file at the same moment (39.7 MP,
  under the 40 MP cap; a few KiB to send, ~600 MiB each for libwebp + Pillow to decode), then two
  more send the costliest PNG that still fits the decode budget. Prints the replies and the bot
  process's peak RSS (VmHWM) before and after.                                     [≤ 250 MiB]
- group: M members of one group each send /start at once (Telegram allows a group 20 messages a
  minute, so most replies must wait); meanwhile 10 private users send /start one after another.
  Prints their reply latencies.                                                   [max ≤ 2 s]
- diary: D accounts with moods each ask for /diary every 2 s (30 a minute: the text limit) for S
  seconds; meanwhile a bystander (a fresh user each time) sends a 1280×960 selfie every 0.5 s.
  Prints the bystander's photo → song latency.                                  [p50 ≤ 0.2 s]
  Then B other accounts ask for /diary at the same moment, and one more selfie follows them.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench.bot_load import DEFAULT_PHOTO, LINK, BotProcess, Users, fmt_ms, launch, make_jpeg, pct
from fake_telegram import FakeTelegram  # bench.bot_load puts tests/ on the path
from recommender.paths import shared_data_dir
from recommender.store.sqlite import SQLiteHistoryStore

GROUP = -1001


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


async def started(fake: FakeTelegram, workdir: Path, timeout: float) -> BotProcess:
    bot = await launch(fake, workdir, {})
    probe = fake.user(1)
    await probe.send_text("/start")
    await probe.reply(timeout=timeout)
    return bot


def mib(status: dict[str, int], key: str) -> float:
    return status.get(key, 0) / 1024


async def bombs(args: argparse.Namespace) -> None:
    webp = encode(Image.new("RGBA", (6300, 6300), (0, 0, 0, 0)), "WEBP", lossless=True)
    ramp = Image.linear_gradient("L").resize((3600, 3600))
    fits = encode(Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.ROTATE_90), ramp)), "PNG")
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory(prefix="bench-attacks-") as tmp:
        bot = await started(fake, Path(tmp), args.timeout)
        try:
            before = bot.status()
            for label, data, name, mime, ids in (
                    (f"6300×6300 transparent WebP, {len(webp) / 1024:.1f} KiB", webp, "b.webp", "image/webp",
                     (601, 602)),
                    (f"3600×3600 RGB PNG (just fits the decode budget), {len(fits) / 1024:.0f} KiB", fits, "f.png",
                     "image/png", (603, 604))):
                users = [fake.user(i) for i in ids]
                offered = time.monotonic()
                await asyncio.gather(*(u.send_document(data, name, mime) for u in users))
                replies = [await u.reply(timeout=args.timeout) for u in users]
                after = bot.status()
                print(f"bombs: two users at once send a {label}: replies after "
                      f"{', '.join(f'{r.at - offered:.2f} s' for r in replies)}: {replies[0].text[:60]!r}")
                print(f"    bot VmRSS {mib(before, 'VmRSS'):.0f} → {mib(after, 'VmRSS'):.0f} MiB; peak VmHWM "
                      f"{mib(before, 'VmHWM'):.0f} MiB before, {mib(after, 'VmHWM'):.0f} MiB after [≤ 250 MiB]")
                before = after
        finally:
            await bot.stop()
            await fake.stop()


async def group(args: argparse.Namespace) -> None:
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory(prefix="bench-attacks-") as tmp:
        bot = await started(fake, Path(tmp), args.timeout)
        try:
            members = [fake.user(10_000 + n, chat_id=GROUP, chat_type="group") for n in range(args.members)]
            await asyncio.gather(*(m.send_text("/start") for m in members))
            await fake.wait_for(lambda: len(fake.sent_to(GROUP)) >= 20, args.timeout)
            latencies = []
            for n in range(10):
                user = fake.user(20_000 + n)
                offered = time.monotonic()
                await user.send_text("/start")
                reply = await user.reply(timeout=args.timeout)
                latencies.append(reply.at - offered)
            print(f"group: {args.members} members of one group send /start; 10 private users' /start "
                  f"answered in {fmt_ms(latencies)} [max ≤ 2 s]; the group got "
                  f"{len(fake.sent_to(GROUP))} replies so far")
        finally:
            bot.proc.kill()  # the group's backlog drains at 20 a minute; not part of the figure
            await bot.stop()
            await fake.stop()


async def diary(args: argparse.Namespace) -> None:
    selfie = make_jpeg(shared_data_dir() / "photos" / DEFAULT_PHOTO, 1280, 960)
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory(prefix="bench-attacks-") as tmp:
        diarists = [30_000 + n for n in range(args.diarists)]
        bursting = [35_000 + n for n in range(args.burst)]
        store = await SQLiteHistoryStore.open(Path(tmp) / "mood.sqlite3")
        try:
            for user_id in diarists + bursting:
                for mood in ("happy", "calm", "sad", "energetic", "happy"):
                    await store.add_reading(user_id, "mood", mood)
        finally:
            await store.close()
        bot = await started(fake, Path(tmp), args.timeout)
        stop = asyncio.Event()

        async def ask_diary(user_id: int, offset: float) -> None:
            user = fake.user(user_id)
            await asyncio.sleep(offset)  # spread the accounts over the 2 s period
            while not stop.is_set():
                await user.send_text("/diary")
                await asyncio.sleep(2.0)  # the attack's own pace, not synchronisation

        try:
            tasks = [asyncio.create_task(ask_diary(u, 2.0 * i / len(diarists))) for i, u in enumerate(diarists)]
            users = Users(fake, start=40_000)
            latencies = []
            deadline = time.monotonic() + args.seconds
            while time.monotonic() < deadline:
                user = users.new()
                offered = time.monotonic()
                await user.send_photo(selfie, 1280, 960)
                reply = await user.reply(timeout=args.timeout)
                if not LINK.search(reply.text):
                    raise RuntimeError(f"reply without a song link: {reply.text[:80]!r}")
                latencies.append(reply.at - offered)
                await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*tasks)
            charts = len([s for s in fake.sent if s.method == "sendPhoto"])
            print(f"diary: {args.diarists} accounts ask for /diary every 2 s for {args.seconds:.0f} s "
                  f"({charts} charts sent); a bystander's selfie answered in {fmt_ms(latencies)} "
                  f"[p50 ≤ 200 ms: {'met' if pct(latencies, 50) <= 0.2 else 'MISSED'}]")
            sent = len([s for s in fake.sent if s.method == "sendPhoto"])
            await asyncio.gather(*(fake.user(u).send_text("/diary") for u in bursting))
            offered = time.monotonic()
            await (bystander := users.new()).send_photo(selfie, 1280, 960)
            reply = await bystander.reply(timeout=args.timeout)
            await fake.wait_for(lambda: len([s for s in fake.sent if s.method == "sendPhoto"]) >= sent + args.burst,
                                args.timeout)
            last = max(s.at for s in fake.sent if s.method == "sendPhoto") - offered
            print(f"    {args.burst} other accounts ask for /diary at once: a selfie sent after them answered "
                  f"in {reply.at - offered:.2f} s; their last chart after {last:.1f} s")
        finally:
            await bot.stop()
            await fake.stop()


async def run(args: argparse.Namespace) -> int:
    for name, attack in (("bombs", bombs), ("group", group), ("diary", diary)):
        if args.only in (None, name):
            await attack(args)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.attacks", description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=("bombs", "group", "diary"))
    p.add_argument("--members", type=int, default=200, help="group members sending /start")
    p.add_argument("--diarists", type=int, default=40, help="accounts asking for /diary every 2 s")
    p.add_argument("--burst", type=int, default=64, help="accounts asking for /diary at the same moment")
    p.add_argument("--seconds", type=float, default=30.0, help="how long the diary attack lasts")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one reply")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
