"""A Bot API outage as the operator reads it: one log line per state change, and the command menus
that could not be published at start published once the API is back."""
from __future__ import annotations

import asyncio
import logging
import signal

from bot.outage import Outage
from test_bot_process import START_TIMEOUT, bot_env, bot_process

PROFILE_METHODS = ("setMyCommands", "setMyDescription", "setMyShortDescription")


async def test_an_outage_logs_state_changes_only_and_the_menus_follow_when_it_ends(fake, tmp_path):
    # The Bot API answers getMe, then fails everything else with 502, as behind a broken proxy.
    for method in ("getUpdates", *PROFILE_METHODS):
        fake.failures[method] = [502] * 10_000
    async with bot_process(tmp_path, bot_env(tmp_path, fake)) as proc:
        log = tmp_path / "bot.log"
        await fake.until(lambda: fake.calls.count("getUpdates") >= 3, timeout=START_TIMEOUT)
        assert fake.commands is None
        fake.failures.clear()  # the API is back
        await fake.until(lambda: "command menus and profile published in every language" in log.read_text(),
                         timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    every = log.read_text().splitlines()
    lines = [line for line in every if "loop_lag " not in line]  # a loaded test host's own lag notes
    assert len(every) - len(lines) <= 3, every
    assert "Traceback" not in "\n".join(lines)
    down = [line for line in lines if "cannot get updates from the Telegram Bot API (NetworkError: Bad Gateway)" in line]
    back = [line for line in lines if "getting updates from the Telegram Bot API again after" in line]
    behind = [line for line in lines if "command menus and profile not published yet in en " in line]
    assert len(down) == len(back) == len(behind) == 1, lines
    assert len(lines) <= 10, lines  # ready, down, behind, back, published, stopping, and no more
    assert fake.commands and len({key[2] for key in fake.profile}) == 7  # every language's menu


def test_a_long_outage_is_remembered_every_few_minutes_not_every_retry(caplog):
    now = [1000.0]
    outage = Outage(remind_s=300, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="bot.outage")
    for _ in range(700):  # 700 failures over 11 2/3 minutes
        outage.failed(ConnectionError("All connection attempts failed"))
        now[0] += 1
    outage.reached()
    outage.reached()  # rounds after the recovery say nothing
    assert [r.getMessage() for r in caplog.records] == [
        "cannot get updates from the Telegram Bot API (ConnectionError: All connection attempts failed): "
        "retrying quietly, a note every 5 min until it works again",
        "still no updates from the Telegram Bot API after 5 min (ConnectionError: All connection attempts failed)",
        "still no updates from the Telegram Bot API after 10 min (ConnectionError: All connection attempts failed)",
        "getting updates from the Telegram Bot API again after 700 s",
    ]
    assert outage.recovered.is_set() and not outage.down


def test_nothing_is_logged_while_the_api_is_fine(caplog):
    outage = Outage()
    caplog.set_level(logging.INFO, logger="bot.outage")
    for _ in range(5):
        outage.reached()
    assert caplog.records == [] and not outage.recovered.is_set()
