"""`python -m bot` as a real process: start-up, replies, signals, bad tokens, kill -9 safety."""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from bot_harness import FIXTURE_CATALOG, selfie_jpeg
from fake_telegram import TOKEN, FakeTelegram, free_port

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")
START_TIMEOUT = 60.0  # a cold start loads the models; generous for a busy 2-core CI machine


def bot_env(tmp_path: Path, fake: FakeTelegram | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_", "SPOTIPY_"))}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.update({
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "DATABASE_PATH": str(tmp_path / "data" / "mood.sqlite3"),
        "CATALOG_PATH": str(FIXTURE_CATALOG),
        "TMPDIR": str(tmp_path / "tmp"),
        "LOG_LEVEL": "INFO",
        # Never real Telegram: without a fake, a closed loopback port.
        "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}/bot",
        "TELEGRAM_FILE_URL": f"http://127.0.0.1:{free_port()}/file/bot",
    })
    if fake is not None:
        env.update(fake.env())
    env.update(extra)
    return env


@contextlib.asynccontextmanager
async def bot_process(tmp_path: Path, env: dict[str, str], name: str = "bot") -> AsyncIterator[
        asyncio.subprocess.Process]:
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def run_to_end(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), START_TIMEOUT)
    return proc.returncode, (out + err).decode()


async def test_runs_answers_and_stops_cleanly_on_sigterm(fake, tmp_path):
    env = bot_env(tmp_path, fake)
    code, output = await run_to_end(tmp_path, env, "--health")
    assert code == 1 and "not running" in output  # the health check fails before the first start
    async with bot_process(tmp_path, env) as proc:
        user = fake.user(301)
        await user.send_text("/start")
        assert "selfie" in (await user.reply(timeout=START_TIMEOUT)).text.lower()
        code, output = await run_to_end(tmp_path, env, "--health")
        assert code == 0 and "ok: heartbeat" in output
        await user.send_photo(selfie_jpeg(), 512, 512)
        assert LINK.search((await user.reply()).text)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    # A clean stop marks the bot stopped: --health fails at once and a restore need not wait.
    code, output = await run_to_end(tmp_path, env, "--health")
    assert code == 1 and "not running" in output
    backup = str(tmp_path / "backups" / "before.sqlite3")
    for args in ([backup], ["--restore", backup]):
        done = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.backup", *args, cwd=tmp_path,
                                                    env=env, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(done.communicate(), START_TIMEOUT)
        assert done.returncode == 0, err.decode()
    log = (tmp_path / "bot.log").read_text()
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert re.search(r"kind=photo user=[0-9a-f]{12} outcome=song .*latency_ms=\d+", log)
    assert "user=301" not in log
    assert list((tmp_path / "tmp").iterdir()) == []  # the photo never touched the disk


async def test_logs_no_ids_at_debug_and_stops_on_sigint(fake, tmp_path):
    # DEBUG logging must still hide ids and the token (.env beside the code: tests/test_selfhost.py).
    async with bot_process(tmp_path, bot_env(tmp_path, fake, LOG_LEVEL="DEBUG")) as proc:
        user = fake.user(7770001)
        await user.send_text("/help")
        await user.reply(timeout=START_TIMEOUT)
        await user.send_photo(selfie_jpeg(), 512, 512)
        await user.reply()
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    log = (tmp_path / "bot.log").read_text()
    assert "kind=photo" in log and " DEBUG " in log
    assert re.search(r"bot @\w+ ready \(music-mood-lifter \d+\.\d+\.\d+\)", log)  # the version, once
    assert "7770001" not in log and TOKEN.split(":")[1] not in log


async def test_missing_token_fails_with_one_clear_line(tmp_path):
    code, output = await run_to_end(tmp_path, bot_env(tmp_path))
    assert code != 0
    assert output.strip().count("\n") == 0 and "TELEGRAM_BOT_TOKEN is not set" in output
    code, output = await run_to_end(tmp_path, bot_env(tmp_path), "--check")
    assert code != 0 and "TELEGRAM_BOT_TOKEN" in output


async def test_rejected_token_fails_clearly_without_printing_it(fake, tmp_path):
    wrong = "987654321:WRONG-token_abcdefghijklmnopqrstuv"
    code, output = await run_to_end(tmp_path, bot_env(tmp_path, fake, TELEGRAM_BOT_TOKEN=wrong))
    assert code != 0
    assert "rejected TELEGRAM_BOT_TOKEN" in output and wrong not in output and "WRONG-token" not in output
    assert "Traceback" not in output


