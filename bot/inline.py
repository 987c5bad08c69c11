"""Inline mode: "@bot calm" (or a feeling in words, in any language the bot speaks) in any chat
lists songs of that mood (with Spotify credentials, their covers); an empty or unknown query
offers the four moods.

Listing serves nothing: the results are the songs the user would hear next (their own order, no
repeats of their history), read without writing. A chosen result is recorded in their history
when Telegram reports it (BotFather /setinlinefeedback), so the next listing moves on.
Answers are personal (`is_personal`) and cached briefly by Telegram; queries are flood-limited
per user, since Telegram sends one per keystroke.
"""
from __future__ import annotations

import asyncio
import re

from gettext import NullTranslations as Tr

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import Application, ChosenInlineResultHandler, ContextTypes, InlineQueryHandler

from recommender.music.selection import pick_next
from recommender.text_mood import read_text
from recommender.types import MOODS, Served, Song

from . import services as svc
from . import share, texts
from .limits import FloodGate, Verdict
from .logs import current_trace

COVERS_WITHIN_S = 0.8  # Spotify covers, when configured, only if they come this fast (answers wait for them)
CACHE_S = 30  # Telegram keeps an answer this long per user and query: a retyped query costs nothing
SONGS_PER_QUERY = 5
QUERIES_PER_MINUTE = 60  # one query per keystroke: more generous than messages, still bounded
_RESULT_ID = re.compile(r"([a-z]{1,16})\.([0-9A-Za-z]{22})\.([0-9]{1,6})")
GATE_KEY = "inline_gate"


def _gate(context: ContextTypes.DEFAULT_TYPE) -> FloodGate:
    return context.bot_data.setdefault(GATE_KEY, FloodGate(QUERIES_PER_MINUTE))


def query_mood(query: str, tr: Tr, language: str) -> str | None:
    """The mood a query asks for: a mood's name (English or the reader's), or a feeling in words."""
    text = query.strip().casefold()
    if not text:
        return None
    for mood in MOODS:
        if text in (mood, texts.mood_name(tr, mood).casefold()):
            return mood
    return read_text(query, language).mood


async def next_songs(services: svc.Services, user_id: int, mood: str, n: int) -> list[tuple[Song, int]]:
    """The `n` songs (and their cycle) this user would hear next of `mood`, read-only."""
    order = services.songs.catalog.order_for_user(mood, user_id)
    served: list[Served] = list(await services.store.served(user_id, mood))  # type: ignore[attr-defined]
    songs: list[tuple[Song, int]] = []
    for _ in range(min(n, len(order))):
        choice = pick_next(order, served)
        if choice is None:
            break
        songs.append((choice.song, choice.cycle))
        served.append(Served(track_id=choice.song.track_id, cycle=choice.cycle))
    return songs


async def covers(services: svc.Services, songs: list[Song]) -> dict[str, str]:
    """track id → cover URL from the Spotify enrichment (cached there), all within COVERS_WITHIN_S;
    {} without Spotify credentials or when it is slow."""
    enricher = services.songs.enricher
    if enricher is None or not songs:
        return {}
    try:
        found = await asyncio.wait_for(asyncio.gather(*(asyncio.to_thread(enricher.enrich, s) for s in songs)),
                                       COVERS_WITHIN_S)
    except Exception:  # timeout or Spotify trouble: the results go without covers
        return {}
    return {s.track_id: d.cover_url for s, d in zip(songs, found) if d is not None and d.cover_url}


def _article(tr: Tr, mood: str, song: Song, cycle: int, title: str, description: str,
             cover: str | None = None) -> InlineQueryResultArticle:
    buttons = [[InlineKeyboardButton(texts.open_in_spotify_button(tr), url=song.url)], [share.song_button(tr, song)]]
    return InlineQueryResultArticle(
        id=f"{mood}.{song.track_id}.{cycle}",
        title=title,
        description=description,
        input_message_content=InputTextMessageContent(
            texts.song_lines(tr, song), parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=False, url=song.url)),
        reply_markup=InlineKeyboardMarkup(buttons),
        thumbnail_url=cover,
    )


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    from .handlers import _language  # the reader's language, as for messages

    query = update.inline_query
    assert query is not None  # an InlineQueryHandler's update
    trace = current_trace()
    services = svc.get(context)
    user_id = query.from_user.id
    if _gate(context).check(user_id) is not Verdict.ALLOW:
        await query.answer([], cache_time=CACHE_S, is_personal=True)
        trace.done("inline_flood")
        return
    language = await _language(update, context)
    tr = language.tr
    mood = query_mood(query.query, tr, language.code)
    if mood is not None and services.songs.knows(mood):
        chosen = [(mood, song, cycle, f"{song.name} — {song.artist}", texts.mood_label(tr, mood))
                  for song, cycle in await next_songs(services, user_id, mood, SONGS_PER_QUERY)]
    else:  # empty or unknown: each mood, with the song it would post
        chosen = [(m, song, cycle, texts.mood_label(tr, m), texts.inline_mood_description(tr, m))
                  for m in MOODS if services.songs.knows(m)
                  for song, cycle in await next_songs(services, user_id, m, 1)]
    cover = await covers(services, [c[1] for c in chosen])
    results = [_article(tr, m, song, cycle, title, about, cover.get(song.track_id))
               for m, song, cycle, title, about in chosen]
    await query.answer(results, cache_time=CACHE_S, is_personal=True)
    trace.done("inline", results=len(results))  # never the query: it is what someone typed


async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A result posted (with inline feedback on): the song joins the user's history."""
    result = update.chosen_inline_result
    assert result is not None
    services = svc.get(context)
    match = _RESULT_ID.fullmatch(result.result_id)
    song = services.songs.catalog.get(match.group(2)) if match else None
    if match is None or song is None or match.group(1) not in MOODS:
        current_trace().done("inline_chosen_unknown")
        return
    async with services.store.user(result.from_user.id) as history:
        await history.append(song.mood, song.track_id, int(match.group(3)))
    current_trace().done("inline_chosen")


def register(app: Application) -> None:
    app.add_handler(InlineQueryHandler(inline_query))
    app.add_handler(ChosenInlineResultHandler(chosen))
