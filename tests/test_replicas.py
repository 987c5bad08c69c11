"""Several replicas on one PostgreSQL history: two real `python -m bot` processes in webhook mode
behind a round-robin proxy, driven as Telegram would (bursts, repeated deliveries, a replica
killed mid-burst), and one bot living through a database outage."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections import Counter

import asyncpg
import httpx
import pytest

from bot_harness import bot_config, running_bot, selfie_jpeg
from fake_telegram import FakeTelegram, free_port
from rr_proxy import RoundRobinProxy
from test_bot_process import START_TIMEOUT, bot_env, bot_process

SECRET = "replica-secret_123"
HOOK = "/tg/hook"
LINK = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")
_names = itertools.count()




async def post(client: httpx.AsyncClient, url: str, update: dict, attempts: int = 5) -> int:
    """Deliver an update as Telegram does: resent until some replica answers 200."""
    status = 0
    for _ in range(attempts):
        with contextlib.suppress(httpx.TransportError):
            status = (await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})).status_code
            if status == 200:
                break
    return status


async def ready(client: httpx.AsyncClient, port: int, proc) -> None:
    """Until the replica's webhook server answers its probe (bounded)."""
    async def probe() -> bool:
        with contextlib.suppress(httpx.TransportError):
            r = await client.get(f"http://127.0.0.1:{port}{HOOK}", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            return r.status_code == 200
        return False

    async def loop() -> None:
        while not await probe():
            assert proc.returncode is None, "a replica exited during start-up"
            await asyncio.sleep(0.2)  # polling a process we do not control; the bound is the timeout

    await asyncio.wait_for(loop(), START_TIMEOUT)


async def songs_in_database(url: str) -> list[tuple[int, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [(r["user_id"], r["track_id"]) for r in await conn.fetch("SELECT user_id, track_id FROM served")]
    finally:
        await conn.close()


def songs_seen(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [m.group(1) for s in fake.sent_to(chat_id) if (m := LINK.search(s.text))]


async def test_two_replicas_share_one_history(fake, postgres, tmp_path):
    url = postgres.create_database(f"replicas{next(_names)}")
    ports = [free_port(), free_port()]
    dirs = [tmp_path / "r0", tmp_path / "r1"]
    envs = []
    for d, port in zip(dirs, ports):
        d.mkdir()
        envs.append(bot_env(d, fake, DATABASE_URL=url, WEBHOOK_URL=f"https://bot.example.com{HOOK}",
                            WEBHOOK_SECRET=SECRET, PORT=str(port), WEBHOOK_LISTEN="127.0.0.1"))
    proxy = await RoundRobinProxy([f"http://127.0.0.1:{p}" for p in ports]).start()
    try:
        async with bot_process(dirs[0], envs[0], "r0") as r0, bot_process(dirs[1], envs[1], "r1") as r1, \
                httpx.AsyncClient(timeout=30) as client:
            await asyncio.gather(ready(client, ports[0], r0), ready(client, ports[1], r1))
            assert fake.webhook is not None and fake.webhook["secret_token"] == SECRET  # set by both, same value

            # A burst of users, spread over both replicas by the proxy: one answer each.
            users = [fake.user(9000 + i) for i in range(16)]
            updates = [await u.send_photo(selfie_jpeg(), 512, 512) for u in users]
            assert set(await asyncio.gather(*(post(client, proxy.url(HOOK), up) for up in updates))) == {200}
            await fake.wait_for(lambda: all(songs_seen(fake, u.id) for u in users), 60)
            assert set(proxy.forwarded) == {f"http://127.0.0.1:{p}" for p in ports}

            # Telegram repeats some deliveries (to whichever replica): each is handled once.
            for up in updates[:6]:
                assert await post(client, proxy.url(HOOK), up) == 200
            for u, port in zip(users[:6], itertools.cycle(ports)):  # a later message to the same replica
                await post(client, f"http://127.0.0.1:{port}{HOOK}", await u.send_text("/help"))
            await fake.wait_for(lambda: all(len(fake.sent_to(u.id)) == 2 for u in users[:6]), 60)
            assert all(len(songs_seen(fake, u.id)) == 1 for u in users)

            # One user presses "More" under eight songs on both replicas at once: never the same song twice.
            first = next(s for s in fake.sent_to(users[0].id) if s.buttons)
            presses = [await users[0].press(data=first.buttons[0]["callback_data"]) for _ in range(8)]
            await asyncio.gather(*(post(client, f"http://127.0.0.1:{port}{HOOK}", p)
                                   for p, port in zip(presses, itertools.cycle(ports))))
            await fake.wait_for(lambda: len(songs_seen(fake, users[0].id)) == 9, 60)
            assert len(set(songs_seen(fake, users[0].id))) == 9

            # Replica 0 is killed mid-burst; the proxy moves on, no one sees a repeat, nothing shown is lost.
            late = [fake.user(9100 + i) for i in range(12)]
            late_updates = [await u.send_photo(selfie_jpeg(), 512, 512) for u in late]
            deliveries = [asyncio.create_task(post(client, proxy.url(HOOK), up)) for up in late_updates]
            await fake.wait_for(lambda: sum(bool(songs_seen(fake, u.id)) for u in late) >= 2, 60)
            r0.kill()
            await r0.wait()
            await asyncio.gather(*deliveries)
            # Telegram resends what was not acknowledged; updates r0 acknowledged but never handled
            # are gone (at most once), so a user may have to send again: they do, to the survivor.
            for u in late:
                if not songs_seen(fake, u.id):
                    await post(client, f"http://127.0.0.1:{ports[1]}{HOOK}", await u.send_photo(selfie_jpeg(), 512, 512))
            await fake.wait_for(lambda: all(songs_seen(fake, u.id) for u in late), 60)
            await post(client, proxy.url(HOOK), await late[0].press(next(s for s in fake.sent_to(late[0].id) if s.buttons)))
            await fake.wait_for(lambda: len(songs_seen(fake, late[0].id)) >= 2, 60)
            assert r1.returncode is None
    finally:
        await proxy.stop()

    assert all(len(songs_seen(fake, u.id)) == 1 for u in users[1:])  # repeated deliveries: no extra song
    stored = Counter(await songs_in_database(url))
    assert all(n == 1 for n in stored.values())  # no user was served a song twice
    for u in [*users, *late]:
        for track in songs_seen(fake, u.id):
            assert stored[(u.id, track)] == 1  # every song shown is in the shared history
        assert len(set(songs_seen(fake, u.id))) == len(songs_seen(fake, u.id))


async def test_a_database_outage_gets_a_friendly_reply_and_the_bot_recovers(fake, pipeline, tmp_path, postgres):
    url = postgres.create_database(f"outage{next(_names)}")
    config = bot_config(fake, tmp_path, DATABASE_URL=url)
    async with running_bot(config, pipeline):
        user = fake.user(7001)
        await user.send_photo(selfie_jpeg(), 512, 512)
        song = await user.reply()
        assert LINK.search(song.text)
        postgres.stop()
        try:
            await user.press(song)
            await fake.wait_for(lambda: fake.answered_queries or user.unread(), 30)
            told = [s for s in fake.sent if s.method == "answerCallbackQuery" and s.params.get("text")] + user.unread()
            assert any("try again" in (s.params.get("text") or s.text).lower() for s in told)
        finally:
            postgres.restart()
        await user.press(song)
        await fake.wait_for(lambda: len(songs_seen(fake, user.id)) == 2, 60)
    shown = songs_seen(fake, user.id)
    assert len(set(shown)) == 2
    assert Counter(track for uid, track in await songs_in_database(url) if uid == user.id) == Counter(shown)


async def test_an_unreachable_database_at_start_is_one_line_and_a_nonzero_exit(fake, tmp_path):
    from test_bot_process import run_to_end

    env = bot_env(tmp_path, fake, DATABASE_URL=f"postgresql://mml:secret-pw@127.0.0.1:{free_port()}/mml")
    code, output = await run_to_end(tmp_path, env)
    assert code == 2 and "secret-pw" not in output
    assert output.strip().splitlines() == [output.strip()] and "cannot connect to PostgreSQL at 127.0.0.1:" in output
    code, output = await run_to_end(tmp_path, env, "--health")
    assert code == 1 and "unreachable" in output and "secret-pw" not in output
