"""Load figures for the real bot: `python -m bot` as a subprocess against the loopback Bot API.

    python -m bench.bot_load [--runs 30] [--huge-runs 10] [--burst 100] [--photo PATH] [--profile OUT]

Prints (the targets in brackets; figures measured with it: docs/benchmarks.md):
- cold start: process launch → the reply to a photo sent before launch (models load, warm-up,
  first getUpdates, first analysis)                                            [≤ 5 s]
- photo → reply latency p50/p95, one photo at a time, a 1280×960 selfie and a 4000×4000 photo
  (both cut from a real photo in ../shared/data/photos, made in memory)         [p50 ≤ 150 ms]
- a burst: N distinct users send a photo at the same moment; all answered? time to the last
  reply, and how many were answered by 0.5, 1, 2, … s                          [100 within 10 s]
- peak RSS of the bot process (VmHWM from /proc, the kernel's high-water mark) [≤ 300 MiB]
and, from the bot's own per-update log lines, where the time goes (decode / detect / classify
medians), so a missed target points at its cause.

Latency is measured on the fake server's clock: from the moment the update is offered to the
bot's getUpdates to the moment the bot's sendMessage with the song link arrives. Every photo comes
from a different user id, so the bot's per-user flood control (10 photos a minute) never applies.
Nothing is written outside a temporary directory (the bot's SQLite history), removed at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback Bot API lives with the tests

from fake_telegram import FakeTelegram, FakeUser  # noqa: E402

from recommender.paths import shared_data_dir  # noqa: E402

LINK = re.compile(r"https://open\.spotify\.com/track/[0-9A-Za-z]{22}")
FIELD = re.compile(r"(\w+)=(\S+)")
DEFAULT_PHOTO = "happy_001.jpg"


# --- images (in memory only) ------------------------------------------------------------------

def _cover(img: Image.Image, width: int, height: int) -> Image.Image:
    """Crop to the target aspect ratio around the centre, then resize: no distortion."""
    w, h = img.size
    target = width / height
    if w / h > target:
        cw = round(h * target)
        img = img.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    else:
        ch = round(w / target)
        img = img.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
    return img.resize((width, height), Image.LANCZOS)


def make_jpeg(photo: Path, width: int, height: int, quality: int = 90) -> bytes:
    with Image.open(photo) as img:
        out = _cover(img.convert("RGB"), width, height)
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


# --- the bot process ------------------------------------------------------------------------

@dataclass
class BotProcess:
    proc: asyncio.subprocess.Process
    log_path: Path
    launched: float

    def status(self) -> dict[str, int]:
        """VmRSS / VmHWM (peak) in KiB from /proc (Linux)."""
        values: dict[str, int] = {}
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
        return values

    def cpu_seconds(self) -> float:
        """user + system CPU time the bot process has used so far (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def update_lines(self) -> list[dict[str, str]]:
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "kind=photo" in line and "outcome=" in line:
                lines.append(dict(FIELD.findall(line)))
        return lines

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                return await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
        return await self.proc.wait()


async def launch(fake: FakeTelegram, workdir: Path, extra_env: dict[str, str],
                 profile: Path | None = None) -> BotProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_", "SPOTIPY_"))}
    env.update(fake.env())
    env.update({
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "DATABASE_PATH": str(workdir / "mood.sqlite3"),
        "LOG_LEVEL": "INFO",
        **extra_env,
    })
    log_path = workdir / "bot.log"
    with log_path.open("wb") as out:
        launched = time.monotonic()
        # --profile: cProfile of the event-loop thread (Telegram I/O, JSON, SQLite, logging);
        # the analysis runs in worker threads, which the bot's per-stage timings cover.
        prof = ["-m", "cProfile", "-o", str(profile.resolve())] if profile else []
        proc = await asyncio.create_subprocess_exec(sys.executable, *prof, "-m", "bot", cwd=workdir,
                                                    env=env, stdout=out, stderr=out)
    return BotProcess(proc, log_path, launched)


# --- measuring ------------------------------------------------------------------------------

class Users:
    """A fresh user id for every photo: flood control is per user, and must not be measured."""

    def __init__(self, fake: FakeTelegram, start: int = 10_000) -> None:
        self.fake = fake
        self.next_id = start

    def new(self) -> FakeUser:
        self.next_id += 1
        return self.fake.user(self.next_id)


async def ask(user: FakeUser, jpeg: bytes, width: int, height: int, timeout: float) -> float:
    """Send one photo; seconds from its offer to the bot's reply with a song link."""
    sent = time.monotonic()
    await user.send_photo(jpeg, width, height)
    reply = await user.reply(timeout=timeout)
    if not LINK.search(reply.text):
        raise RuntimeError(f"reply without a song link: {reply.text[:120]!r}")
    return reply.at - sent


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: p95 of 20 values is the 19th)."""
    ordered = sorted(values)
    rank = max(1, int(np.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def fmt_ms(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (f"p50 {pct(ms, 50):6.0f} ms  p95 {pct(ms, 95):6.0f} ms  "
            f"min {min(ms):5.0f}  max {max(ms):6.0f}  (n={len(ms)})")


def stage_medians(lines: list[dict[str, str]]) -> str:
    parts = []
    for key in ("decode_ms", "detect_ms", "classify_ms", "latency_ms"):
        values = [float(line[key]) for line in lines if key in line]
        if values:
            parts.append(f"{key.removesuffix('_ms')} {statistics.median(values):.0f}")
    return ", ".join(parts) + " ms (medians, bot's own log)" if parts else "no timings logged"


async def run(args: argparse.Namespace) -> int:
    photo = Path(args.photo) if args.photo else shared_data_dir() / "photos" / DEFAULT_PHOTO
    selfie = make_jpeg(photo, 1280, 960)
    huge = make_jpeg(photo, 4000, 4000, quality=85)
    print(f"photo: {photo.name} → selfie 1280×960 ({len(selfie) / 1024:.0f} KiB), "
          f"4000×4000 ({len(huge) / 1024:.0f} KiB); bot: {sys.executable} -m bot, "
          f"WORKERS={os.environ.get('WORKERS', 'default')}, cpus={os.cpu_count()}")
    targets_met = True
    fake = await FakeTelegram().start()
    users = Users(fake)
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        bot = await launch(fake, Path(tmp), {}, args.profile)
        try:
            # Cold start: the photo is waiting before the process exists, as after a restart.
            first = users.new()
            await first.send_photo(selfie, 1280, 960)
            reply = await first.reply(timeout=args.timeout)
            cold = reply.at - bot.launched
            ok = cold <= 5.0
            targets_met &= ok
            print(f"cold start (launch → first photo answered): {cold:.2f} s   "
                  f"[target ≤ 5 s: {'met' if ok else 'MISSED'}]")
            rss = bot.status()
            print(f"RSS after the first reply: {rss.get('VmRSS', 0) / 1024:.0f} MiB")

            for name, jpeg, w, h, n in (("selfie 1280×960", selfie, 1280, 960, args.runs),
                                        ("photo 4000×4000", huge, 4000, 4000, args.huge_runs)):
                for _ in range(2):  # warm this size's code paths (allocations, JPEG scaling)
                    await ask(users.new(), jpeg, w, h, args.timeout)
                before = len(bot.update_lines())
                lat = [await ask(users.new(), jpeg, w, h, args.timeout) for _ in range(n)]
                p50 = pct(lat, 50) * 1000
                ok = p50 <= 150 or name.startswith("photo")  # the target is stated for the selfie
                if name.startswith("selfie"):
                    targets_met &= ok
                target = f"[target p50 ≤ 150 ms: {'met' if p50 <= 150 else 'MISSED'}]" \
                    if name.startswith("selfie") else "[no target; reported]"
                print(f"latency {name}: {fmt_ms(lat)}   {target}")
                print(f"    where: {stage_medians(bot.update_lines()[before:])}")

            # Burst: N distinct users, one photo each, offered in the same instant.
            burst_users = [users.new() for _ in range(args.burst)]
            before = len(bot.update_lines())
            cpu_bot, cpu_self = bot.cpu_seconds(), time.process_time()
            start = time.monotonic()
            for user in burst_users:
                await user.send_photo(selfie, 1280, 960)
            offered = time.monotonic() - start

            async def answer_time(user: FakeUser) -> float | None:
                try:
                    reply = await user.reply(timeout=args.burst_timeout)
                except TimeoutError:
                    return None
                return reply.at - start if LINK.search(reply.text) else None

            times = await asyncio.gather(*(answer_time(u) for u in burst_users))
            cpu_bot, cpu_self = bot.cpu_seconds() - cpu_bot, time.process_time() - cpu_self
            answered = [t for t in times if t is not None]
            last = max(answered) if answered else float("nan")
            ok = len(answered) == args.burst and last <= 10.0
            targets_met &= ok
            print(f"burst of {args.burst} distinct users (offered in {offered * 1000:.0f} ms): "
                  f"{len(answered)}/{args.burst} answered with a song, last reply after {last:.2f} s, "
                  f"median {statistics.median(answered) if answered else float('nan'):.2f} s   "
                  f"[target all within 10 s: {'met' if ok else 'MISSED'}]")
            print(f"    where: {stage_medians(bot.update_lines()[before:])}")
            if answered:
                marks = [m for m in (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20) if m < last] + [last]
                print("    answered by: " + ", ".join(
                    f"{m:g} s: {sum(t <= m for t in answered)}" for m in marks))
                print(f"    throughput: {len(answered) / last:.1f} photos/s; CPU used meanwhile: bot "
                      f"{cpu_bot:.1f} s ({cpu_bot / len(answered) * 1000:.0f} ms a photo), "
                      f"this driver + fake Bot API {cpu_self:.1f} s, over {last:.1f} s wall on "
                      f"{os.cpu_count()} cpus; load average {os.getloadavg()[0]:.1f}")

            rss = bot.status()
            peak = rss.get("VmHWM", 0) / 1024
            ok = 0 < peak <= 300
            targets_met &= ok
            print(f"peak RSS of the bot process (VmHWM): {peak:.0f} MiB, now {rss.get('VmRSS', 0) / 1024:.0f} MiB"
                  f"   [target ≤ 300 MiB: {'met' if ok else 'MISSED'}]")
        finally:
            code = await bot.stop()
            await fake.stop()
        errors = [line for line in bot.log_path.read_text(errors="replace").splitlines()
                  if " ERROR " in line or "Traceback" in line]
        print(f"bot exit code after SIGTERM: {code}; error lines in its log: {len(errors)}")
        for line in errors[:5]:
            print(f"    {line}")
    print("all targets met" if targets_met else "some targets MISSED (see above)")
    return 0 if targets_met else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bot_load", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=30, help="sequential selfies (latency)")
    p.add_argument("--huge-runs", type=int, default=10, help="sequential 4000×4000 photos")
    p.add_argument("--burst", type=int, default=100, help="distinct users in the burst")
    p.add_argument("--photo", help=f"source photo (default ../shared/data/photos/{DEFAULT_PHOTO})")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one reply")
    p.add_argument("--burst-timeout", type=float, default=60.0)
    p.add_argument("--profile", type=Path, help="write a cProfile of the bot's main thread here")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
