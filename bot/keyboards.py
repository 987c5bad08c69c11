"""Inline keyboards and their callback data.

The callback data carries everything a press needs, not a server-side session, so a button keeps
working after a restart or weeks later:
- "more:<mood>" (lift mode: "more:<mood>:<step>"): another song of the mood;
- "fix:<reading>": "Not my mood" under a selfie's song, opening the four moods in place;
- "pick:<reading>:<mood>": the mood the user chose for that reading (a correction, or an answer
  to "I'm not sure");
- "mood:<mood>": a mood chosen from /mood;
- "lang:<code>" ("lang:auto"): a language chosen from /language;
- "help:<section>": a /help detail edited into the help message; "show:<section>": a /start button
  that sends one (the how-it-works text, or the /mood picker).
In groups every data ends in "@<user id>", the person the message answers: only they may press it.
Button labels are in the reader's language; the data never is.
A reading is a stored row (scores and mood, never the photo) that belongs to the presser.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from gettext import NullTranslations as Tr

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from recommender.types import MOODS

from . import texts
from .i18n import AUTO, Languages

MORE_PREFIX = "more:"
MORE_PATTERN = r"^more:"
FIX_PATTERN = r"^fix:"
PICK_PATTERN = r"^pick:"
MOOD_PATTERN = r"^mood:"
LANGUAGE_PATTERN = r"^lang:"
HELP_PATTERN = r"^help:"
SHOW_PATTERN = r"^show:"
HELP_SECTIONS = ("how", "learn", "privacy", "extras")  # /help's detail buttons, in this order
SHOW_SECTIONS = ("how", "mood")  # /start's buttons
MAX_STEP = 99  # keeps the data short; lift mode has long reached its brightest songs by then
# Strict on purpose: the data comes back from the client, so only what the *_data functions write
# is read (ASCII letters and digits, bounded), and anything else is a stale or forged button.
_MORE_DATA = re.compile(r"more:([a-z]{1,16})(?::([0-9]{1,2}))?")
_FIX_DATA = re.compile(r"fix:([1-9][0-9]{0,17})")
_PICK_DATA = re.compile(r"pick:([1-9][0-9]{0,17}):([a-z]{1,16})")
_MOOD_DATA = re.compile(r"mood:([a-z]{1,16})")
_LANGUAGE_DATA = re.compile(r"lang:([a-z]{2,3}(?:_[A-Z]{2})?|auto)")
_HELP_DATA = re.compile(r"(help|show):([a-z]{1,16})")
_OWNED_DATA = re.compile(r"(.{1,40})@([1-9][0-9]{0,15})")


@dataclass(frozen=True)
class MoreRequest:
    mood: str
    step: int | None  # the lift step of the song shown above the button; None outside lift mode


@dataclass(frozen=True)
class PickRequest:
    reading: int
    mood: str


def owned(data: str, owner: int | None) -> str:
    """The data of a button only `owner` may press (None: anyone in the chat, a private chat)."""
    return data if owner is None else f"{data}@{owner}"


def split_owner(data: str | None) -> tuple[str | None, int | None]:
    """(the data without its owner, the owner or None when it names none)."""
    match = _OWNED_DATA.fullmatch(data or "")
    return (match.group(1), int(match.group(2))) if match else (data, None)


def more_data(mood: str, step: int | None = None) -> str:
    return f"{MORE_PREFIX}{mood}" if step is None else f"{MORE_PREFIX}{mood}:{min(step, MAX_STEP)}"


def parse_more(data: str | None) -> MoreRequest | None:
    """What a "More" button asks for, or None for data that is not one."""
    match = _MORE_DATA.fullmatch(data or "")
    if match is None:
        return None
    mood, step = match.groups()
    return MoreRequest(mood, None if step is None else int(step))


def parse_fix(data: str | None) -> int | None:
    """The reading a "Not my mood" button is about, or None."""
    match = _FIX_DATA.fullmatch(data or "")
    return int(match.group(1)) if match else None


def parse_pick(data: str | None) -> PickRequest | None:
    """The reading and chosen mood of a mood button under a reading, or None (unknown moods too)."""
    match = _PICK_DATA.fullmatch(data or "")
    if match is None or match.group(2) not in MOODS:
        return None
    return PickRequest(int(match.group(1)), match.group(2))


def parse_mood(data: str | None) -> str | None:
    match = _MOOD_DATA.fullmatch(data or "")
    return match.group(1) if match and match.group(1) in MOODS else None


def parse_language(data: str | None, languages: Languages) -> str | None:
    """The language code a /language button chose ("auto" included), or None for one the bot
    does not speak (any more)."""
    match = _LANGUAGE_DATA.fullmatch(data or "")
    if match is None:
        return None
    code = match.group(1)
    return code if code == AUTO or languages.get(code) is not None else None


def parse_section(data: str | None, sections: tuple[str, ...]) -> str | None:
    """The section a /help or /start button asks for, or None."""
    match = _HELP_DATA.fullmatch(data or "")
    return match.group(2) if match and match.group(2) in sections else None


def _mood_button(tr: Tr, mood: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(texts.mood_label(tr, mood), callback_data=data)


def spotify_row(tr: Tr, url: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(texts.open_in_spotify_button(tr), url=url)]


def link_rows(markup: InlineKeyboardMarkup | None) -> list[list[InlineKeyboardButton]]:
    """The rows of URL buttons of a message's keyboard (what stays once its choices are made)."""
    rows = markup.inline_keyboard if markup is not None else ()
    return [list(row) for row in rows if row and all(b.url for b in row)]


