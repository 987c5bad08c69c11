"""Deep links: t.me/<bot>?start=<payload> opens the bot on something.

- `calm`, `happy`, `energetic`, `sad`: a song of that mood (not stored as the user's mood: a link
  someone shared says nothing about how the opener feels);
- `diary`: the diary; `checkin`: the daily check-in menu.
The payload comes from whoever made the link: only these exact words are acted on; anything else
(forged, too long, old) falls through to the normal greeting. Private chats only.
"""
from __future__ import annotations

import re

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, ContextTypes, filters

from . import handlers as h
from . import keyboards, share, texts
from . import services as svc
from .logs import current_trace

_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what Telegram allows in a start parameter
MOOD_PAYLOADS = ("calm", "happy", "energetic", "sad")
PAYLOADS = (*MOOD_PAYLOADS, "diary", "checkin")
GROUP = -1  # before bot/handlers.py's /start


def payload(args: list[str] | None) -> str | None:
    """The known payload of a /start, or None (none, or one the bot does not know)."""
    if not args or len(args) != 1 or not _PAYLOAD.fullmatch(args[0]):
        return None
    return args[0] if args[0] in PAYLOADS else None


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    what = payload(context.args)
    if what is None:
        return  # bot/handlers.py greets normally
    context.args = []  # the payload is not an argument of the command it opens
    if what == "diary":
        await h.diary_command(update, context)
    elif what == "checkin":
        from . import checkin

        await checkin.command(update, context)
    else:
        await _song(update, context, what)
    raise ApplicationHandlerStop


async def _song(update: Update, context: ContextTypes.DEFAULT_TYPE, mood: str) -> None:
    user_id = h._sender_id(update)
    if user_id is None or not await h._admitted_text(update, context):
        return
    services = svc.get(context)
    tr = await h._tr(update, context)
    if not services.songs.knows(mood):
        await h._reply(update, texts.start(tr))
        current_trace().done("start")
        return
    pick = await h._serve(services, user_id, mood)
    await h._reply(update, texts.asked_reply(tr, pick, from_text=False),
                   reply_markup=share.with_song(keyboards.song_keyboard(tr, pick.song.url, mood, pick.lift_step), tr, pick.song),
                   link_preview_options=h._song_options(pick.song))
    current_trace().done("deep_link_song")


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED
    app.add_handler(CommandHandler("start", start, filters=private, has_args=True), group=GROUP)
