"""The daily check-in (issue 27): set up with buttons or in words, sent at its time with the four
moods, late with the right wording after the bot was away, exactly once across two replicas on
PostgreSQL and a restart, unsubscribed on a 403, deleted by /forget; and its time arithmetic."""
from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import sqlite3
import time
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from bot import checkin_time as ct
from bot import texts
from bot.checkin import SENDER_KEY, checkin_text, streak
from bot.i18n import Languages
from bot_harness import bot_config, running_bot
from recommender.store.base import MoodMark
from recommender.store.checkins import Checkin, checkins_of
from recommender.store.postgres import PostgresHistoryStore
from recommender.types import MOODS

EN = Languages.load().english.tr
QUESTION = "How are you today?"
_names = itertools.count()


def db_path(tmp_path):
    return tmp_path / "data" / "mood.sqlite3"


def set_due(tmp_path, user_id: int, at: float) -> None:
    """Move a check-in's time, as the clock would (setup, beside the running bot: WAL allows it)."""
    with sqlite3.connect(db_path(tmp_path), timeout=5) as db:
        assert db.execute("UPDATE checkins SET due_at = ? WHERE user_id = ?", (at, user_id)).rowcount == 1


def row(tmp_path, user_id: int):
    with sqlite3.connect(db_path(tmp_path), timeout=5) as db:
        return db.execute("SELECT minute, zone, due_at FROM checkins WHERE user_id = ?", (user_id,)).fetchone()


def checkins_sent(fake, chat_id: int) -> list:
    return [s for s in fake.sent_to(chat_id) if QUESTION in s.text]


def fast(fake, tmp_path, **env):
    return bot_config(fake, tmp_path, CHECKIN_POLL_S="0.05", **env)


async def test_checkin_is_set_with_buttons_and_asks_at_its_time(fake, pipeline, tmp_path):
    async with running_bot(fast(fake, tmp_path), pipeline):
        user = fake.user(501)
        await user.send_text("/checkin")
        menu = await user.reply()
        assert menu.text == texts.checkin_prompt(EN, None)
        assert [b["text"] for b in menu.buttons] == ["07:00", "08:00", "09:00", "12:00", "18:00", "21:00"]
        await user.press(menu, "ci:t:0900")
        zones = await fake.wait_for(lambda: [s for s in fake.sent if s.method == "editMessageText"])
        assert zones[-1].text == texts.checkin_zone_prompt(EN, "09:00")
        berlin = next(b for b in zones[-1].buttons if b["text"] == "Berlin")
        await user.press(menu, berlin["callback_data"])
        done = await fake.wait_for(lambda: [s for s in fake.sent if s.method == "editMessageText"][1:])
        assert done[0].text == texts.checkin_set(EN, "09:00", "Berlin")
        minute, zone, due = row(tmp_path, 501)
        local = dt.datetime.fromtimestamp(due, ZoneInfo("Europe/Berlin"))
        assert (minute, zone, local.hour, local.minute) == (540, "Europe/Berlin", 9, 0)
        assert 0 < due - time.time() <= 86400
        set_due(tmp_path, 501, time.time() - 1)  # 09:00 in Berlin has come
        asked = (await fake.wait_for(lambda: checkins_sent(fake, 501)))[0]
        assert QUESTION in asked.text and "late" not in asked.text  # (on a Sunday after the week's recap)
        assert [b["callback_data"] for b in asked.buttons] == [f"mood:{m}" for m in MOODS]
        await fake.until(lambda: row(tmp_path, 501)[2] > time.time())  # tomorrow's, once sent
        assert len(checkins_sent(fake, 501)) == 1
        user._seen = len(fake.sent_to(501))
        await user.press(asked, "mood:calm")  # the answer is a diary entry and a song
        assert "open.spotify.com" in (await user.reply()).text


