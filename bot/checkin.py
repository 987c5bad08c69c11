"""The opt-in daily check-in: /checkin sets a time and a zone; at that time the bot asks "How are
you today?" with the four moods (a press is a diary entry and a song, bot/handlers.py), a streak,
and on Sundays the week's moods.

Sending (`CheckinSender`, one per replica): claim due rows in the database, send, mark done
(recommender/store/checkins.py), so with several replicas each check-in is sent by exactly one.
A check-in that could not be sent (the bot was down, Telegram unreachable) is sent on the next
round, saying it is late and how many were missed, never silently dropped. A user who blocked
the bot (403) is unsubscribed. Sends are rate-limited (CHECKINS_PER_SECOND) under Telegram's
~30 messages/s, so a crowd of check-ins at 09:00 never starves replies.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import re
import secrets
import time
from collections import Counter

from aiolimiter import AsyncLimiter
from gettext import NullTranslations as Tr
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from recommender.store.base import HistoryStore, MoodMark
from recommender.store.checkins import Checkin, CheckinStore, checkins_of
from recommender.types import MOODS

from . import checkin_time as ct
from . import keyboards, texts
from . import services as svc
from .i18n import Languages
from .logs import current_trace

LOG = logging.getLogger(__name__)
PATTERN = r"^ci:"
_DATA = re.compile(r"ci:(?:t:(\d{4})|z:(\d{4}):(\d{1,2})|off)")
LEASE_S = 300.0  # a claim a crashed replica left is taken over after this
LATE_AFTER_S = 15 * 60  # later than this, the check-in says it is late
SENDER_KEY = "checkin_sender"
PARALLEL = 16  # sends in flight at once (the rate limiter decides how many per second)


# --- /checkin and its buttons -----------------------------------------------------------------

def _minute(data: str) -> int | None:
    minute = int(data[:2]) * 60 + int(data[2:])
    return minute if int(data[:2]) < 24 and int(data[2:]) < 60 else None


def time_keyboard(tr: Tr, subscribed: bool) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(ct.hhmm(m), callback_data=f"ci:t:{m // 60:02d}{m % 60:02d}") for m in ct.TIMES]
    rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
    if subscribed:
        rows.append([InlineKeyboardButton(texts.checkin_off_button(tr), callback_data="ci:off")])
    return InlineKeyboardMarkup(rows)


def zone_keyboard(minute: int) -> InlineKeyboardMarkup:
    at = f"{minute // 60:02d}{minute % 60:02d}"
    buttons = [InlineKeyboardButton(label, callback_data=f"ci:z:{at}:{i}") for i, (label, _, _) in enumerate(ct.ZONES)]
    return InlineKeyboardMarkup([buttons[i:i + 3] for i in range(0, len(buttons), 3)])


async def _subscribe(context: ContextTypes.DEFAULT_TYPE, user_id: int, chat_id: int, minute: int, zone: str) -> str:
    services = svc.get(context)
    language = current_trace().language  # the language this update is answered in
    await checkins_of(services.store).subscribe(Checkin(
        user_id, chat_id, minute, zone, language, ct.next_due(minute, zone, time.time())))
    return texts.checkin_set((await _tr_now(context)), ct.hhmm(minute), ct.zone_label(zone))


async def _tr_now(context: ContextTypes.DEFAULT_TYPE) -> Tr:
    services = svc.get(context)
    language = services.languages.get(current_trace().language) or services.languages.english
    return language.tr


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/checkin (menu), /checkin off, /checkin 8:30 [+2 | Berlin | Europe/Berlin]."""
    from . import handlers as h

    user_id = await h._personal_command(update, context, private_only=True)
    if user_id is None:
        return
    tr = await h._tr(update, context)
    table = checkins_of(svc.get(context).store)
    args = [a for a in (context.args or []) if a]
    trace = current_trace()
    if args and args[0].casefold() in ("off", "stop"):
        await h._reply(update, texts.checkin_off(tr, await table.unsubscribe(user_id)))
        trace.done("checkin_off")
        return
    if args:
        minute = ct.parse_time(args[0])
        zone = ct.parse_zone(" ".join(args[1:])) if len(args) > 1 else None
        if minute is not None and len(args) > 1 and zone is not None:
            await h._reply(update, await _subscribe(context, user_id, update.effective_chat.id, minute, zone))
            trace.done("checkin_set")
            return
        if minute is not None and len(args) == 1:
            await h._reply(update, texts.checkin_zone_prompt(tr, ct.hhmm(minute)), reply_markup=zone_keyboard(minute))
            trace.done("checkin_zone_menu")
            return
        current = await table.get(user_id)
        await h._reply(update, texts.checkin_bad_time(tr), reply_markup=time_keyboard(tr, current is not None))
        trace.done("checkin_bad_time")
        return
    current = await table.get(user_id)
    shown = (ct.hhmm(current.minute), ct.zone_label(current.zone)) if current else None
    await h._reply(update, texts.checkin_prompt(tr, shown), reply_markup=time_keyboard(tr, current is not None))
    trace.done("checkin_menu")


