"""Waiting on something with its own limit does not take the processing slots everyone needs:
a busy group's replies (Telegram's 20 a minute per group) and a burst of /diary charts (their own
one-thread pool) leave private users and selfies served (issue 29, points 2 and 5)."""
from __future__ import annotations

import asyncio
import threading
import time

from bot.charts import Charts
from bot.processing import UserOrderedProcessor, parked
from bot_harness import bot_config, running_bot, selfie_jpeg
from recommender.store.sqlite import SQLiteHistoryStore

GROUP = -100800


async def test_a_group_over_its_telegram_rate_does_not_stop_private_users(fake, pipeline, tmp_path):
    async with running_bot(bot_config(fake, tmp_path, MAX_CONCURRENT_UPDATES="2"), pipeline):
        members = [fake.user(800 + n, chat_id=GROUP, chat_type="group") for n in range(22)]
        for member in members:
            await member.send_text("/start")
        # Telegram allows a group 20 messages a minute: the last two replies wait ~3 and ~6 s.
        await fake.wait_for(lambda: len(fake.sent_to(GROUP)) >= 20)
        private = fake.user(899)
        offered = time.monotonic()
        await private.send_text("/start")
        reply = await private.reply(timeout=10)
        assert "selfie" in reply.text and reply.at - offered < 1.5
        # The group is not dropped: every member gets the hint, at the group's pace.
        await fake.wait_for(lambda: len(fake.sent_to(GROUP)) == len(members), timeout=15)


async def test_a_burst_of_diaries_does_not_queue_a_selfie_behind_it(fake, pipeline, tmp_path):
    config = bot_config(fake, tmp_path, MAX_CONCURRENT_UPDATES="4")
    diarists = list(range(820, 836))
    store = await SQLiteHistoryStore.open(config.database_path)
    try:
        for user_id in diarists:
            for mood in ("happy", "calm", "sad"):
                await store.add_reading(user_id, "mood", mood)
    finally:
        await store.close()
    async with running_bot(config, pipeline):
        for user_id in diarists:
            await fake.user(user_id).send_text("/diary")
        bystander = fake.user(859)
        await bystander.send_photo(selfie_jpeg(), 512, 512)
        song = await bystander.reply(timeout=15)
        assert "open.spotify.com" in song.text
        # Sixteen charts take seconds to draw one after another; the selfie did not wait for them.
        charts_before = [s for s in fake.sent if s.method == "sendPhoto" and s.at <= song.at]
        assert len(charts_before) < len(diarists) // 2
        await fake.wait_for(lambda: len([s for s in fake.sent if s.method == "sendPhoto"]) == len(diarists),
                            timeout=30)


async def test_a_users_unchanged_chart_is_drawn_once_and_a_changed_one_again():
    charts = Charts(ttl_s=60.0)
    drawn: list[str] = []

    def render(label: str) -> bytes:
        drawn.append(label)
        return label.encode()

    try:
        assert await charts.draw(1, ("happy",), render, "a") == b"a"
        assert await charts.draw(1, ("happy",), render, "b") == b"a"  # same moods: the same picture
        assert await charts.draw(2, ("happy",), render, "c") == b"c"  # another user: their own
        assert await charts.draw(1, ("happy", "sad"), render, "d") == b"d"  # a new mood: redrawn
        assert drawn == ["a", "c", "d"]
    finally:
        charts.close()


async def test_charts_are_drawn_one_at_a_time_and_a_failure_reaches_its_asker():
    charts = Charts()
    running = 0
    most = 0
    lock = threading.Lock()

    def render(n: int) -> bytes:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            if n == 3:
                raise ValueError("bad chart")
            return bytes([n])
        finally:
            with lock:
                running -= 1

    try:
        results = await asyncio.gather(*(charts.draw(n, n, render, n) for n in range(6)),
                                       return_exceptions=True)
        assert [r if isinstance(r, bytes) else type(r) for r in results] == \
            [b"\x00", b"\x01", b"\x02", ValueError, b"\x04", b"\x05"]
        assert most == 1
    finally:
        charts.close()


async def test_parked_updates_hold_no_slot_and_every_slot_comes_back():
    processor = UserOrderedProcessor(2, max_pending_per_user=5, log_key=b"k")
    gate = asyncio.Event()
    ran: list[int] = []

    async def waits_parked(n: int) -> None:
        async with parked():
            await gate.wait()
        ran.append(n)

    async def quick() -> None:
        ran.append(-1)

    waiting = [asyncio.create_task(processor.process_update(object(), waits_parked(n))) for n in range(6)]
    await asyncio.wait_for(processor.process_update(object(), quick()), 2)  # 6 parked, 2 slots: it runs
    assert ran == [-1]
    waiting[0].cancel()  # cancelled while parked: it must not give back a slot it no longer holds
    gate.set()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert sorted(ran) == [-1, 1, 2, 3, 4, 5] and processor.current_concurrent_updates == 0

    release, inside = asyncio.Event(), []

    async def blocks(n: int) -> None:
        inside.append(n)
        await release.wait()

    three = [asyncio.create_task(processor.process_update(object(), blocks(n))) for n in range(3)]
    for _ in range(20):  # let every ready task run (loop turns, no clock)
        await asyncio.sleep(0)
    assert len(inside) == 2  # still exactly two slots
    release.set()
    await asyncio.wait_for(asyncio.gather(*three), 2)
    assert sorted(inside) == [0, 1, 2]
