"""An update the library cannot parse must not stop the bot (polling), nor leak into the logs;
stopping works even when a shutdown step fails; --health follows the updates actually received."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import time

from bot.app import check_health
from bot_harness import bot_config, running_bot
from recommender.store.sqlite import read_heartbeat
from test_bot_process import START_TIMEOUT, bot_env, bot_process

SECRET_TEXT = "Which of my exes do I call tonight"


def poll_message(user_id: int) -> dict:
    """A user's message carrying a poll in the shape a newer or self-hosted Bot API server sends
    (no `allows_revoting`, no option `persistent_id`): python-telegram-bot 22.8 cannot parse it."""
    return {"message": {
        "message_id": 77, "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Mallory", "username": "mallory_x"},
        "poll": {"id": "5551", "question": SECRET_TEXT, "total_voter_count": 0, "is_closed": False,
                 "is_anonymous": True, "type": "regular", "allows_multiple_answers": False,
                 "options": [{"text": "Alex", "voter_count": 0}]}}}


async def test_an_unparseable_update_is_skipped_once_and_later_updates_are_answered(fake, pipeline, tmp_path,
                                                                                 caplog):
    caplog.set_level(logging.INFO)
    async with running_bot(bot_config(fake, tmp_path), pipeline):
        stray = await fake.push({"poll": poll_message(1)["message"]["poll"]})
        poisoned = await fake.push(poll_message(9090901))
        user = fake.user(602)
        await user.send_text("/start")
        assert "selfie" in (await user.reply()).text.lower()
        calls_after_reply = fake.get_updates_calls
        # The offset moved past the poisoned update: Telegram forgets it, a restart won't see it.
        await fake.until(lambda: all(u["update_id"] > poisoned["update_id"] for u in fake.updates
                                     if "poll" not in u))
        # Only the types the bot handles are asked for: a stray poll-state update never arrives.
        assert sorted(fake.allowed_updates or []) == ["callback_query", "chosen_inline_result", "inline_query", "message"]
        assert poisoned["update_id"] in fake.delivered and stray["update_id"] not in fake.delivered
        # Polling went on at its usual pace, not in a tight loop over the same batch.
        assert calls_after_reply < 15, calls_after_reply
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and f"update={poisoned['update_id']}" in skipped[0].getMessage()
    assert skipped[0].levelno == logging.WARNING
    log = caplog.text
    for personal in (SECRET_TEXT, "Mallory", "mallory_x", "9090901"):
        assert personal not in log, personal


async def test_sigterm_stops_the_bot_even_when_a_shutdown_step_fails(fake, tmp_path):
    """The last getUpdates (which confirms the fetched updates) gets a malformed answer: the
    updater's stop raises, and the rest of the shutdown must still run and the process exit."""
    env = bot_env(tmp_path, fake)
    async with bot_process(tmp_path, env) as proc:
        user = fake.user(603)
        await user.send_text("/help")
        await user.reply(timeout=START_TIMEOUT)
        fake.odd_results["getUpdates"] = [12345] * 50
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0  # a hang, not speed: the old code never stopped
    log = (tmp_path / "bot.log").read_text()
    assert "shutdown step updater.stop failed" in log
    # The later steps ran: the history was closed cleanly (its WAL checkpointed and removed).
    assert not (tmp_path / "data" / "mood.sqlite3-wal").exists()


async def test_health_fails_while_no_updates_can_be_fetched_and_recovers(fake, pipeline, tmp_path):
    config = dataclasses.replace(bot_config(fake, tmp_path), heartbeat_s=1.0)
    async with running_bot(config, pipeline):
        await fake.until(lambda: read_heartbeat(config.database_path) is not None, 15)
        assert check_health(config)[0]
        fake.failures["getUpdates"] = [502] * 1000  # the Bot API keeps failing
        await fake.until(lambda: len(fake.failures["getUpdates"]) < 1000)  # (a long poll was in flight)
        broken_at = time.time()
        healthy, line = await fake.until(lambda: (lambda h: None if h[0] else h)(check_health(config)), 15)
        assert not healthy and "stuck" in line
        assert read_heartbeat(config.database_path) <= broken_at
        fake.failures["getUpdates"].clear()
        await fake.until(lambda: check_health(config)[0], 40)
        user = fake.user(604)
        await user.send_text("/start")
        assert "selfie" in (await user.reply()).text.lower()
