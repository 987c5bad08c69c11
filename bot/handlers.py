"""Telegram update handlers: thin glue between what people send and the recommender."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import LinkPreviewOptions, Message, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from recommender.music.service import Pick
from recommender.types import Song
from recommender.vision.imageio import WORK_SIDE, ImageError

from . import keyboards, texts
from . import services as svc
from .logs import current_trace

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# Image files people send as documents; everything else is refused before downloading.
IMAGE_MIME_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif"})
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
SEND_ATTEMPTS = 3


async def with_retry(send: Callable[[], Awaitable[T]]) -> T:
    """Retry a Bot API call on transient network errors so a reply is not lost.

    RetryAfter (flood wait) is retried by the AIORateLimiter; BadRequest and Forbidden are
    NetworkError subclasses in PTB but are final, so they are re-raised at once.
    """
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await send()
        except (BadRequest, Forbidden, RetryAfter):
            raise
        except NetworkError:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(0.5 * attempt)  # back-off before resending, not synchronisation
    raise AssertionError("unreachable")


def _is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _mentions_bot(message: Message, username: str | None) -> bool:
    """In groups the bot only looks at photos that address it (caption mention or a reply)."""
    if message.reply_to_message and message.reply_to_message.from_user \
            and message.reply_to_message.from_user.is_bot \
            and message.reply_to_message.from_user.username == username:
        return True
    caption = (message.caption or "").casefold()
    return bool(username) and f"@{username.casefold()}" in caption


async def _reply(update: Update, text: str, **kwargs: Any) -> Message:
    message = update.effective_message
    assert message is not None
    kwargs.setdefault("parse_mode", ParseMode.HTML)
    # In groups, quote the message answered so it is clear whose photo this is about.
    kwargs.setdefault("do_quote", not _is_private(update))
    return await with_retry(lambda: message.reply_text(text, **kwargs))


def _song_options(song: Song) -> LinkPreviewOptions:
    # Preview on, for this exact link: Telegram shows the cover art under the message.
    return LinkPreviewOptions(is_disabled=False, url=song.url)


# --- commands --------------------------------------------------------------------------------

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if _is_private(update):
        await _reply(update, texts.START)
    else:
        await _reply(update, texts.GROUP_HINT)
    current_trace().done("start")


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply(update, texts.help_text(svc.get(context).bot_username))
    current_trace().done("help")


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    assert user is not None
    n = await svc.get(context).store.forget(user.id)
    await _reply(update, texts.forgot(n) if n else texts.FORGOT_NOTHING)
    current_trace().done("forget", forgotten=n)


async def lift(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    assert user is not None
    store = svc.get(context).store
    on = not await store.get_lift(user.id)
    await store.set_lift(user.id, on)
    await _reply(update, texts.LIFT_ON if on else texts.LIFT_OFF)
    current_trace().done("lift", lift=int(on))


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not _is_private(update):
        current_trace().done("ignored_group")
        return
    await _reply(update, texts.HINT)
    current_trace().done("hint")


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not _is_private(update):
        current_trace().done("ignored_group")
        return
    kind = next((k for k in texts.UNSUPPORTED_MEDIA if getattr(message, k, None)), "other")
    if kind == "other" and getattr(message, "video_note", None):
        kind = "video"
    await _reply(update, texts.UNSUPPORTED_MEDIA[kind])
    current_trace().done("unsupported", media=kind)


# --- photos ------------------------------------------------------------------------------------

def _chosen_file(message: Message) -> tuple[str, int | None] | str:
    """(file_id, declared size) of the image to download, or a refusal text."""
    if message.photo:
        # The smallest size that still has the pipeline's working resolution: less to download
        # and decode than the 2560 px original, same answer.
        sizes = sorted(message.photo, key=lambda p: p.width * p.height)
        best = next((p for p in sizes if max(p.width, p.height) >= WORK_SIDE), sizes[-1])
        return best.file_id, best.file_size
    document = message.document
    assert document is not None
    mime = (document.mime_type or "").lower()
    name = (document.file_name or "").lower()
    if mime not in IMAGE_MIME_TYPES and not (mime in ("", "application/octet-stream")
                                             and name.endswith(IMAGE_SUFFIXES)):
        return texts.NOT_IMAGE
    return document.file_id, document.file_size


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = svc.get(context)
    trace = current_trace()
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    if not _is_private(update) and not _mentions_bot(message, services.bot_username):
        trace.done("ignored_group")
        return
    if trace.flood == "warn":
        await _reply(update, texts.FLOODED.format(limit=services.config.photos_per_minute))
        trace.done("flood_warned")
        return
    chosen = _chosen_file(message)
    if isinstance(chosen, str):
        await _reply(update, chosen)
        trace.done("not_image")
        return
    file_id, size = chosen
    limit = services.config.max_download_bytes
    if size is not None and size > limit:
        await _reply(update, texts.TOO_LARGE_DOWNLOAD.format(size=texts.human_bytes(size),
                                                             limit=texts.human_bytes(limit)))
        trace.done("too_large", bytes=size)
        return
    chat = update.effective_chat
    assert chat is not None
    # "typing…" while we work; sent alongside the download rather than before it (one round
    # trip less), and cosmetic: its failure never fails the answer.
    typing = asyncio.create_task(_chat_action(context, chat.id))
    try:
        await _answer_photo(update, context, services, file_id, limit)
    finally:
        await typing


async def _chat_action(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError:
        pass


async def _answer_photo(update: Update, context: ContextTypes.DEFAULT_TYPE, services: svc.Services,
                        file_id: str, limit: int) -> None:
    trace = current_trace()
    user = update.effective_user
    assert user is not None
    tg_file = await with_retry(lambda: context.bot.get_file(file_id))
    if tg_file.file_size is not None and tg_file.file_size > limit:
        await _reply(update, texts.TOO_LARGE_DOWNLOAD.format(size=texts.human_bytes(tg_file.file_size),
                                                             limit=texts.human_bytes(limit)))
        trace.done("too_large", bytes=tg_file.file_size)
        return
    data = bytes(await with_retry(tg_file.download_as_bytearray))  # in memory only, never on disk
    LOG.debug("update %s: downloaded %d bytes", trace.update_id, len(data))
    if len(data) > limit:
        await _reply(update, texts.TOO_LARGE_DOWNLOAD.format(size=texts.human_bytes(len(data)),
                                                             limit=texts.human_bytes(limit)))
        trace.done("too_large", bytes=len(data))
        return
    try:
        analysis = await services.analyze(data)
    except ImageError as exc:
        await _reply(update, exc.user_message)
        trace.done("bad_image", reason=type(exc).__name__)
        return
    finally:
        del data
    timings = getattr(analysis, "timings_ms", None) or {}
    trace.fields.update({f"{k}_ms": f"{v:.0f}" for k, v in timings.items()})
    if not analysis.faces or analysis.emotion is None or analysis.mood is None:
        await _reply(update, texts.NO_FACE)
        trace.done("no_face")
        return
    mood = analysis.mood
    pick = await services.songs.next(user.id, mood)
    reply = texts.analysis_reply(
        emotion=analysis.emotion, confidence=float(analysis.confidence or 0.0), mood=mood,
        n_faces=len(analysis.faces), pick=pick)
    if pick is None:
        await _reply(update, reply)
        trace.done("no_songs", mood=mood)
        return
    await _reply(update, reply, reply_markup=keyboards.more_keyboard(mood, pick.lift_step),
                 link_preview_options=_song_options(pick.song))
    trace.done("song", faces=len(analysis.faces), emotion=analysis.emotion, mood=mood,
               restarted=int(pick.restarted))


# --- "More" ------------------------------------------------------------------------------------

async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = svc.get(context)
    trace = current_trace()
    query = update.callback_query
    assert query is not None
    request = keyboards.parse_more(query.data)
    user_id = query.from_user.id
    if request is None or not services.songs.knows(request.mood):
        await with_retry(lambda: query.answer(texts.MORE_UNKNOWN, show_alert=True))
        trace.done("stale_button")
        return
    # Answer first: it stops the button's spinner while we pick the song.
    try:
        await query.answer()
    except BadRequest:
        pass  # a query older than ~15 min cannot be answered; still serve the song
    mood = request.mood
    pick = await services.songs.next(user_id, mood, after=request.step or 0)
    assert pick is not None
    chat_id = query.message.chat.id if query.message else user_id
    await with_retry(lambda: context.bot.send_message(
        chat_id, texts.more_reply(pick), parse_mode=ParseMode.HTML,
        reply_markup=keyboards.more_keyboard(mood, pick.lift_step),
        link_preview_options=_song_options(pick.song)))
    trace.done("more", mood=mood, restarted=int(pick.restarted),
               **({"lift_step": pick.lift_step} if pick.lift_step else {}))


async def unknown_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await with_retry(lambda: query.answer(texts.MORE_UNKNOWN, show_alert=True))
    current_trace().done("stale_button")


# --- errors ------------------------------------------------------------------------------------

async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Last resort: log without payloads, tell the user, keep running."""
    error = context.error
    current_trace().done("error", error=type(error).__name__)
    LOG.error("handler failed: %s: %s", type(error).__name__, error,
              exc_info=(type(error), error, error.__traceback__) if error else None)
    if isinstance(update, Update):
        try:
            if update.callback_query:
                await update.callback_query.answer(texts.BUSY_ERROR, show_alert=True)
            elif update.effective_message and _is_private(update):
                await update.effective_message.reply_text(texts.BUSY_ERROR)
        except TelegramError:
            pass


def register(app: Application) -> None:
    # Edits are ignored: re-captioning a photo must not serve another song. Channels are out.
    fresh = ~filters.UpdateType.EDITED
    chats = (filters.ChatType.PRIVATE | filters.ChatType.GROUPS) & fresh
    app.add_handler(CommandHandler("start", start, filters=fresh))
    app.add_handler(CommandHandler("help", help_command, filters=fresh))
    app.add_handler(CommandHandler("forget", forget, filters=fresh))
    app.add_handler(CommandHandler("lift", lift, filters=fresh))
    # Before the photo handler: Telegram also fills `document` for GIF animations.
    app.add_handler(MessageHandler(
        chats & (filters.Sticker.ALL | filters.VIDEO | filters.VIDEO_NOTE | filters.VOICE
                 | filters.AUDIO | filters.ANIMATION), unsupported))
    app.add_handler(MessageHandler(chats & (filters.PHOTO | filters.Document.ALL), photo))
    app.add_handler(MessageHandler(chats & filters.TEXT, text))
    app.add_handler(CallbackQueryHandler(more, pattern=keyboards.MORE_PATTERN))
    app.add_handler(CallbackQueryHandler(unknown_callback))
    app.add_error_handler(on_error)
