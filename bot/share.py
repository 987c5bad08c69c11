"""The "Share" button: Telegram's chat chooser with a song (or the bot), never a mood.

A t.me/share/url link works without inline mode being switched on, and carries only what is
shared: the song's Spotify link with its title and artist, or the bot's own link. Nothing about
who shares it (their mood, their diary) goes into it.
"""
from __future__ import annotations

from gettext import NullTranslations as Tr
from urllib.parse import urlencode

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from recommender.types import Song

from . import texts

SHARE_URL = "https://t.me/share/url"


def share_url(url: str, text: str) -> str:
    return f"{SHARE_URL}?{urlencode({'url': url, 'text': text})}"


def song_button(tr: Tr, song: Song) -> InlineKeyboardButton:
    return InlineKeyboardButton(texts.share_button(tr), url=share_url(song.url, f"🎵 {song.name} — {song.artist}"))


def with_song(markup: InlineKeyboardMarkup, tr: Tr, song: Song) -> InlineKeyboardMarkup:
    """The markup with a Share row for `song` below its buttons."""
    return InlineKeyboardMarkup([*markup.inline_keyboard, [song_button(tr, song)]])


def bot_markup(tr: Tr, username: str | None) -> InlineKeyboardMarkup | None:
    """Share the bot itself (under the diary: the diary stays private); None without a username."""
    if not username:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        texts.share_button(tr), url=share_url(f"https://t.me/{username}", texts.share_bot_text(tr)))]])