def _asked(data: str | None) -> tuple[str, int, int | None] | None:
    """What a /checkin button asks for: ("off" | "time" | "zone", minute of the day, zone index)."""
    match = _DATA.fullmatch(data or "")
    if match is None:
        return None
    minute = _minute(match.group(1) or match.group(2) or "0000")
    zone_index = int(match.group(3)) if match.group(3) else None
    if minute is None or (zone_index is not None and zone_index >= len(ct.ZONES)):
        return None
    return ("off" if data == "ci:off" else "time" if zone_index is None else "zone", minute, zone_index)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    from . import handlers as h

    query = update.callback_query
    assert query is not None
    pressed_by = await h._presser(update, context, _asked)
    if pressed_by is None:
        return
    user_id, (what, minute, zone_index) = pressed_by
    tr = await h._tr(update, context)
    if what == "off":
        text, markup = texts.checkin_off(tr, await checkins_of(svc.get(context).store).unsubscribe(user_id)), None
    elif what == "time":
        text, markup = texts.checkin_zone_prompt(tr, ct.hhmm(minute)), zone_keyboard(minute)
    else:
        text, markup = await _subscribe(context, user_id, h._chat_of(query, user_id), minute,
                                        ct.ZONES[zone_index][1]), None
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest:  # too old to edit: say it anew
        await context.bot.send_message(h._chat_of(query, user_id), text, parse_mode=ParseMode.HTML, reply_markup=markup)
    await h._answered(query)
    current_trace().done(f"checkin_{what}")


# --- sending ---------------------------------------------------------------------------------

def streak(marks: list[MoodMark], zone: str, now: float) -> int:
    """Consecutive local days with a mood, up to today (or yesterday, when today has none yet)."""
    days = {ct.local_day(m.at, zone) for m in marks}
    day = ct.local_day(now, zone)
    if day not in days:
        day -= dt.timedelta(days=1)
    n = 0
    while day in days:
        n += 1
        day -= dt.timedelta(days=1)
    return n


def checkin_text(tr: Tr, c: Checkin, marks: list[MoodMark], now: float) -> str:
    """The check-in for `c`, sent at `now`: late wording, the streak, and on its Sunday the week."""
    late = (ct.hhmm(c.minute), ct.missed(c.minute, c.zone, c.due_at, now)) if now - c.due_at > LATE_AFTER_S else None
    text = texts.checkin_message(tr, streak(marks, c.zone, now), late)
    if ct.local_day(c.due_at, c.zone).weekday() == 6:
        week = Counter(m.mood for m in marks if m.at >= now - 7 * 86400 and m.mood in MOODS)
        text = f"{texts.weekly_recap(tr, dict(week))}\n\n{text}"
    return text