async def test_check_validates_config_loads_everything_and_asks_the_bot_api(fake, tmp_path):
    code, output = await run_to_end(tmp_path, bot_env(tmp_path, fake), "--check")
    assert code == 0, output
    assert "ok: config valid; 48 songs in 4 moods" in output and TOKEN not in output
    assert "Bot API: @mood_lifter_test_bot" in output and fake.calls == ["getMe"]


async def test_check_exits_3_when_the_bot_api_is_unreachable_and_2_for_a_rejected_token(fake, tmp_path):
    # README: make check exits 3 when the Bot API is unreachable (nothing listens on this port).
    code, output = await run_to_end(tmp_path, bot_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN), "--check")
    assert code == 3 and output.strip().count("\n") == 0, output
    assert output.startswith("error: cannot reach the Telegram Bot API at http://127.0.0.1:")
    wrong = "987654321:WRONG-token_abcdefghijklmnopqrstuv"
    code, output = await run_to_end(tmp_path, bot_env(tmp_path, fake, TELEGRAM_BOT_TOKEN=wrong), "--check")
    assert code == 2 and "rejected TELEGRAM_BOT_TOKEN" in output and "WRONG" not in output
    code, output = await run_to_end(tmp_path, bot_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN), "--check", "--offline")
    assert code == 0 and "Bot API: not asked (--offline)" in output, output


async def test_kill_9_or_sigterm_during_a_burst_loses_nothing(fake, tmp_path):
    """Songs are committed before they are shown: after a crash none is served twice; a SIGTERM
    answers every update already taken before exiting."""
    env = bot_env(tmp_path, fake)
    users = [fake.user(400 + i) for i in range(12)]
    async with bot_process(tmp_path, env, "first") as proc:
        await users[0].send_text("/start")
        await users[0].reply(timeout=START_TIMEOUT)
        for _ in range(5):
            for user in users:
                await user.press(data="more:happy")  # an old button
        await fake.wait_for(lambda: sum(len(LINK.findall(s.text)) for s in fake.sent) >= 20, 30)
        proc.kill()  # SIGKILL in the middle of the burst
        await proc.wait()
    acknowledged = {u.id: [LINK.search(s.text).group(1) for s in fake.sent_to(u.id) if LINK.search(s.text)]
                    for u in users}
    assert sum(map(len, acknowledged.values())) < 60, "the burst finished before the kill"
    with sqlite3.connect(env["DATABASE_PATH"]) as db:
        stored = {u.id: {r[0] for r in db.execute("SELECT track_id FROM served WHERE user_id = ?", (u.id,))}
                  for u in users}
    for uid, songs in acknowledged.items():
        assert set(songs) <= stored[uid]  # every song a user saw is in the history

    # Telegram would redeliver the updates the killed bot never confirmed; dropping them keeps
    # the count below exact (redelivered presses would only add new songs).
    fake.updates.clear()

    # A SIGTERM in the middle of a burst: every update the bot took is answered before it exits.
    def songs_sent() -> int:
        return sum(1 for s in fake.sent if s.method == "sendMessage" and LINK.search(s.text))

    before = songs_sent()
    async with bot_process(tmp_path, env, "second") as proc:
        await users[0].send_text("/help")
        await users[0].reply(timeout=START_TIMEOUT)
        for _ in range(3):
            for user in users:
                await user.press(data="more:happy")
        await fake.wait_for(lambda: songs_sent() >= before + 10, 30)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    taken = 3 * len(users) - len(fake.updates)  # the rest was never confirmed, so Telegram keeps it
    assert songs_sent() - before == taken
    fake.updates.clear()
    with sqlite3.connect(env["DATABASE_PATH"]) as db:
        stored = {u.id: [r[0] for r in db.execute("SELECT track_id FROM served WHERE user_id = ?", (u.id,))]
                  for u in users}
    for user in users:
        shown = [LINK.search(s.text).group(1) for s in fake.sent_to(user.id) if LINK.search(s.text)]
        assert set(shown) <= set(stored[user.id])
        assert len(shown) == len(set(shown)), "a song was served twice after the crash"

    async with bot_process(tmp_path, env, "third") as proc:
        for user in users:
            user._seen = len(fake.sent_to(user.id))
            await user.press(data="more:happy")
        for user in users:
            reply = await user.reply(timeout=START_TIMEOUT)
            assert LINK.search(reply.text).group(1) not in stored[user.id]
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_unreachable_bot_api_fails_with_one_clear_line(tmp_path):
    env = bot_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}/bot")
    code, output = await run_to_end(tmp_path, env)
    assert code == 3 and "cannot reach the Telegram Bot API" in output
    assert output.strip().count("\n") == 0 and TOKEN not in output
