"""Telegram update handlers: thin glue between what people send and the recommender.

Every Bot API call goes through the bot's rate limiter, which also retries transient network
errors (bot/app.py), so the handlers call the API plainly.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from gettext import NullTranslations as Tr

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    MaybeInaccessibleMessage,
    Message,
    Update,
)
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

from recommender.decision import Decision, decide
from recommender.music.service import Pick
from recommender.store.base import HistoryStore, NewReading, Reading, UserSettings
from recommender.store.checkins import checkins_of
from recommender.text_mood import TextReading, read_text
from recommender.types import Song
from recommender.vision.calibration import MoodReading
from recommender.vision.imageio import WORK_SIDE, ImageError

from . import diary, keyboards, share, texts
from . import services as svc
from .downloads import DownloadFailed, TooLarge
from .i18n import AUTO, Language
from .limits import Verdict
from .logs import current_trace
from .processing import parked

if TYPE_CHECKING:  # loads the models' runtime: the bot imports it when serving starts
    from recommender.pipeline import Analysis

LOG = logging.getLogger(__name__)
T = TypeVar("T")

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


def _owner(update: Update) -> int | None:
    """Who may press the buttons of the answer to this update: in a group its sender, in a
    private chat None (only its one person can press there)."""
    return None if _is_private(update) else _sender_id(update)


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


async def _language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Language:
    """The reader's language: their /language choice, else their Telegram app's (read once per
    update; the trace keeps it, also for the error handler)."""
    services = svc.get(context)
    known = services.languages.get(current_trace().language)
    if known is not None:
        return known
    user_id = _sender_id(update)
    return _speak(update, services, await services.store.get_language(user_id) if user_id is not None else None)


def _speak(update: Update, services: svc.Services, chosen: str | None) -> Language:
    """The language for a user's stored choice (None: their Telegram app's), kept for this update."""
    user = update.effective_user
    language = services.languages.resolve(chosen, user.language_code if user is not None else None)
    current_trace().language = language.code
    return language


async def _tr(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Tr:
    return (await _language(update, context)).tr


async def _admitted(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str, user_id: int) -> bool:
    """Ask the flood limits before working: over the limit, tell the user once, then stay quiet."""
    services = svc.get(context)
    verdict = services.floods.check(kind, user_id)
    if verdict is Verdict.ALLOW:
        return True
    trace = current_trace()
    if verdict is Verdict.DROP:
        if update.callback_query is not None:  # every press is answered, or its spinner spins on
            await _answered(update.callback_query)
        trace.done("dropped_flood")
        return False
    notice = texts.flooded(await _tr(update, context), kind, services.floods.limit(kind))
    if update.callback_query is not None:
        await update.callback_query.answer(notice, show_alert=True)
    else:
        await _reply(update, notice)
    trace.done("flood_warned")
    return False


async def _refuse_too_large(update: Update, tr: Tr, size: int | None, limit: int) -> None:
    await _reply(update, texts.too_large(tr, size, limit))
    current_trace().done("too_large", **({"bytes": size} if size is not None else {}))


def _song_options(song: Song) -> LinkPreviewOptions:
    # Preview on, for this exact link: Telegram shows the cover art under the message.
    return LinkPreviewOptions(is_disabled=False, url=song.url)


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


# --- commands --------------------------------------------------------------------------------

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _admitted_text(update, context):
        return
    tr = await _tr(update, context)
    if _is_private(update):
        await _reply(update, texts.start(tr), reply_markup=keyboards.start_keyboard(tr))
    else:
        await _reply(update, texts.group_hint(tr))
    current_trace().done("start")


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A short overview; each detail is a button that edits itself into this message."""
    if not await _admitted_text(update, context):
        return
    tr = await _tr(update, context)
    await _reply(update, texts.help_text(tr, svc.get(context).bot_username),
                 reply_markup=keyboards.help_keyboard(tr, _owner(update)))
    current_trace().done("help")


