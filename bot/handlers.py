"""Telegram update handlers: thin glue between what people send and the recommender.

Every Bot API call goes through the bot's rate limiter, which also retries transient network
errors (bot/app.py), so the handlers call the API plainly.
"""
from __future__ import annotations

import asyncio
import logging
import time
import traceback
from typing import Any

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from recommender.adapt import adapt
from recommender.music.service import Pick
from recommender.text_mood import mood_from_text
from recommender.types import MOODS, Song
from recommender.vision.calibration import MoodReading
from recommender.vision.imageio import WORK_SIDE, ImageError

from . import diary, keyboards, texts
from . import services as svc
from .downloads import DownloadFailed, TooLarge
from .limits import Verdict
from .logs import current_trace

LOG = logging.getLogger(__name__)

# Image files people send as documents; everything else is refused before downloading.
IMAGE_MIME_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif"})
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")


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


def _sender_id(update: Update) -> int | None:
    """The person behind an update, or None: channel posts and messages sent on behalf of a chat
    (anonymous group admins, linked channels) have no one whose history or settings to use."""
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        return None
    user = update.effective_user
    return user.id if user is not None and not user.is_bot else None


async def _reply(update: Update, text: str, **kwargs: Any) -> Message:
    message = update.effective_message
    assert message is not None  # only called for updates that carry a message
    kwargs.setdefault("parse_mode", ParseMode.HTML)
    # In groups, quote the message answered so it is clear whose photo this is about.
    kwargs.setdefault("do_quote", not _is_private(update))
    return await message.reply_text(text, **kwargs)


async def _admitted(update: Update, services: svc.Services, kind: str, user_id: int) -> bool:
    """Ask the flood limits before working: over the limit, tell the user once, then stay quiet."""
    verdict = services.floods.check(kind, user_id)
    if verdict is Verdict.ALLOW:
        return True
    trace = current_trace()
    if verdict is Verdict.DROP:
        trace.done("dropped_flood")
        return False
    notice = texts.FLOODED[kind].format(limit=services.floods.limit(kind))
    if update.callback_query is not None:
        await update.callback_query.answer(notice, show_alert=True)
    else:
        await _reply(update, notice)
    trace.done("flood_warned")
    return False


async def _refuse_too_large(update: Update, size: int | None, limit: int) -> None:
    await _reply(update, texts.too_large(size, limit))
    current_trace().done("too_large", **({"bytes": size} if size is not None else {}))


def _song_options(song: Song) -> LinkPreviewOptions:
    # Preview on, for this exact link: Telegram shows the cover art under the message.
    return LinkPreviewOptions(is_disabled=False, url=song.url)


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
HISTORY_SIZE = 10


# --- commands --------------------------------------------------------------------------------

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _admitted_text(update, context):
        return
    await _reply(update, texts.START if _is_private(update) else texts.GROUP_HINT)
    current_trace().done("start")


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _admitted_text(update, context):
        return
    await _reply(update, texts.help_text(svc.get(context).bot_username))
    current_trace().done("help")


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = await _personal_command(update, context)
    if user_id is None:
        return
    store = svc.get(context).store
    had_moods = bool(await store.mood_marks(user_id, since=0))  # moods can be kept without songs
    n = await store.forget(user_id)
    await _reply(update, texts.forgot(n) if n or had_moods else texts.FORGOT_NOTHING)
    current_trace().done("forget", forgotten=n)


