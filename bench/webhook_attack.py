"""The bot's webhook server under floods: its memory, and its log volume.

    python -m bench.webhook_attack [--attack body] [--size-mb 95] [--concurrency 4]
    python -m bench.webhook_attack --attack headers [--seconds 10] [--concurrency 8]
    python -m bench.webhook_attack --attack fds [--seconds 10] [--fd-limit 1024]

Starts `python -m bot` in webhook mode (as a subprocess, against the loopback Bot API from
tests/fake_telegram.py), then
- body: sends `concurrency` simultaneous POSTs of `size-mb` MB each without the secret header, as
  an attacker who found the URL would, streaming the whole body unless the server cuts the
  connection, and prints the bot's RSS (VmRSS, and the high-water mark VmHWM) before and after;
- headers: for `seconds`, `concurrency` clients send unauthenticated requests whose one header is
  15 KB with a control character (malformed), and prints the log the bot wrote meanwhile;
- fds: lowers the bot's open-files limit to `fd-limit` (the usual default outside Docker), opens
  loopback connections until it stops accepting, holds them for `seconds`, and prints the log the
  bot wrote meanwhile.
Each then checks that a real update (with the secret) is still answered. The floods are bounded
(duration, connections); nothing is written outside a temporary directory.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback Bot API lives with the tests

from fake_telegram import FakeTelegram, free_port  # noqa: E402

SECRET = "bench_secret-0123456789"
CHUNK = 1024 * 1024


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) // 1024
    return fields


async def big_post(port: int, path: str, size: int, secret: str | None) -> tuple[str, int, float]:
    """POST `size` bytes of junk; returns (status line or what happened, bytes sent, seconds)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"POST {path} HTTP/1.1", "Host: bot.example.com", "Content-Type: application/json",
            f"Content-Length: {size}"]
    if secret:
        head.append(f"X-Telegram-Bot-Api-Secret-Token: {secret}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    chunk = b"x" * CHUNK
    outcome = "no answer"
    try:
        while sent < size:
            piece = chunk[: min(CHUNK, size - sent)]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
        line = await asyncio.wait_for(reader.readline(), 60)
        outcome = line.decode(errors="replace").strip() or "closed"
    except (ConnectionError, OSError) as exc:
        try:  # the server answered and closed while the body was still being sent
            line = await asyncio.wait_for(reader.readline(), 5)
            outcome = (line.decode(errors="replace").strip() or "closed") + f" (cut: {type(exc).__name__})"
        except (ConnectionError, OSError, asyncio.TimeoutError):
            outcome = f"connection cut: {type(exc).__name__}"
    finally:
        writer.close()
    return outcome, sent, time.perf_counter() - started


async def body_attack(args: argparse.Namespace, proc: asyncio.subprocess.Process, port: int) -> None:
    before = memory(proc.pid)
    print(f"bot pid {proc.pid}: before the attack VmRSS {before['VmRSS']} MiB, VmHWM {before['VmHWM']} MiB")
    size = int(args.size_mb * 1_000_000)
    started = time.perf_counter()
    results = await asyncio.gather(*(big_post(port, "/tg/hook", size, None) for _ in range(args.concurrency)))
    wall = time.perf_counter() - started
    for i, (outcome, sent, seconds) in enumerate(results, 1):
        print(f"  POST {i}: {args.size_mb:g} MB without the secret → {outcome}; "
              f"{sent / 1e6:.1f} MB sent in {seconds:.2f} s")
    after = memory(proc.pid)
    print(f"after {args.concurrency} concurrent POSTs ({wall:.2f} s): VmRSS {after['VmRSS']} MiB, "
          f"VmHWM {after['VmHWM']} MiB (peak growth {after['VmHWM'] - before['VmHWM']} MiB)")


async def malformed_header_request(port: int, value: bytes) -> bool:
    """One unauthenticated request with a malformed header; True if the server answered."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"POST /tg/hook HTTP/1.1\r\nHost: x\r\nX-Junk: " + value + b"\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        return bool(await asyncio.wait_for(reader.read(), 10))
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        writer.close()


async def header_attack(args: argparse.Namespace, port: int, log: Path) -> None:
    value = b"\x01" + b"Q" * 15_000  # a control character makes tornado refuse the header
    deadline = time.perf_counter() + args.seconds
    answered = [0]

    async def client() -> None:
        while time.perf_counter() < deadline:
            answered[0] += await malformed_header_request(port, value)

    with watched(log) as seen:
        await asyncio.gather(*(client() for _ in range(args.concurrency)))
    print(f"{answered[0]} requests with a malformed 15 KB header from one client in {args.seconds:g} s")
    seen.report(args.seconds)


async def fd_attack(args: argparse.Namespace, proc: asyncio.subprocess.Process, port: int, log: Path) -> None:
    soft, hard = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (min(args.fd_limit, hard), hard))
    writers = []
    try:
        with watched(log) as seen:
            started = time.perf_counter()
            refused = 0
            for _ in range(args.fd_limit + 400):  # bounded: the limit plus more than the backlog
                try:
                    _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
                except (OSError, asyncio.TimeoutError):
                    refused += 1
                    if refused == 3:
                        break  # the listen backlog stays full: the bot accepts no more
                    continue
                writers.append(writer)
            print(f"{len(writers)} connections opened in {time.perf_counter() - started:.1f} s "
                  f"(open-files limit {args.fd_limit}; the bot holds {len(os.listdir(f'/proc/{proc.pid}/fd'))} fds)")
            await asyncio.sleep(max(0.0, args.seconds - (time.perf_counter() - started)))  # the measuring window
        seen.report(args.seconds)
    finally:
        for writer in writers:
            writer.close()
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (soft, hard))


class watched:
    """The lines and bytes a log file grows by inside a `with` block."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def __enter__(self) -> watched:
        self.start = self.log.stat().st_size
        self.began = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.began
        with self.log.open("rb") as f:
            f.seek(self.start)
            self.grown = f.read()

    def report(self, planned: float) -> None:
        lines = self.grown.count(b"\n")
        per_minute = lines * 60 / self.seconds
        print(f"log during the flood ({self.seconds:.1f} s): {lines} lines, {len(self.grown)} bytes "
              f"= {per_minute:.0f} lines/min, {len(self.grown) / self.seconds / 2**20:.3f} MiB/s")
        for line in self.grown.splitlines()[:3]:
            print(f"  | {line[:160].decode(errors='replace')}")


async def main(args: argparse.Namespace) -> int:
    fake = await FakeTelegram().start()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="webhook-attack-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "SPOTIPY_"))}
        env.update(fake.env())
        env.update({"PYTHONPATH": str(ROOT), "DATABASE_PATH": str(Path(tmp) / "mood.sqlite3"),
                    "WEBHOOK_URL": "https://bot.example.com/tg/hook", "WEBHOOK_SECRET": SECRET,
                    "PORT": str(port), "WEBHOOK_LISTEN": "127.0.0.1",
                    "LOG_LEVEL": "WARNING" if args.attack == "body" else "INFO"})
        log = Path(tmp) / "bot.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp, env=env,
                                                        stdout=out, stderr=out)
        try:
            await fake.wait_for(lambda: fake.webhook is not None, 120)
            await fake.until(lambda: _listening(port), 30)
            await fake.until(lambda: b" ready (" in log.read_bytes() or args.attack == "body", 60)
            if args.attack == "body":
                await body_attack(args, proc, port)
            elif args.attack == "headers":
                await header_attack(args, port, log)
            else:
                await fd_attack(args, proc, port, log)
            user = fake.user(777)
            update = {"update_id": 1, **user._message(text="/start", entities=[
                {"type": "bot_command", "offset": 0, "length": 6}])}
            async with httpx.AsyncClient(timeout=30) as client:
                ok = await client.post(f"http://127.0.0.1:{port}/tg/hook", json=update,
                                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            reply = await user.reply(timeout=60)
            print(f"a real update afterwards: HTTP {ok.status_code}, answered: {bool(reply.text)}")
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 60)
                except asyncio.TimeoutError:
                    proc.kill()
                    await proc.wait()
            await fake.stop()
        errors = [line for line in log.read_text(errors="replace").splitlines() if " ERROR " in line
                  or " CRITICAL " in line]
        print(f"bot exit code after SIGTERM: {proc.returncode}; error lines in its log: {len(errors)}; "
              f"log size {log.stat().st_size} bytes")
    return 0


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--attack", choices=("body", "headers", "fds"), default="body", help="which flood")
    p.add_argument("--size-mb", type=float, default=95.0, help="body: size of each POST body, MB")
    p.add_argument("--concurrency", type=int, default=4, help="simultaneous POSTs / header clients")
    p.add_argument("--seconds", type=float, default=10.0, help="headers, fds: how long the flood lasts")
    p.add_argument("--fd-limit", type=int, default=1024, help="fds: the bot's open-files limit")
    sys.exit(asyncio.run(main(p.parse_args())))
