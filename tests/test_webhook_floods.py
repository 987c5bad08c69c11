"""The webhook server under floods that used to turn into floods of log: a client's malformed
headers (each logged whole at INFO), running out of file descriptors (a traceback per accept try,
330 MB in 80 s) and JSON nested too deeply to parse (a 500). The log stays a few lines, and the
bot answers real updates afterwards."""
from __future__ import annotations

import asyncio
import logging
import resource
from pathlib import Path

import httpx

from bot_harness import running_bot
from fake_telegram import free_port
from test_bot_process import START_TIMEOUT, bot_env, bot_process
from test_bot_webhook import start_update
from test_webhook_server import HEADER, SECRET, webhook_config

MEASURE_S = 3.0  # how long the bot is watched while flooded


def webhook_env(tmp_path, fake, port: int) -> dict[str, str]:
    return bot_env(tmp_path, fake, WEBHOOK_URL="https://bot.example.com/tg/hook", WEBHOOK_SECRET=SECRET,
                   PORT=str(port))


async def answers_a_real_update(fake, port: int, user_id: int) -> bool:
    async with httpx.AsyncClient(timeout=30) as client:
        ok = await client.post(f"http://127.0.0.1:{port}/tg/hook", json=start_update(user_id, user_id),
                               headers={HEADER: SECRET})
    return ok.status_code == 200 and "selfie" in (await fake.user(user_id).reply(timeout=30)).text.lower()


async def bad_header_request(port: int, value: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"POST /tg/hook HTTP/1.1\r\nHost: x\r\nX-Junk: {value}\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        return (await asyncio.wait_for(reader.read(), 10)).decode(errors="replace")
    finally:
        writer.close()


async def test_a_flood_of_malformed_headers_logs_one_line_without_their_values(fake, tmp_path):
    port = free_port()
    async with bot_process(tmp_path, webhook_env(tmp_path, fake, port)) as proc:
        await fake.wait_for(lambda: fake.webhook is not None, START_TIMEOUT)
        value = "\x01" + "Q" * 15_000  # a control character: tornado refuses the header
        for _ in range(200):
            await bad_header_request(port, value)
        assert await answers_a_real_update(fake, port, 9101)
        assert proc.returncode is None
    log = (tmp_path / "bot.log").read_text(errors="replace")
    malformed = [line for line in log.splitlines() if "Malformed" in line]
    assert len(malformed) == 1 and "QQQQ" not in log and len(malformed[0]) < 300, malformed
    assert len(log.encode()) < 20_000


async def test_out_of_file_descriptors_the_server_backs_off_with_one_line_and_recovers(fake, tmp_path):
    port = free_port()
    env = webhook_env(tmp_path, fake, port)
    log_file = tmp_path / "bot.log"
    async with bot_process(tmp_path, env) as proc:
        await fake.until(lambda: " ready (" in log_file.read_text(errors="replace"), START_TIMEOUT)
        # The limit outside Docker is often 1,024; lower it for the running bot so a few hundred
        # loopback connections exhaust it.
        used = len(list(Path(f"/proc/{proc.pid}/fd").iterdir()))
        soft, hard = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (used + 32, hard))
        clients = []
        try:
            for _ in range(used + 200):
                try:
                    clients.append(await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0))
                except (asyncio.TimeoutError, OSError):
                    break  # the kernel's backlog is full: the bot is not accepting any more
            await fake.until(lambda: "out of file descriptors" in log_file.read_text(errors="replace"), 30)
            size = log_file.stat().st_size
            await asyncio.sleep(MEASURE_S)  # a measuring window, not synchronisation
            grown = log_file.stat().st_size - size
        finally:
            for _, writer in clients:
                writer.close()
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (soft, hard))
        assert await answers_a_real_update(fake, port, 9102)
        assert proc.returncode is None
    log = log_file.read_text(errors="replace")
    assert grown < 2_000, f"{grown} bytes of log in {MEASURE_S} s while out of descriptors"
    assert log.count("out of file descriptors") == 1 and log.count("accepting connections again") == 1
    assert "Traceback" not in log


async def test_json_nested_too_deeply_is_400_with_one_log_line(fake, pipeline, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    port = free_port()
    async with running_bot(webhook_config(fake, tmp_path, port), pipeline):
        depth = 200_000
        async with httpx.AsyncClient(timeout=30) as client:
            deep = await client.post(f"http://127.0.0.1:{port}/tg/hook", content=b"[" * depth + b"]" * depth,
                                     headers={HEADER: SECRET, "Content-Type": "application/json"})
        assert deep.status_code == 400  # a 5xx would make Telegram resend it
        assert await answers_a_real_update(fake, port, 9103)
    lines = [r for r in caplog.records if r.name.startswith(("bot.webhook", "tornado", "asyncio"))]
    assert len(lines) == 1 and "nested too deeply" in lines[0].getMessage(), [r.getMessage() for r in lines]


def test_many_clients_together_get_a_bounded_number_of_lines_a_minute():
    import io

    from bot.logs import ClientLogGate

    now = [0.0]
    out = io.StringIO()
    logger = logging.getLogger("test.client_gate")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    logger.addFilter(ClientLogGate(interval_s=60, per_interval=20, clock=lambda: now[0]))
    try:
        for minute in range(3):
            now[0] = minute * 60.0
            for client in range(500):  # 500 addresses, 3 bad requests each per minute
                for _ in range(3):
                    logger.info("Malformed HTTP message from %s: %s", f"10.0.{client // 250}.{client % 250}",
                                "Invalid header value %r" % ("Z" * 15_000))
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 60 and all(len(line) < 200 for line in lines) and "ZZZ" not in out.getvalue()
    assert "more such lines dropped" in lines[20]