async def lift(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = await _personal_command(update, context)
    if user_id is None:
        return
    store = svc.get(context).store
    on = not await store.get_lift(user_id)
    await store.set_lift(user_id, on)
    await _reply(update, texts.LIFT_ON if on else texts.LIFT_OFF)
    current_trace().done("lift", lift=int(on))


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text naming a feeling gets a song of that mood; anything else the friendly hint."""
    if not _is_private(update):
        current_trace().done("ignored_group")
        return
    if not await _admitted_text(update, context):
        return
    message = update.effective_message
    user_id = _sender_id(update)
    mood = mood_from_text(message.text or "") if message is not None else None
    services = svc.get(context)
    if mood is None or user_id is None or not services.songs.knows(mood):
        await _reply(update, texts.HINT)
        current_trace().done("hint")
        return
    await services.store.add_reading(user_id, "text", mood)
    pick = await _serve(services, user_id, mood)
    await _reply(update, texts.asked_reply(pick, from_text=True),
                 reply_markup=keyboards.more_keyboard(mood, pick.lift_step),
                 link_preview_options=_song_options(pick.song))
    current_trace().done("text_mood")


async def mood_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _admitted_text(update, context):
        return
    await _reply(update, texts.MOOD_PROMPT, reply_markup=keyboards.mood_keyboard())
    current_trace().done("mood_menu")


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The last songs served: title — artist, mood, when, link; previews off (ten covers is noise)."""
    user_id = await _personal_command(update, context, private_only=True)
    if user_id is None:
        return
    services = svc.get(context)
    served = await services.store.recent_songs(user_id, HISTORY_SIZE)
    if not served:
        await _reply(update, texts.HISTORY_EMPTY)
        current_trace().done("history", songs=0)
        return
    rows = [(services.songs.catalog.get(s.track_id), s.mood,
             time.strftime("%d %b %H:%M UTC", time.gmtime(s.at))) for s in served]
    await _reply(update, texts.history_text(rows), link_preview_options=NO_PREVIEW)
    current_trace().done("history", songs=len(rows))


async def diary_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The mood chart as a photo, drawn in the worker pool (never on the event loop), in memory."""
    user_id = await _personal_command(update, context, private_only=True)
    if user_id is None:
        return
    services = svc.get(context)
    trace = current_trace()
    now = time.time()
    marks = await services.store.mood_marks(user_id, since=now - diary.DAYS * 86400)
    events = diary.recent([diary.MoodEvent(m.at, m.mood, m.chosen) for m in marks], now)
    if not events:
        await _reply(update, texts.DIARY_EMPTY)
        trace.done("diary", moods=0)
        return
    loop = asyncio.get_running_loop()
    try:
        png = await loop.run_in_executor(services.executor, diary.render, events, now)
    except Exception as exc:  # a drawing failure is this reply's problem, not the bot's
        LOG.warning("update %s: diary drawing failed: %s", trace.update_id, type(exc).__name__)
        await _reply(update, texts.DIARY_FAILED)
        trace.done("diary_failed")
        return
    message = update.effective_message
    assert message is not None  # a command always has a message
    await message.reply_photo(png, caption=diary.summary(events),
                              do_quote=not _is_private(update))
    trace.done("diary", moods=len(events), png_bytes=len(png))


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not _is_private(update):
        current_trace().done("ignored_group")
        return
    if not await _admitted_text(update, context):
        return
    kind = next((k for k in texts.UNSUPPORTED_MEDIA if getattr(message, k, None)), "other")
    if kind == "other" and getattr(message, "video_note", None):
        kind = "video"
    await _reply(update, texts.UNSUPPORTED_MEDIA[kind])
    current_trace().done("unsupported", media=kind)


async def _admitted_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Texts, commands and media the bot only answers: flood-limited per sender (or chat)."""
    key = _sender_id(update)
    if key is None:
        chat = update.effective_chat
        key = chat.id if chat is not None else 0
    return await _admitted(update, svc.get(context), "text", key)


async def _personal_command(update: Update, context: ContextTypes.DEFAULT_TYPE, *,
                            private_only: bool = False) -> int | None:
    """The sender's id for a command about their own data, or None when it is not to be answered
    (no sender, flooded, or a private-only command in a group, which gets a one-line pointer)."""
    user_id = _sender_id(update)
    if user_id is None:
        current_trace().done("ignored_no_sender")
        return None
    if not await _admitted_text(update, context):
        return None
    if private_only and not _is_private(update):  # someone's moods and songs are not for a group
        await _reply(update, texts.PRIVATE_ONLY)
        current_trace().done("private_only")
        return None
    return user_id


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
    assert document is not None  # the handler's filter: a photo or a document
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
    assert message is not None  # the handler's filter: a photo or a document
    if not _is_private(update) and not _mentions_bot(message, services.bot_username):
        trace.done("ignored_group")
        return
    user_id = _sender_id(update)
    if user_id is None:
        trace.done("ignored_no_sender")
        return
    if not await _admitted(update, services, "photo", user_id):
        return
    chosen = _chosen_file(message)
    if isinstance(chosen, str):
        await _reply(update, chosen)
        trace.done("not_image")
        return
    file_id, size = chosen
    if size is not None and size > services.config.max_download_bytes:
        await _refuse_too_large(update, size, services.config.max_download_bytes)
        return
    chat = update.effective_chat
    assert chat is not None  # a message always has a chat
    # "typing…" while we work; sent alongside the download rather than before it (one round
    # trip less), and cosmetic: its failure never fails the answer.
    typing = asyncio.create_task(_chat_action(context, chat.id))
    try:
        data = await _download(update, context, services, file_id)
        if data is not None:
            await _answer_photo(update, services, user_id, data)
    finally:
        await typing


async def _chat_action(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError:
        pass


async def _download(update: Update, context: ContextTypes.DEFAULT_TYPE, services: svc.Services,
                    file_id: str) -> bytes | None:
    """The image in memory (never on disk), or None when the user was told why not."""
    trace = current_trace()
    limit = services.config.max_download_bytes
    try:
        async with asyncio.timeout(services.config.download_timeout_s):
            try:
                tg_file = await context.bot.get_file(file_id)
            except BadRequest as exc:
                # Telegram refuses getFile for files over its own 20 MB download limit.
                if "too big" in exc.message.lower():
                    raise TooLarge(None) from None
                raise DownloadFailed(f"getFile: {type(exc).__name__}") from None
            except TelegramError as exc:
                raise DownloadFailed(f"getFile: {type(exc).__name__}") from None
            if tg_file.file_size is not None and tg_file.file_size > limit:
                raise TooLarge(tg_file.file_size)
            data = await services.downloads.fetch(str(tg_file.file_path))
    except TooLarge as exc:
        await _refuse_too_large(update, exc.size, limit)
        return None
    except TimeoutError:
        LOG.warning("update %s: download gave up after %d s", trace.update_id,
                    services.config.download_timeout_s)
        await _reply(update, texts.DOWNLOAD_SLOW)
        trace.done("download_timeout")
        return None
    except DownloadFailed as exc:
        LOG.warning("update %s: download failed: %s", trace.update_id, exc)
        await _reply(update, texts.DOWNLOAD_FAILED)
        trace.done("download_failed")
        return None
    LOG.debug("update %s: downloaded %d bytes", trace.update_id, len(data))
    return data


async def _answer_photo(update: Update, services: svc.Services, user_id: int, data: bytes) -> None:
    trace = current_trace()
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
    seen = services.calibration.read(analysis.faces[0].scores.probs)
    mood, mood_probs = await _decide(services, user_id, seen)
    # Only scores and the mood are kept, never the photo; the id goes into the buttons.
    reading = await services.store.add_reading(user_id, "selfie", mood, seen.scores)
    if mood_probs[MOODS.index(mood)] < services.calibration.unsure_below:
        likeliest = tuple(sorted(MOODS, key=lambda m: -mood_probs[MOODS.index(m)])[:2])
        await _reply(update, texts.unsure_reply(
            emotion=seen.emotion, confidence=seen.confidence,
            moods=likeliest, n_faces=len(analysis.faces)),  # type: ignore[arg-type]
            reply_markup=keyboards.pick_keyboard(reading, likeliest))
        trace.done("unsure", faces=len(analysis.faces))
        return
    pick = await services.songs.next(user_id, mood)
    reply = texts.analysis_reply(emotion=seen.emotion, confidence=seen.confidence, mood=mood,
                                 n_faces=len(analysis.faces), pick=pick)
    if pick is None:
        await _reply(update, reply)
        trace.done("no_songs")
        return
    await _reply(update, reply, reply_markup=keyboards.more_keyboard(mood, pick.lift_step, reading),
                 link_preview_options=_song_options(pick.song))
    trace.done("song", faces=len(analysis.faces), restarted=int(pick.restarted))


async def _decide(services: svc.Services, user_id: int, seen: MoodReading) -> tuple[str, tuple[float, ...]]:
    """The mood to answer and the calibrated mood probabilities behind it, tilted toward the moods
    this person chose in past corrections (bounded: recommender/adapt.py); without any, the
    calibrated reading's own decision."""
    probs = seen.mood_probs
    counts = await services.store.chosen_counts(user_id)
    if not any(counts.values()):
        return seen.mood, probs
    adapted = adapt(probs, counts)
    return MOODS[max(range(len(MOODS)), key=adapted.__getitem__)], adapted


# --- "More" ------------------------------------------------------------------------------------

async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The query is answered exactly once: after the song is sent (stopping the spinner), or,
    when anything fails before, by the error handler with an alert."""
    services = svc.get(context)
    trace = current_trace()
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    request = keyboards.parse_more(query.data)
    if request is None or not services.songs.knows(request.mood):
        await _stale(update)
        return
    user_id = query.from_user.id
    if not await _admitted(update, services, "press", user_id):
        return
    pick = await _serve(services, user_id, request.mood, after=request.step or 0)
    await _send_song(context, query, user_id, texts.more_reply(pick), pick,
                     keyboards.more_keyboard(request.mood, pick.lift_step))
    await _answered(query)
    trace.done("more", restarted=int(pick.restarted),
               **({"lift_step": pick.lift_step} if pick.lift_step else {}))


async def _serve(services: svc.Services, user_id: int, mood: str, after: int | None = None) -> Pick:
    """The next song of a mood the caller checked with `songs.knows`, stored before it is shown."""
    pick = await services.songs.next(user_id, mood, after=after)
    if pick is None:
        raise LookupError("no song for a known mood")
    return pick


async def _send_song(context: ContextTypes.DEFAULT_TYPE, query: Any, user_id: int, text: str, pick: Pick,
                     markup: InlineKeyboardMarkup) -> None:
    """A song as a new message in the pressed button's chat; the preview shows its cover."""
    chat_id = query.message.chat.id if query.message else user_id
    await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                   link_preview_options=_song_options(pick.song))


async def _stale(update: Update, text: str = texts.MORE_UNKNOWN) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(text, show_alert=True)
    current_trace().done("stale_button")


async def _answered(query: Any) -> None:
    try:
        await query.answer()
    except TelegramError:
        pass  # too old (~15 min) or unreachable: the reply is there, the spinner stops by itself


async def fix(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Not my mood": the four moods replace the buttons of that same message."""
    services = svc.get(context)
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    reading_id = keyboards.parse_fix(query.data)
    if reading_id is None:
        await _stale(update)
        return
    user_id = query.from_user.id
    if not await _admitted(update, services, "press", user_id):
        return
    if await services.store.reading(user_id, reading_id) is None:
        await _stale(update, texts.READING_UNKNOWN)
        return
    markup = keyboards.pick_keyboard(reading_id)
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest:  # the message is gone or too old to edit: offer the moods anew
        chat_id = query.message.chat.id if query.message else user_id
        await context.bot.send_message(chat_id, texts.MOOD_PROMPT, reply_markup=markup)
    await _answered(query)
    current_trace().done("fix_opened")


async def pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A mood chosen for a reading: recorded (scores + chosen mood), then a song of that mood."""
    services = svc.get(context)
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    request = keyboards.parse_pick(query.data)
    if request is None or not services.songs.knows(request.mood):
        await _stale(update)
        return
    user_id = query.from_user.id
    if not await _admitted(update, services, "press", user_id):
        return
    reading = await services.store.reading(user_id, request.reading)
    if reading is None or not await services.store.add_choice(user_id, reading.id, request.mood):
        await _stale(update, texts.READING_UNKNOWN)
        return
    song = await _serve(services, user_id, request.mood)
    await _send_song(context, query, user_id, texts.chosen_reply(song, corrected=request.mood != reading.mood),
                     song, keyboards.more_keyboard(request.mood, song.lift_step, reading.id))
    await _answered(query)
    current_trace().done("picked", corrected=int(request.mood != reading.mood))


async def mood_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A mood from /mood: stored as a chosen mood (for the diary), then a song of it."""
    services = svc.get(context)
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    mood = keyboards.parse_mood(query.data)
    if mood is None or not services.songs.knows(mood):
        await _stale(update)
        return
    user_id = query.from_user.id
    if not await _admitted(update, services, "press", user_id):
        return
    await services.store.add_reading(user_id, "mood", mood)
    song = await _serve(services, user_id, mood)
    await _send_song(context, query, user_id, texts.asked_reply(song, from_text=False), song,
                     keyboards.more_keyboard(mood, song.lift_step))
    await _answered(query)
    current_trace().done("mood_chosen")


async def unknown_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    await query.answer(texts.MORE_UNKNOWN, show_alert=True)
    current_trace().done("stale_button")


# --- errors ------------------------------------------------------------------------------------

async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Last resort: log where it failed (not the message: it may quote what a user sent), tell
    the user once, keep running."""
    error = context.error
    current_trace().done("error", error=type(error).__name__)
    frames = "".join(traceback.format_tb(error.__traceback__)) if error is not None else ""
    LOG.error("handler failed: %s\n%s", type(error).__name__, frames.rstrip())
    if isinstance(update, Update):
        try:
            await _tell_failure(update, context)
        except TelegramError:
            pass


async def _tell_failure(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(texts.BUSY_ERROR, show_alert=True)
            return
        except BadRequest:
            pass  # answered already or too old: say it in the chat instead
        chat_id = query.message.chat.id if query.message else query.from_user.id
        await context.bot.send_message(chat_id, texts.BUSY_ERROR)
    elif update.effective_message is not None and update.effective_chat is not None \
            and update.effective_chat.type != ChatType.CHANNEL:
        await _reply(update, texts.BUSY_ERROR)


def register(app: Application) -> None:
    # Edits are ignored: re-captioning a photo must not serve another song. Channels are out:
    # nothing there is sent by a person the bot could answer.
    fresh = ~filters.UpdateType.EDITED
    chats = (filters.ChatType.PRIVATE | filters.ChatType.GROUPS) & fresh
    app.add_handler(CommandHandler("start", start, filters=chats))
    app.add_handler(CommandHandler("help", help_command, filters=chats))
    app.add_handler(CommandHandler("forget", forget, filters=chats))
    app.add_handler(CommandHandler("lift", lift, filters=chats))
    app.add_handler(CommandHandler("mood", mood_command, filters=chats))
    app.add_handler(CommandHandler("history", history, filters=chats))
    app.add_handler(CommandHandler("diary", diary_command, filters=chats))
    # Before the photo handler: Telegram also fills `document` for GIF animations.
    app.add_handler(MessageHandler(
        chats & (filters.Sticker.ALL | filters.VIDEO | filters.VIDEO_NOTE | filters.VOICE
                 | filters.AUDIO | filters.ANIMATION), unsupported))
    app.add_handler(MessageHandler(chats & (filters.PHOTO | filters.Document.ALL), photo))
    app.add_handler(MessageHandler(chats & filters.TEXT, text))
    app.add_handler(CallbackQueryHandler(more, pattern=keyboards.MORE_PATTERN))
    app.add_handler(CallbackQueryHandler(fix, pattern=keyboards.FIX_PATTERN))
    app.add_handler(CallbackQueryHandler(pick, pattern=keyboards.PICK_PATTERN))
    app.add_handler(CallbackQueryHandler(mood_pressed, pattern=keyboards.MOOD_PATTERN))
    app.add_handler(CallbackQueryHandler(unknown_callback))
    app.add_error_handler(on_error)