def song_keyboard(tr: Tr, url: str, mood: str | None, step: int | None = None, reading: int | None = None,
                  owner: int | None = None) -> InlineKeyboardMarkup:
    """"🎵 More" (mood None: no More, an older song), beside it "🎭 Not my mood" when the song
    answers a selfie's reading still open to correction; below, "Open in Spotify"."""
    row = [] if mood is None else [
        InlineKeyboardButton(texts.more_button(tr), callback_data=owned(more_data(mood, step), owner))]
    if reading is not None:
        row.append(InlineKeyboardButton(texts.not_my_mood_button(tr), callback_data=owned(f"fix:{reading}", owner)))
    return InlineKeyboardMarkup([r for r in (row, spotify_row(tr, url)) if r])


def pick_keyboard(tr: Tr, reading: int, moods: tuple[str, ...] = MOODS, owner: int | None = None,
                  other: bool = False, keep: list[list[InlineKeyboardButton]] | None = None) -> InlineKeyboardMarkup:
    """The moods to choose from for a reading, two per row; `other`: then "Other…" (the four
    moods in place); `keep`: rows left below (a song's "Open in Spotify")."""
    buttons = [_mood_button(tr, m, owned(f"pick:{reading}:{m}", owner)) for m in moods]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    if other:
        rows.append([InlineKeyboardButton(texts.other_button(tr), callback_data=owned(f"fix:{reading}", owner))])
    return InlineKeyboardMarkup(rows + (keep or []))


def mood_keyboard(tr: Tr, owner: int | None = None) -> InlineKeyboardMarkup:
    buttons = [_mood_button(tr, m, owned(f"mood:{m}", owner)) for m in MOODS]
    return InlineKeyboardMarkup([buttons[:2], buttons[2:]])


def start_keyboard(tr: Tr, owner: int | None = None) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(texts.show_button(tr, s), callback_data=owned(f"show:{s}", owner))
        for s in SHOW_SECTIONS]])


def help_keyboard(tr: Tr, owner: int | None = None, current: str | None = None) -> InlineKeyboardMarkup:
    """The /help details, two per row; on a detail, the others and "back to the overview"."""
    buttons = [InlineKeyboardButton(texts.help_button(tr, s), callback_data=owned(f"help:{s}", owner))
               for s in HELP_SECTIONS if s != current]
    if current is not None:
        buttons.append(InlineKeyboardButton(texts.help_button(tr, "top"), callback_data=owned("help:top", owner)))
    return InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])


def language_keyboard(tr: Tr, languages: Languages, current: str | None,
                      owner: int | None = None) -> InlineKeyboardMarkup:
    """Each language in its own name, two per row (✓ on the one chosen), then "same as Telegram"."""
    buttons = [InlineKeyboardButton(f"✓ {lang.name}" if lang.code == current else lang.name,
                                    callback_data=owned(f"lang:{lang.code}", owner)) for lang in languages]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    auto = texts.language_auto(tr)
    rows.append([InlineKeyboardButton(f"✓ {auto}" if current is None else auto,
                                      callback_data=owned(f"lang:{AUTO}", owner))])
    return InlineKeyboardMarkup(rows)