async def help_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /help detail (or back to the overview), edited into the pressed message."""
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    pressed = await _presser(update, context, lambda d: keyboards.parse_section(d, keyboards.HELP_SECTIONS + ("top",)))
    if pressed is None:
        return
    user_id, section = pressed
    tr = await _tr(update, context)
    owner = None if _is_private(update) else user_id
    username = svc.get(context).bot_username
    text, current = (texts.help_text(tr, username), None) if section == "top" \
        else (texts.help_section(tr, section, username), section)
    markup = keyboards.help_keyboard(tr, owner, current)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:  # a double tap (shown already), or too old to edit: send it instead
        if "not modified" not in exc.message:
            await context.bot.send_message(_chat_of(query, user_id), text, parse_mode=ParseMode.HTML,
                                           reply_markup=markup)
    await _answered(query)
    current_trace().done("help_detail")


async def show_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /start button: the how-it-works text, or the mood picker, as a new message."""
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    pressed = await _presser(update, context, lambda d: keyboards.parse_section(d, keyboards.SHOW_SECTIONS))
    if pressed is None:
        return
    user_id, section = pressed
    tr = await _tr(update, context)
    owner = None if _is_private(update) else user_id
    chat_id = _chat_of(query, user_id)
    if section == "mood":
        await context.bot.send_message(chat_id, texts.mood_prompt(tr), reply_markup=keyboards.mood_keyboard(tr, owner))
    else:
        await context.bot.send_message(chat_id, texts.help_section(tr, "how", svc.get(context).bot_username),
                                       parse_mode=ParseMode.HTML,
                                       reply_markup=keyboards.help_keyboard(tr, owner, "how"))
    await _answered(query)
    current_trace().done("start_button", section=section)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Private only: in a group a tappable "/forget@bot" would erase whoever taps it.
    user_id = await _personal_command(update, context, private_only=True)
    if user_id is None:
        return
    services = svc.get(context)
    store = services.store
    chosen_language = await store.get_language(user_id)
    tr = _speak(update, services, chosen_language).tr  # the language spoken until now answers
    had_moods = bool(await store.mood_marks(user_id, since=0))  # moods can be kept without songs
    had_moods = had_moods or await checkins_of(store).get(user_id) is not None  # a daily check-in too
    n = await store.forget(user_id)
    if chosen_language is not None and _is_private(update):
        await _chat_commands(context, user_id, None)
    reply = texts.forgot(tr, n) if n else texts.forgot_settings(tr) if had_moods or chosen_language \
        else texts.forgot_nothing(tr)
    await _reply(update, reply)
    current_trace().done("forget", forgotten=n)


