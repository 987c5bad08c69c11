"""The webhook server under hostile or broken input: the secret is checked before the body is
read, bodies are capped, bad JSON is a 400 (not a 5xx Telegram would retry), an update the library
cannot parse is skipped with 200, and no payload reaches the log."""
from __future__ import annotations

import asyncio
import json
import logging
import socket

import httpx

from bot.app import check_health
from bot.config import Config
from bot_harness import bot_config, running_bot
from fake_telegram import TOKEN, free_port
from test_bot_process import bot_env, run_to_end
from test_bot_webhook import start_update
from test_poisoned_updates import SECRET_TEXT, poll_message

SECRET = "s3cret_value-1"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_config(fake, tmp_path, port: int) -> Config:
    return bot_config(fake, tmp_path, WEBHOOK_URL="https://bot.example.com/tg/hook",
                      WEBHOOK_SECRET=SECRET, PORT=str(port))


async def first_response_line(port: int, head: str, body_part: bytes = b"", timeout: float = 5.0) -> str:
    """Send request headers and only the start of the body; the server's status line, which must
    come without waiting for the rest of the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + b"\r\n\r\n" + body_part)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        return line.decode().strip()
    finally:
        writer.close()


def post_head(length: int, secret: str | None) -> str:
    lines = ["POST /tg/hook HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             f"Content-Length: {length}"]
    if secret is not None:
        lines.append(f"{HEADER}: {secret}")
    return "\r\n".join(lines)


def test_webhook_server_listens_on_loopback_by_default():
    config = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.com/hook",
                              "WEBHOOK_SECRET": SECRET})
    assert config.webhook_listen == "127.0.0.1"


async def test_big_bodies_without_the_secret_are_refused_before_they_are_read(fake, pipeline, tmp_path):
    port = free_port()
    async with running_bot(webhook_config(fake, tmp_path, port), pipeline):
        # 95 MB announced, 64 KiB sent: the answer must not wait for (or buffer) the rest.
        for secret in (None, "guess"):
            status = await first_response_line(port, post_head(95_000_000, secret), b"x" * 65536)
            assert status.startswith("HTTP/1.1 403"), status
        # With the secret, a body far larger than any update is refused up front as well.
        status = await first_response_line(port, post_head(2 * 1024 * 1024, SECRET), b"{")
        assert status.startswith("HTTP/1.1 413"), status
        async with httpx.AsyncClient(timeout=10) as client:
            # Chunked (no length up front): cut off once past the cap, and not processed.
            padded = start_update(40, 640)
            padded["message"]["text"] = "/start " + "x" * (2 * 1024 * 1024)

            async def chunks():
                data = json.dumps(padded).encode()
                for i in range(0, len(data), 65536):
                    yield data[i:i + 65536]

            try:
                big = await client.post(f"http://127.0.0.1:{port}/tg/hook", content=chunks(),
                                        headers={HEADER: SECRET, "Content-Type": "application/json"})
                assert big.status_code in (400, 413)
            except httpx.HTTPError:
                pass  # the server may close the connection while the client is still sending
            ok = await client.post(f"http://127.0.0.1:{port}/tg/hook", json=start_update(41, 641),
                                   headers={HEADER: SECRET})
            assert ok.status_code == 200
        assert "selfie" in (await fake.user(641).reply()).text.lower()
        assert fake.sent_to(640) == []


async def test_bad_json_is_400_and_an_unparseable_update_is_skipped(fake, pipeline, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    async with running_bot(webhook_config(fake, tmp_path, port), pipeline):
        async with httpx.AsyncClient(timeout=10) as client:
            broken = await client.post(url, content=b'{"update_id": 5, "message": {"text": "' + SECRET_TEXT.encode(),
                                       headers={HEADER: SECRET, "Content-Type": "application/json"})
            assert broken.status_code == 400  # a 5xx would make Telegram resend it
            poisoned = await client.post(url, json={"update_id": 6, **poll_message(9090902)},
                                         headers={HEADER: SECRET})
            assert poisoned.status_code == 200  # skipped: Telegram must not resend it forever
            ok = await client.post(url, json=start_update(7, 642), headers={HEADER: SECRET})
            assert ok.status_code == 200
        assert "selfie" in (await fake.user(642).reply()).text.lower()
        # Telegram is asked only for what the bot handles, with the secret.
        assert sorted(fake.webhook["allowed_updates"]) == ["callback_query", "chosen_inline_result", "inline_query", "message"]
        assert fake.webhook["secret_token"] == SECRET
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and "update=6" in skipped[0].getMessage()
    for personal in (SECRET_TEXT, "Mallory", "mallory_x", "9090902"):
        assert personal not in caplog.text, personal


async def test_an_idle_webhook_bot_is_healthy(fake, pipeline, tmp_path):
    port = free_port()
    config = webhook_config(fake, tmp_path, port)
    async with running_bot(config, pipeline):
        healthy, line = await fake.until(lambda: (lambda h: h if h[0] else None)(check_health(config)), 15)
        assert healthy and line.startswith("ok")


        async with httpx.AsyncClient(timeout=10) as client:  # the liveness probe needs the secret too
            assert (await client.get(f"http://127.0.0.1:{port}/tg/hook")).status_code == 403


async def test_a_port_in_use_is_one_line_and_exit_2(fake, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = bot_env(tmp_path, fake, WEBHOOK_URL="https://bot.example.com/tg/hook", WEBHOOK_SECRET=SECRET,
                      PORT=str(port))
        code, output = await run_to_end(tmp_path, env)
    lines = [line for line in output.splitlines() if line.startswith(("error", "Traceback"))]
    assert code == 2 and lines == [lines[0]] and f"127.0.0.1:{port}" in lines[0], output