async def test_a_checkin_missed_while_the_bot_was_away_comes_late_and_says_so(fake, pipeline, tmp_path):
    due = (int(time.time()) // 60 - 180) * 60  # the check-in time came three hours ago
    at = dt.datetime.fromtimestamp(due, dt.UTC).strftime("%H:%M")
    async with running_bot(fast(fake, tmp_path), pipeline):
        user, away = fake.user(502), fake.user(503)
        for u in (user, away):
            await u.send_text(f"/checkin {at} UTC")
            assert (await u.reply()).text == texts.checkin_set(EN, at, "UTC")
        set_due(tmp_path, 502, due)  # the bot was down for three hours
        set_due(tmp_path, 503, due - 3 * 86400)  # ... or for three days and three hours
        late = (await fake.wait_for(lambda: checkins_sent(fake, 502)))[0]
        assert f"Sorry, I'm late — this check-in was due at {at}.\n{QUESTION}" in late.text
        missed = (await fake.wait_for(lambda: checkins_sent(fake, 503)))[0]
        assert f"Sorry, I was away and missed 3 check-ins.\n{QUESTION}" in missed.text  # one sent, never four
        await fake.until(lambda: row(tmp_path, 503)[2] > time.time())
        assert len(checkins_sent(fake, 503)) == 1


async def test_a_user_who_blocked_the_bot_is_unsubscribed(fake, pipeline, tmp_path):
    async with running_bot(fast(fake, tmp_path), pipeline):
        blocker, other = fake.user(504), fake.user(505)
        for u in (blocker, other):
            await u.send_text("/checkin 9:00 +2")
            await u.reply()
        fake.blocked.add(504)
        set_due(tmp_path, 504, time.time() - 1)
        set_due(tmp_path, 505, time.time() - 1)
        await fake.wait_for(lambda: checkins_sent(fake, 505))
        await fake.until(lambda: row(tmp_path, 504) is None)  # the 403 unsubscribed them
        assert checkins_sent(fake, 504) == []


async def test_checkin_in_words_off_forget_and_groups(fake, pipeline, tmp_path):
    async with running_bot(fast(fake, tmp_path), pipeline):
        user = fake.user(506)
        await user.send_text("/checkin 7:30 +5:30")
        assert (await user.reply()).text == texts.checkin_set(EN, "07:30", "UTC+05:30")
        await user.send_text("/checkin 25:99 Mars")
        bad = await user.reply()
        assert bad.text == texts.checkin_bad_time(EN) and bad.buttons[-1]["callback_data"] == "ci:off"
        await user.send_text("/checkin 21")  # a time without a zone: the zones to pick from
        assert (await user.reply()).text == texts.checkin_zone_prompt(EN, "21:00")
        await user.send_text("/checkin")
        assert (await user.reply()).text == texts.checkin_prompt(EN, ("07:30", "UTC+05:30"))
        await user.send_text("/forget")
        assert (await user.reply()).text == texts.forgot_settings(EN)  # not "I kept nothing about you"
        assert row(tmp_path, 506) is None
        await user.send_text("/checkin off")
        assert (await user.reply()).text == texts.checkin_off(EN, False)
        member = fake.user(507, chat_id=-100507, chat_type="group")
        await member.send_text("/checkin 9:00 UTC")
        assert (await member.reply()).text == texts.private_only(EN)


# --- several replicas on PostgreSQL ------------------------------------------------------------

async def test_two_replicas_send_each_checkin_once_across_a_restart(fake, pipeline, postgres, tmp_path):
    url = postgres.create_database(f"checkins{next(_names)}")
    store = await PostgresHistoryStore.open(url)
    table = checkins_of(store)
    n = 120
    users = range(600_000, 600_000 + n)
    try:
        for uid in users:
            await table.subscribe(Checkin(uid, uid, 9 * 60, "UTC", "en", time.time() - 1))
        configs = [fast(fake, tmp_path / f"r{i}", DATABASE_URL=url, CHECKINS_PER_SECOND="40") for i in range(2)]
        total = lambda: sum(len(checkins_sent(fake, u)) for u in users)  # noqa: E731
        async with running_bot(configs[0], pipeline):
            async with running_bot(configs[1], pipeline):
                await fake.wait_for(lambda: total() >= 30)
            # replica 1 stopped mid-way (its unsent claims handed back); replica 0 goes on, then
            # replica 1 comes back
            async with running_bot(configs[1], pipeline):
                await fake.wait_for(lambda: total() >= n, timeout=30)
                sentinel = 699_999
                await table.subscribe(Checkin(sentinel, sentinel, 9 * 60, "UTC", "en", time.time() - 1))
                await fake.wait_for(lambda: checkins_sent(fake, sentinel))  # a later round ran
        per_user = Counter({u: len(checkins_sent(fake, u)) for u in users})
        assert set(per_user.values()) == {1}
        assert all(c.due_at > time.time() for c in [await table.get(u) for u in users])
    finally:
        await store.close()


async def test_the_sender_lives_through_a_database_outage(fake, pipeline, postgres, tmp_path):
    url = postgres.create_database(f"checkin_outage{next(_names)}")

    async def subscribe(due: float) -> None:  # a connection of its own each time: the server restarts
        store = await PostgresHistoryStore.open(url)
        try:
            await checkins_of(store).subscribe(Checkin(610, 610, 9 * 60, "UTC", "en", due))
        finally:
            await store.close()

    await subscribe(time.time() + 3600)
    async with running_bot(fast(fake, tmp_path, DATABASE_URL=url), pipeline) as app:
        sender = app.bot_data[SENDER_KEY]
        postgres.stop()  # rounds fail meanwhile (logged), the bot keeps running
        try:
            await fake.until(lambda: sender.failed_rounds >= 2)
        finally:
            postgres.restart()
        await subscribe(time.time() - 1)
        await fake.wait_for(lambda: checkins_sent(fake, 610), timeout=30)
        after = sender.rounds
        await fake.until(lambda: sender.rounds >= after + 3)  # later rounds send nothing more
    assert len(checkins_sent(fake, 610)) == 1


async def test_claims_never_overlap_between_replicas(postgres):
    url = postgres.create_database(f"claims{next(_names)}")
    stores = [await PostgresHistoryStore.open(url) for _ in range(2)]
    try:
        a, b = (checkins_of(s) for s in stores)
        for uid in range(50):
            await a.subscribe(Checkin(uid, uid, 0, "UTC", None, time.time() - 1))
        first, second = await asyncio.gather(*(t.claim(r, time.time(), 60, 40) for t, r in ((a, "a"), (b, "b"))))
        assert not {c.user_id for c in first} & {c.user_id for c in second}
        assert len(first) + len(second) == 50
        assert await a.claim("c", time.time(), 60, 50) == []  # held: nobody else takes them
        assert await a.claim("c", time.time() + 61, 60, 50)  # a crashed holder's lease runs out
    finally:
        for s in stores:
            await s.close()


# --- times, streaks, the weekly recap ----------------------------------------------------------

def test_next_due_follows_the_local_clock_across_daylight_saving():
    berlin = ZoneInfo("Europe/Berlin")
    before = dt.datetime(2026, 3, 28, 10, 0, tzinfo=berlin).timestamp()  # the day before DST starts
    due = ct.next_due(9 * 60, "Europe/Berlin", before)
    assert dt.datetime.fromtimestamp(due, berlin) == dt.datetime(2026, 3, 29, 9, 0, tzinfo=berlin)
    assert due - before == 22 * 3600  # 23 wall-clock hours, 22 real ones
    assert ct.next_due(9 * 60, "UTC+05:30", dt.datetime(2026, 1, 1, 3, 29, tzinfo=dt.UTC).timestamp()) \
        == dt.datetime(2026, 1, 1, 3, 30, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize("typed, zone", [("+3", "UTC+03:00"), ("UTC-05:30", "UTC-05:30"), ("gmt+1", "UTC+01:00"),
                                         ("berlin", "Europe/Berlin"), ("Asia/Tokyo", "Asia/Tokyo"),
                                         ("+15", None), ("Mars", None), ("Europe/Nowhere", None), ("UTC", "UTC")])
def test_zones_people_type(typed, zone):
    assert ct.parse_zone(typed) == zone


@pytest.mark.parametrize("typed, minute", [("8", 480), ("08:30", 510), ("7.15", 435), ("21h00", 1260),
                                           ("24:00", None), ("9:60", None), ("noon", None)])
def test_times_people_type(typed, minute):
    assert ct.parse_time(typed) == minute


def _marks(*days_ago: float, now: float) -> list[MoodMark]:
    return [MoodMark(now - d * 86400, "calm", True) for d in days_ago]


def test_the_streak_counts_days_in_a_row_up_to_today_or_yesterday():
    now = dt.datetime(2026, 6, 10, 9, 0, tzinfo=dt.UTC).timestamp()
    assert streak(_marks(0, 1, 2, 4, now=now), "UTC", now) == 3
    assert streak(_marks(1, 2, now=now), "UTC", now) == 2  # today not answered yet: still going
    assert streak(_marks(2, 3, now=now), "UTC", now) == 0


def test_sundays_checkin_recaps_the_week_from_the_diary():
    sunday = dt.datetime(2026, 6, 14, 9, 0, tzinfo=dt.UTC).timestamp()
    marks = [MoodMark(sunday - d * 86400, m, True) for d, m in
             ((1, "happy"), (2, "happy"), (3, "calm"), (9, "sad"))]  # the sad one is last week's
    text = checkin_text(EN, Checkin(1, 1, 540, "UTC", "en", sunday), marks, sunday + 5)
    assert text.startswith(texts.weekly_recap(EN, {"happy": 2, "calm": 1}))
    assert "🔥 3 days in a row" in text
    monday = checkin_text(EN, Checkin(1, 1, 540, "UTC", "en", sunday + 86400), marks, sunday + 86400 + 5)
    assert "Your week" not in monday