async def lift(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = await _personal_command(update, context)
    if user_id is None:
        return
    store = svc.get(context).store
    on = not await store.get_lift(user_id)
    await store.set_lift(user_id, on)
    tr = await _tr(update, context)
    await _reply(update, texts.lift_on(tr) if on else texts.lift_off(tr))
    current_trace().done("lift", lift=int(on))


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The languages as buttons, each in its own name; the reply is in the language spoken now."""
    user_id = await _personal_command(update, context)
    if user_id is None:
        return
    services = svc.get(context)
    stored = await services.store.get_language(user_id)
    language = _speak(update, services, stored)
    chosen = stored if services.languages.get(stored) else None  # one no longer spoken: none ticked
    await _reply(update, texts.language_prompt(language.tr, language.name),
                 reply_markup=keyboards.language_keyboard(language.tr, services.languages, chosen, _owner(update)))
    current_trace().done("language_menu")


async def language_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A language chosen (or "same as Telegram"): stored, confirmed in it, and in a private chat
    the command menu of that chat follows."""
    services = svc.get(context)
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    pressed = await _presser(update, context, lambda d: keyboards.parse_language(d, services.languages))
    if pressed is None:
        return
    user_id, code = pressed
    chosen = None if code == AUTO else code
    async with _once(context, ("lang", _chat_of(query, user_id), _message_id(query))) as first:
        if not first:  # a double tap: the menu is answered already
            await _answered(query)
            current_trace().done("pressed_again")
            return
        await services.store.set_language(user_id, chosen)
        language = _speak(update, services, chosen)  # the choice just made, not the one read before
        confirmation = texts.language_set(language.tr)
        try:
            await query.edit_message_text(confirmation, parse_mode=ParseMode.HTML)
        except BadRequest:  # too old to edit: say it anew
            await context.bot.send_message(_chat_of(query, user_id), confirmation, parse_mode=ParseMode.HTML)
    if _is_private(update):
        await _chat_commands(context, user_id, None if chosen is None else language)
    await _answered(query)
    current_trace().done("language_chosen")


async def _chat_commands(context: ContextTypes.DEFAULT_TYPE, chat_id: int, language: Language | None) -> None:
    """A private chat's command menu in a chosen language, or (None) back to the one Telegram
    picks by the app's language. Cosmetic: a failure is logged, never the user's problem."""
    scope = BotCommandScopeChat(chat_id)
    try:
        if language is None:
            await context.bot.delete_my_commands(scope=scope)
        else:
            await context.bot.set_my_commands(
                [BotCommand(name, text) for name, text in texts.commands(language.tr)], scope=scope)
    except TelegramError as exc:
        LOG.warning("update %s: chat command menu not updated: %s", current_trace().update_id, type(exc).__name__)


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text naming a feeling gets a song of that mood ("so stressed": calm music, and the reply
    says stressed); a greeting or sad words without a mood get their own reply; anything else the
    friendly hint."""
    if not _is_private(update):
        current_trace().done("ignored_group")
        return
    if not await _admitted_text(update, context):
        return
    message = update.effective_message
    user_id = _sender_id(update)
    language = await _language(update, context)
    reading = read_text(message.text or "", language.code) if message is not None else TextReading()
    services = svc.get(context)
    mood = reading.mood
    if mood is None or user_id is None or not services.songs.knows(mood):
        await _text_without_song(update, language.tr, reading)
        return
    pick = await _serve(services, user_id, mood, reading=NewReading("text", mood))
    reply = texts.felt_reply(language.tr, pick, reading.feeling) if reading.feeling \
        else texts.asked_reply(language.tr, pick, from_text=True)
    await _reply(update, reply, reply_markup=share.with_song(
        keyboards.song_keyboard(language.tr, pick.song.url, mood, pick.lift_step), language.tr, pick.song),
                 link_preview_options=_song_options(pick.song))
    current_trace().done("text_mood")  # no mood or feeling in the log: what someone wrote stays theirs


async def _text_without_song(update: Update, tr: Tr, reading: TextReading) -> None:
    """Sad or hurt words get a kind reply and the four moods (never a bare "send a selfie"), a
    good morning or good night is answered in kind, anything else gets the hint."""
    if reading.hurt:
        await _reply(update, texts.hurt_reply(tr), reply_markup=keyboards.mood_keyboard(tr))
        current_trace().done("text_hurt")
    elif reading.greeting in ("morning", "evening", "night"):
        await _reply(update, texts.greeting_reply(tr, reading.greeting), reply_markup=keyboards.mood_keyboard(tr))
        current_trace().done("greeting")
    else:
        await _reply(update, texts.hint(tr))
        current_trace().done("hint")


async def mood_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _admitted_text(update, context):
        return
    tr = await _tr(update, context)
    await _reply(update, texts.mood_prompt(tr), reply_markup=keyboards.mood_keyboard(tr, _owner(update)))
    current_trace().done("mood_menu")


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The last songs served: title — artist, mood, when, link; previews off (ten covers is noise)."""
    user_id = await _personal_command(update, context, private_only=True)
    if user_id is None:
        return
    services = svc.get(context)
    tr = await _tr(update, context)
    served = await services.store.recent_songs(user_id, texts.HISTORY_SIZE)
    if not served:
        await _reply(update, texts.history_empty(tr))
        current_trace().done("history", songs=0)
        return
    rows = [(services.songs.catalog.get(s.track_id), s.mood, s.at) for s in served]
    await _reply(update, texts.history_text(tr, rows), link_preview_options=NO_PREVIEW)
    current_trace().done("history", songs=len(rows))


async def diary_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The mood chart as a photo, drawn in the chart pool (never on the event loop), in memory."""
    user_id = await _personal_command(update, context, private_only=True)
    if user_id is None:
        return
    services = svc.get(context)
    trace = current_trace()
    tr = await _tr(update, context)
    now = time.time()
    marks = await services.store.mood_marks(user_id, since=now - diary.DAYS * 86400)
    events = diary.recent([diary.MoodEvent(m.at, m.mood, m.chosen) for m in marks], now)
    if not events:
        await _reply(update, texts.diary_empty(tr))
        trace.done("diary", moods=0)
        return
    labels = texts.diary_labels(tr, diary.DAYS)
    try:  # the chart pool, not the selfies' one; the same moods and words: the last chart again
        png = await services.charts.draw(user_id, (tuple(events), labels), diary.render, events, labels, now)
    except Exception as exc:  # a drawing failure is this reply's problem, not the bot's
        LOG.warning("update %s: diary drawing failed: %s", trace.update_id, type(exc).__name__)
        await _reply(update, texts.diary_failed(tr))
        trace.done("diary_failed")
        return
    message = update.effective_message
    assert message is not None  # a command always has a message
    caption = texts.diary_summary(tr, diary.shares(events), len(events), diary.DAYS)
    await message.reply_photo(png, caption=caption, parse_mode=ParseMode.HTML, do_quote=not _is_private(update),
                              reply_markup=share.bot_markup(tr, services.bot_username))
    trace.done("diary", moods=len(events), png_bytes=len(png))


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not _is_private(update):
        current_trace().done("ignored_group")
        return
    if not await _admitted_text(update, context):
        return
    kind = next((k for k in texts.UNSUPPORTED_KINDS if getattr(message, k, None)), "other")
    if kind == "other" and getattr(message, "video_note", None):
        kind = "video"
    await _reply(update, texts.unsupported_media(await _tr(update, context), kind))
    current_trace().done("unsupported", media=kind)


async def _admitted_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Texts, commands and media the bot only answers: flood-limited per sender (or chat)."""
    key = _sender_id(update)
    if key is None:
        chat = update.effective_chat
        key = chat.id if chat is not None else 0
    return await _admitted(update, context, "text", key)


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
        await _reply(update, texts.private_only(await _tr(update, context)))
        current_trace().done("private_only")
        return None
    return user_id


# --- photos ------------------------------------------------------------------------------------

def _chosen_file(message: Message, tr: Tr) -> tuple[str, int | None] | str:
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
        return texts.not_image(tr)
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
    if not await _admitted(update, context, "photo", user_id):
        return
    # One read for the whole photo: the language now, adaptation, lift and mature for the answer.
    settings = await services.store.settings(user_id, with_choices=True)
    tr = _speak(update, services, settings.language).tr
    chosen = _chosen_file(message, tr)
    if isinstance(chosen, str):
        await _reply(update, chosen)
        trace.done("not_image")
        return
    file_id, size = chosen
    if size is not None and size > services.config.max_download_bytes:
        await _refuse_too_large(update, tr, size, services.config.max_download_bytes)
        return
    chat = update.effective_chat
    assert chat is not None  # a message always has a chat
    # "typing…" once the answer is slow in coming (TYPING_AFTER_S), alongside the work.
    typing = _TypingLater(context, chat.id, services.config.typing_after_s)
    try:
        analysis = await _read_photo(update, context, tr, file_id)
        if analysis is not None:
            await _answer_photo(update, services, tr, user_id, analysis, settings)
    finally:
        await typing.finished()


async def _read_photo(update: Update, context: ContextTypes.DEFAULT_TYPE, tr: Tr, file_id: str) -> Analysis | None:
    """Download + analysis in one of PHOTOS_IN_FLIGHT turns, taken in arrival order and waited for
    without the update's processing slot: a burst holds a bounded number of photos in memory,
    the first sent are answered first, and other updates keep flowing meanwhile. The bytes are
    gone when this returns; None once the user was told why there is no analysis."""
    turns = svc.get(context).photo_turns
    taken = False
    try:
        async with parked():
            await turns.acquire()
            taken = True
        data = await _download(update, context, tr, file_id)
        if data is None:
            return None
        analysis = _faces_in(update, svc.get(context), tr, data)
        del data  # held by the analysis alone, and only as long as it runs
        return await analysis
    finally:
        if taken:
            turns.release()


class _TypingLater:
    """sendChatAction(typing) `after` seconds from now, unless the answer is done first."""

    def __init__(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, after: float) -> None:
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(after, self._send, context, chat_id)

    def _send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        self._task = asyncio.create_task(_chat_action(context, chat_id))

    async def finished(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            await self._task


async def _chat_action(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError:
        pass  # cosmetic: its failure never fails the answer


async def _download(update: Update, context: ContextTypes.DEFAULT_TYPE, tr: Tr, file_id: str) -> bytes | None:
    """The image in memory (never on disk), or None when the user was told why not."""
    services = svc.get(context)
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
        await _refuse_too_large(update, tr, exc.size, limit)
        return None
    except TimeoutError:
        LOG.warning("update %s: download gave up after %d s", trace.update_id,
                    services.config.download_timeout_s)
        await _reply(update, texts.download_slow(tr))
        trace.done("download_timeout")
        return None
    except DownloadFailed as exc:
        LOG.warning("update %s: download failed: %s", trace.update_id, exc)
        await _reply(update, texts.download_failed(tr))
        trace.done("download_failed")
        return None
    LOG.debug("update %s: downloaded %d bytes", trace.update_id, len(data))
    return data


async def _faces_in(update: Update, services: svc.Services, tr: Tr, data: bytes) -> Analysis | None:
    """The photo analysed, or None once the user was told it is no usable image or shows no face."""
    trace = current_trace()
    try:
        analysis = await services.analyze(data)
    except ImageError as exc:
        await _reply(update, texts.image_error(tr, exc))
        trace.done("bad_image", reason=type(exc).__name__)
        return None
    finally:
        del data
    timings = getattr(analysis, "timings_ms", None) or {}
    trace.fields.update({f"{k}_ms": f"{v:.0f}" for k, v in timings.items()})
    if not analysis.faces or analysis.emotion is None or analysis.mood is None:
        await _reply(update, texts.no_face(tr))
        trace.done("no_face")
        return None
    return analysis


async def _answer_photo(update: Update, services: svc.Services, tr: Tr, user_id: int, analysis: Analysis,
                        settings: UserSettings) -> None:
    trace = current_trace()
    seen = services.calibration.read(analysis.faces[0].scores.probs)
    decision = _decide(services, seen, settings)
    mood = decision.mood
    # Only scores and the mood are kept, never the photo; the id goes into the buttons.
    selfie = NewReading("selfie", mood, seen.scores)
    owner = _owner(update)
    if decision.asks:
        reading = await services.store.add_reading(user_id, selfie.source, mood, selfie.scores)
        # The best guess is offered first, beside the runner-up, and "Other…" opens all four.
        unsure = texts.unsure_reply(tr, moods=decision.offered, n_faces=len(analysis.faces))  # type: ignore[arg-type]
        await _reply(update, unsure,
                     reply_markup=keyboards.pick_keyboard(tr, reading, decision.offered, owner, other=True))
        trace.done("unsure", faces=len(analysis.faces))
        return
    # The reading and its song in one transaction: one commit, durable before the reply is sent.
    pick = await services.songs.next(user_id, mood, settings=settings, reading=selfie)
    reply = texts.analysis_reply(tr, emotion=seen.emotion, confidence=decision.confidence, mood=mood,
                                 n_faces=len(analysis.faces), pick=pick, adapted=mood != seen.mood)
    if pick is None:
        await _reply(update, reply)
        trace.done("no_songs")
        return
    await _reply(update, reply, reply_markup=share.with_song(
        keyboards.song_keyboard(tr, pick.song.url, mood, pick.lift_step, pick.reading, owner), tr, pick.song),
                 link_preview_options=_song_options(pick.song))
    trace.done("song", faces=len(analysis.faces), restarted=int(pick.restarted))


def _decide(services: svc.Services, seen: MoodReading, settings: UserSettings) -> Decision:
    """Answer or ask, on the calibrated mood probabilities tilted toward the moods this person chose
    in past corrections (bounded: recommender/adapt.py); `python -m recommender --json` prints the
    same decision for a person without corrections."""
    return decide(seen, services.calibration.unsure_below, settings.chosen_counts)


# --- buttons -----------------------------------------------------------------------------------
# Every press is answered exactly once (the spinner stops): by its handler, by _presser when it
# is refused, or by the error handler. A picker, once answered, shows the choice and loses its
# buttons; a press that comes twice (a double tap) serves nothing new and counts once.

ANSWERED_KEPT = 10_000  # presses remembered per process, to answer a double tap once


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The next song as a new message; the pressed message loses its More (the newest song has it)."""
    services = svc.get(context)
    trace = current_trace()
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    pressed = await _presser(update, context, _known(services, keyboards.parse_more, lambda r: r.mood))
    if pressed is None:
        return
    user_id, request = pressed
    tr = await _tr(update, context)
    async with _once(context, ("more", _chat_of(query, user_id), _message_id(query), query.data)) as first:
        if not first:
            await _toast(query, texts.already_sent(tr))
            trace.done("pressed_again")
            return
        pick = await _serve(services, user_id, request.mood, after=request.step or 0)
        owner = None if _is_private(update) else user_id
        await _send_song(context, query, user_id, texts.more_reply(tr, pick), pick,
                         keyboards.song_keyboard(tr, pick.song.url, request.mood, pick.lift_step, owner=owner), tr)
    await _answered(query)
    await _edit_markup(query, _without(query.message, query.data))
    trace.done("more", restarted=int(pick.restarted),
               **({"lift_step": pick.lift_step} if pick.lift_step else {}))


def _known(services: svc.Services, parse: Callable[[str | None], T | None],
           mood_of: Callable[[T], str]) -> Callable[[str | None], T | None]:
    """A parser that also refuses moods the catalog has no songs for."""
    def parsed(data: str | None) -> T | None:
        request = parse(data)
        return request if request is not None and services.songs.knows(mood_of(request)) else None
    return parsed


async def _serve(services: svc.Services, user_id: int, mood: str, after: int | None = None,
                 reading: NewReading | None = None) -> Pick:
    """The next song of a mood the caller checked with `songs.knows`, stored before it is shown
    (with `reading`, in one transaction)."""
    pick = await services.songs.next(user_id, mood, after=after, reading=reading)
    if pick is None:
        raise LookupError("no song for a known mood")
    return pick


async def _send_song(context: ContextTypes.DEFAULT_TYPE, query: Any, user_id: int, text: str, pick: Pick,
                     markup: InlineKeyboardMarkup, tr: Tr | None = None) -> None:
    """A song as a new message in the pressed button's chat; the preview shows its cover; with
    `tr`, a Share row under the buttons."""
    if tr is not None:
        markup = share.with_song(markup, tr, pick.song)
    await context.bot.send_message(_chat_of(query, user_id), text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                   link_preview_options=_song_options(pick.song))


def _chat_of(query: Any, user_id: int) -> int:
    """The chat of a pressed button's message; the presser's private chat when Telegram leaves
    the message out (too old)."""
    return query.message.chat.id if query.message else user_id


def _message_id(query: Any) -> int:
    return query.message.message_id if query.message else 0


def _readable(message: MaybeInaccessibleMessage | None) -> Message | None:
    """The pressed message with its text and buttons, or None when Telegram no longer sends them."""
    return message if isinstance(message, Message) else None


def _button_data(message: Message) -> set[str]:
    markup = message.reply_markup
    return {b.callback_data for row in (markup.inline_keyboard if markup else ()) for b in row
            if isinstance(b.callback_data, str)}


async def _presser(update: Update, context: ContextTypes.DEFAULT_TYPE,
                   parse: Callable[[str | None], T | None], *, anyone: bool = False) -> tuple[int, T] | None:
    """Who pressed a button and what it asks for (its data without the owner, parsed by `parse`),
    or None when the press is answered here: someone else's button gets the "not yours" alert,
    data `parse` refuses (an older bot, forged) or that the message no longer shows (used, or
    forged onto it) the stale alert, a flood the notice (or, after it, an empty answer)."""
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    user_id = query.from_user.id
    message = _readable(query.message)
    data, owner = keyboards.split_owner(query.data)
    if owner is None and message is not None and not _is_private(update) and message.reply_to_message \
            and message.reply_to_message.from_user and not message.reply_to_message.from_user.is_bot:
        owner = message.reply_to_message.from_user.id  # an older group message: the one it answers
    if owner is not None and owner != user_id and not anyone:  # `anyone`: a group's shared buttons
        await query.answer(texts.not_yours(await _tr(update, context)), show_alert=True)
        current_trace().done("not_yours")
        return None
    request = parse(data)
    if request is None:
        await _stale(update, context)
        return None
    if message is not None and query.data not in _button_data(message):
        await _stale(update, context, gone=True)
        return None
    return (user_id, request) if await _admitted(update, context, "press", user_id) else None


async def _stale(update: Update, context: ContextTypes.DEFAULT_TYPE, reading_gone: bool = False,
                 gone: bool = False) -> None:
    """An alert for a button that no longer works: its photo's reading is gone, the message no
    longer has it (already answered), or it is from an older version of the bot (or forged)."""
    query = update.callback_query
    assert query is not None
    tr = await _tr(update, context)
    text = texts.reading_unknown(tr) if reading_gone else texts.button_gone(tr) if gone else texts.more_unknown(tr)
    await query.answer(text, show_alert=True)
    current_trace().done("stale_button")


async def _answered(query: Any) -> None:
    try:
        await query.answer()
    except TelegramError:
        pass  # too old (~15 min) or unreachable: the reply is there, the spinner stops by itself


async def _toast(query: Any, text: str) -> None:
    """A short notice at the top of the chat, for a press that changes nothing."""
    try:
        await query.answer(text)
    except TelegramError:
        pass


class _Once:
    """The first of concurrent or repeated presses on one button: True once, then False."""

    def __init__(self, context: ContextTypes.DEFAULT_TYPE, key: Hashable) -> None:
        data = context.bot_data
        self.done: OrderedDict[Hashable, bool] = data.setdefault("answered_presses", OrderedDict())
        self.locks: dict[Hashable, asyncio.Lock] = data.setdefault("press_locks", {})
        self.key = key

    async def __aenter__(self) -> bool:
        self.lock = self.locks.setdefault(self.key, asyncio.Lock())
        await self.lock.acquire()
        return self.key not in self.done

    async def __aexit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        if kind is None:  # a failure leaves the button to be pressed again
            self.done[self.key] = True
            while len(self.done) > ANSWERED_KEPT:
                self.done.popitem(last=False)
        self.lock.release()
        if not self.lock.locked():
            self.locks.pop(self.key, None)


def _once(context: ContextTypes.DEFAULT_TYPE, key: Hashable) -> _Once:
    return _Once(context, key)


def _without(message: MaybeInaccessibleMessage | None, data: str | None) -> InlineKeyboardMarkup | None:
    """The pressed message's keyboard without the pressed button; None when nothing changes."""
    readable = _readable(message)
    if readable is None or readable.reply_markup is None:
        return None
    rows = [[b for b in row if b.callback_data != data] for row in readable.reply_markup.inline_keyboard]
    kept = InlineKeyboardMarkup([row for row in rows if row])
    return None if kept == readable.reply_markup else kept


async def _edit_markup(query: Any, markup: InlineKeyboardMarkup | None) -> None:
    """Cosmetic: a failure (message gone, too old) leaves the old buttons, which answer politely."""
    if markup is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except TelegramError:
        pass


async def _close_picker(query: Any, tr: Tr, mood: str) -> None:
    """An answered picker: its text shows the choice, and only its link buttons stay."""
    message = _readable(query.message)
    if message is None:
        return
    links = keyboards.link_rows(message.reply_markup)
    url = links[0][0].url if links else None
    try:
        await query.edit_message_text(
            f"{message.text_html}\n\n{texts.you_chose(tr, mood)}", parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup(links),
            link_preview_options=LinkPreviewOptions(url=url) if url else NO_PREVIEW)
    except TelegramError:
        await _edit_markup(query, InlineKeyboardMarkup(links))


async def _choice_of(store: HistoryStore, user_id: int, reading: Reading) -> str | None:
    """The mood already chosen for a selfie's reading, if any (its diary mark says so)."""
    marks = await store.mood_marks(user_id, since=reading.at)
    mark = next((m for m in marks if m.at == reading.at), None)
    return mark.mood if mark is not None and mark.chosen and reading.source == "selfie" else None


async def fix(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Not my mood" (or "Other…"): the four moods replace the choice buttons of that same message."""
    services = svc.get(context)
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    pressed = await _presser(update, context, keyboards.parse_fix)
    if pressed is None:
        return
    user_id, reading_id = pressed
    reading = await services.store.reading(user_id, reading_id)
    if reading is None:
        await _stale(update, context, reading_gone=True)
        return
    tr = await _tr(update, context)
    chosen = await _choice_of(services.store, user_id, reading)
    if chosen is not None:
        await _toast(query, texts.already_chosen(tr, chosen))
        await _close_picker(query, tr, chosen)
        current_trace().done("pressed_again")
        return
    owner = None if _is_private(update) else user_id
    markup = keyboards.pick_keyboard(tr, reading_id, owner=owner,
                                     keep=keyboards.link_rows(getattr(query.message, "reply_markup", None)))
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest:  # the message is gone or too old to edit: offer the moods anew
        await context.bot.send_message(_chat_of(query, user_id), texts.mood_prompt(tr),
                                       reply_markup=keyboards.pick_keyboard(tr, reading_id, owner=owner))
    await _answered(query)
    current_trace().done("fix_opened")


async def pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A mood chosen for a reading: recorded once (scores + chosen mood), then a song of that mood;
    the picker shows the choice and loses its buttons."""
    services = svc.get(context)
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    pressed = await _presser(update, context, _known(services, keyboards.parse_pick, lambda r: r.mood))
    if pressed is None:
        return
    user_id, request = pressed
    tr = await _tr(update, context)
    async with _once(context, ("pick", user_id, request.reading)):  # a double tap waits, then sees the choice
        reading = await services.store.reading(user_id, request.reading)
        if reading is None:
            await _stale(update, context, reading_gone=True)
            return
        chosen = await _choice_of(services.store, user_id, reading)
        if chosen is not None:
            await _toast(query, texts.already_chosen(tr, chosen))
            await _close_picker(query, tr, chosen)
            current_trace().done("pressed_again")
            return
        if not await services.store.add_choice(user_id, reading.id, request.mood):
            chosen = await _choice_of(services.store, user_id, reading)  # another replica was first
            if chosen is None:
                await _stale(update, context, reading_gone=True)
            else:
                await _toast(query, texts.already_chosen(tr, chosen))
                await _close_picker(query, tr, chosen)
            return
        song = await _serve(services, user_id, request.mood)
    owner = None if _is_private(update) else user_id
    await _send_song(context, query, user_id, texts.chosen_reply(tr, song, corrected=request.mood != reading.mood),
                     song, keyboards.song_keyboard(tr, song.song.url, request.mood, song.lift_step, owner=owner), tr)
    await _answered(query)
    await _close_picker(query, tr, request.mood)
    current_trace().done("picked", corrected=int(request.mood != reading.mood))


async def mood_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A mood from /mood: stored as a chosen mood (for the diary), then a song of it; the picker
    shows the choice and loses its buttons."""
    services = svc.get(context)
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    pressed = await _presser(update, context, _known(services, keyboards.parse_mood, lambda m: m))
    if pressed is None:
        return
    user_id, mood = pressed
    tr = await _tr(update, context)
    async with _once(context, ("mood", _chat_of(query, user_id), _message_id(query))) as first:
        if not first:
            await _toast(query, texts.already_sent(tr))
            current_trace().done("pressed_again")
            return
        song = await _serve(services, user_id, mood, reading=NewReading("mood", mood))
        owner = None if _is_private(update) else user_id
        await _send_song(context, query, user_id, texts.asked_reply(tr, song, from_text=False), song,
                         keyboards.song_keyboard(tr, song.song.url, mood, song.lift_step, owner=owner), tr)
    await _answered(query)
    await _close_picker(query, tr, mood)
    current_trace().done("mood_chosen")


async def unknown_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    await query.answer(texts.more_unknown(await _tr(update, context)), show_alert=True)
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
    # The language read for this update, else Telegram's: the failure may be the database's.
    services = svc.get(context)
    language = services.languages.get(current_trace().language) or _speak(update, services, None)
    busy = texts.busy_error(language.tr)
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(busy, show_alert=True)
            return
        except BadRequest:
            pass  # answered already or too old: say it in the chat instead
        chat_id = _chat_of(query, query.from_user.id)
        await context.bot.send_message(chat_id, busy)
    elif update.effective_message is not None and update.effective_chat is not None \
            and update.effective_chat.type != ChatType.CHANNEL:
        await _reply(update, busy)


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
    app.add_handler(CommandHandler("language", language_command, filters=chats))
    register_settings(app)  # before the text handler, which would take /settings as a text
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
    app.add_handler(CallbackQueryHandler(language_pressed, pattern=keyboards.LANGUAGE_PATTERN))
    app.add_handler(CallbackQueryHandler(help_pressed, pattern=keyboards.HELP_PATTERN))
    app.add_handler(CallbackQueryHandler(show_pressed, pattern=keyboards.SHOW_PATTERN))
    app.add_handler(CallbackQueryHandler(unknown_callback))
    app.add_error_handler(on_error)


# --- /settings: the opt-in to explicit and dark songs (recommender.music.rules) -----------------

SETTINGS_PATTERN = r"^set:mature:[01]$"


def _settings_markup(tr: Tr, on: bool) -> InlineKeyboardMarkup:
    """One button that flips the opt-in; its data says the state it asks for."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(texts.mature_button(tr, on),
                                                       callback_data=f"set:mature:{int(not on)}")]])


def _asked_setting(data: str | None) -> bool | None:
    """The opt-in state a /settings button asks for, or None for data it does not carry."""
    return data.endswith(":1") if data and re.fullmatch(SETTINGS_PATTERN, data) else None


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = await _personal_command(update, context)
    if user_id is None:
        return
    on = await svc.get(context).store.get_mature(user_id)
    tr = await _tr(update, context)
    await _reply(update, texts.settings_mature(tr, on), reply_markup=_settings_markup(tr, on))
    current_trace().done("settings")


async def settings_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The opt-in flipped: stored for the presser (whoever sent /settings), the message edited."""
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    pressed = await _presser(update, context, _asked_setting)
    if pressed is None:
        return
    user_id, on = pressed
    await svc.get(context).store.set_mature(user_id, on)
    tr = await _tr(update, context)
    text, markup = texts.settings_mature(tr, on), _settings_markup(tr, on)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest:  # too old to edit, or unchanged (pressed twice): say it anew
        await context.bot.send_message(_chat_of(query, user_id), text, parse_mode=ParseMode.HTML,
                                       reply_markup=markup)
    await _answered(query)
    current_trace().done("settings_chosen", mature=int(on))


def register_settings(app: Application) -> None:
    chats = (filters.ChatType.PRIVATE | filters.ChatType.GROUPS) & ~filters.UpdateType.EDITED
    app.add_handler(CommandHandler("settings", settings_command, filters=chats))
    app.add_handler(CallbackQueryHandler(settings_pressed, pattern=SETTINGS_PATTERN))