class CheckinSender:
    """One replica's check-in loop; `stop()` lets the sends in flight finish and hands back the
    rest of the claimed batch."""

    def __init__(self, bot: Bot, store: HistoryStore, languages: Languages, *, per_second: int,
                 poll_s: float, replica: str) -> None:
        self.bot = bot
        self.store = store
        self.table: CheckinStore = checkins_of(store)
        self.languages = languages
        self.poll_s = poll_s
        self.batch = max(1, 2 * per_second)
        # One token refilled every 1/per_second s: evenly spaced, no burst at the start of a round.
        self.limiter = AsyncLimiter(1, 1 / per_second)
        # Unique per process: a restarted replica never mistakes its predecessor's claims for its own.
        self.replica = f"{replica}/{os.getpid()}/{secrets.token_hex(4)}"
        self.sent = 0
        self.rounds = self.failed_rounds = 0  # for operators and tests: is the loop alive?
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> CheckinSender:
        self._task = asyncio.create_task(self.run(), name="checkins")
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def run(self) -> None:
        while not self._stop.is_set():
            if not await self.round():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.poll_s)

    async def round(self) -> int:
        """Claim a batch of due check-ins and send them; how many were claimed."""
        try:
            batch = await self.table.claim(self.replica, time.time(), LEASE_S, self.batch)
        except Exception as exc:  # the database is away: due check-ins wait, and are sent late
            LOG.warning("check-ins not claimed: %s", type(exc).__name__)
            self.failed_rounds += 1
            return 0
        gate = asyncio.Semaphore(PARALLEL)

        async def one(c: Checkin) -> None:
            async with gate:
                await self._send(c)

        await asyncio.gather(*(one(c) for c in batch))
        self.rounds += 1
        return len(batch)

    async def _send(self, c: Checkin) -> None:
        if self._stop.is_set():
            await self._release(c)
            return
        try:
            chosen = await self.store.get_language(c.user_id)
            language = self.languages.get(chosen) or self.languages.get(c.language) or self.languages.english
            now = time.time()
            marks = await self.store.mood_marks(c.user_id, since=now - 60 * 86400)
            text = checkin_text(language.tr, c, marks, now)
            async with self.limiter:
                await self.bot.send_message(c.chat_id, text, parse_mode=ParseMode.HTML,
                                            reply_markup=keyboards.mood_keyboard(language.tr))
        except Forbidden:  # blocked by the user: no more check-ins
            await self._quietly(self.table.unsubscribe(c.user_id))
            LOG.info("check-in: the bot was blocked; unsubscribed")
            return
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                await self._quietly(self.table.unsubscribe(c.user_id))
                LOG.info("check-in: chat gone; unsubscribed")
                return
            LOG.warning("check-in refused (%s): skipped to the next day", exc.message)
        except Exception as exc:  # Telegram or the database unreachable: retried next round, late
            LOG.warning("check-in not sent: %s; retried next round", type(exc).__name__)
            await self._release(c)
            return
        else:
            self.sent += 1
        now = time.time()
        await self._quietly(self.table.done(c, self.replica, ct.next_due(c.minute, c.zone, max(now, c.due_at)), now))

    async def _release(self, c: Checkin) -> None:
        await self._quietly(self.table.release(c, self.replica))

    @staticmethod
    async def _quietly(step) -> None:  # type: ignore[no-untyped-def]
        try:
            await step
        except Exception as exc:  # the lease expires instead; the warning says so
            LOG.warning("check-in bookkeeping failed: %s", type(exc).__name__)


def start_sender(app: Application) -> CheckinSender:
    services: svc.Services = app.bot_data[svc.KEY]
    config = services.config
    sender = CheckinSender(app.bot, services.store, services.languages, per_second=config.checkins_per_second,
                           poll_s=config.checkin_poll_s, replica=config.replica)
    app.bot_data[SENDER_KEY] = sender
    return sender.start()


async def _then_stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before bot/handlers.py (group -1), whose text and unknown-button handlers match anything."""
    if update.callback_query is not None:
        await pressed(update, context)
    else:
        await command(update, context)
    raise ApplicationHandlerStop


def register(app: Application) -> None:
    chats = (filters.ChatType.PRIVATE | filters.ChatType.GROUPS) & ~filters.UpdateType.EDITED
    app.add_handler(CommandHandler("checkin", _then_stop, filters=chats), group=-1)
    app.add_handler(CallbackQueryHandler(_then_stop, pattern=PATTERN), group=-1)
