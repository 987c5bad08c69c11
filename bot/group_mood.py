"""A group's mood: a photo in a group that mentions or replies to the bot is read for every face
(the largest MAX_READ) and answered with one song for the room; "More" in a group is the chat's.

The room's song comes from the chat's own history (keyed by the chat id), so the group hears no
repeats whoever presses; what each face showed is counted for the reply and then dropped, never
stored. Flood limits hold per person and per chat. These handlers run before the private-chat
ones (group -1) and stop there; anything else falls through to bot/handlers.py.
"""
from __future__ import annotations

from collections import Counter
from gettext import NullTranslations as Tr
from typing import TYPE_CHECKING

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from recommender.decision import decide
from recommender.types import MOODS

from . import handlers as h
from . import keyboards, share, texts
from . import services as svc
from .limits import Verdict
from .logs import current_trace

if TYPE_CHECKING:
    from recommender.pipeline import Analysis

MAX_READ = 10
GROUP = -1  # before bot/handlers.py's handlers (group 0)


def room_mood(moods: list[str], probs: list[tuple[float, ...]]) -> str:
    """The most frequent mood; a tie goes to the mood with more summed probability."""
    counts = Counter(moods)
    return max(MOODS, key=lambda m: (counts[m], sum(p[MOODS.index(m)] for p in probs)))


async def _chat_admitted(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str, chat_id: int) -> bool:
    """The chat's own flood limit (a group is one audience); over it, quiet."""
    if svc.get(context).floods.check(kind, chat_id) is Verdict.ALLOW:
        return True
    current_trace().done("dropped_chat_flood")
    return False


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = svc.get(context)
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or not h._mentions_bot(message, services.bot_username):
        return  # not for the bot: bot/handlers.py ignores it
    trace = current_trace()
    user_id = h._sender_id(update)
    if user_id is None:
        trace.done("ignored_no_sender")
        raise ApplicationHandlerStop
    if not await h._admitted(update, context, "photo", user_id) \
            or not await _chat_admitted(update, context, "photo", chat.id):
        raise ApplicationHandlerStop
    tr = await h._tr(update, context)
    chosen = h._chosen_file(message, tr)
    if isinstance(chosen, str):
        await h._reply(update, chosen)
        trace.done("not_image")
        raise ApplicationHandlerStop
    file_id, size = chosen
    if size is not None and size > services.config.max_download_bytes:
        await h._refuse_too_large(update, tr, size, services.config.max_download_bytes)
        raise ApplicationHandlerStop
    typing = h._TypingLater(context, chat.id, services.config.typing_after_s)
    try:
        analysis = await h._read_photo(update, context, tr, file_id)
        if analysis is not None:
            await _answer(update, services, tr, chat.id, analysis)
    finally:
        await typing.finished()
    raise ApplicationHandlerStop


async def _answer(update: Update, services: svc.Services, tr: Tr, chat_id: int, analysis: Analysis) -> None:
    trace = current_trace()
    read = analysis.faces[:MAX_READ]
    decisions = [decide(services.calibration.read(f.scores.probs), services.calibration.unsure_below) for f in read]
    mood = room_mood([d.mood for d in decisions], [d.mood_probs for d in decisions])
    counts = Counter(d.mood for d in decisions)
    del decisions  # each face's reading is for this reply only
    pick = await services.songs.next(chat_id, mood)  # the chat's history: the room hears no repeats
    if pick is None:
        await h._reply(update, texts.no_face(tr))
        trace.done("no_songs")
        return
    await h._reply(update, texts.group_mood_reply(tr, len(analysis.faces), dict(counts), mood, pick, len(read)),
                   reply_markup=share.with_song(keyboards.song_keyboard(tr, pick.song.url, mood), tr, pick.song),
                   link_preview_options=h._song_options(pick.song))
    trace.done("group_song", faces=len(analysis.faces))


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"More" pressed in a group: the chat's next song of that mood, whoever presses."""
    query = update.callback_query
    assert query is not None
    if query.message is None or query.message.chat.type == ChatType.PRIVATE:
        return  # a private chat's More: bot/handlers.py
    services = svc.get(context)
    chat_id = query.message.chat.id
    pressed = await h._presser(update, context, h._known(services, keyboards.parse_more, lambda r: r.mood),
                               anyone=True)
    if pressed is None:
        raise ApplicationHandlerStop
    if not await _chat_admitted(update, context, "press", chat_id):
        await h._answered(query)
        raise ApplicationHandlerStop
    _, request = pressed
    tr = await h._tr(update, context)
    async with h._once(context, ("more", chat_id, h._message_id(query), query.data)) as first:
        if not first:  # a double tap, or two members at once: one song
            await h._toast(query, texts.already_sent(tr))
            raise ApplicationHandlerStop
        pick = await h._serve(services, chat_id, request.mood)
        await h._send_song(context, query, chat_id, texts.more_reply(tr, pick), pick,
                           keyboards.song_keyboard(tr, pick.song.url, request.mood), tr)
    await h._answered(query)
    await h._edit_markup(query, h._without(query.message, query.data))
    current_trace().done("group_more", restarted=int(pick.restarted))
    raise ApplicationHandlerStop


def register(app: Application) -> None:
    groups = filters.ChatType.GROUPS & ~filters.UpdateType.EDITED
    app.add_handler(MessageHandler(groups & (filters.PHOTO | filters.Document.IMAGE), photo), group=GROUP)
    app.add_handler(CallbackQueryHandler(more, pattern=keyboards.MORE_PATTERN), group=GROUP)
