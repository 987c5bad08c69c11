"""Inline keyboards and their callback data.

The callback data carries everything a press needs, not a server-side session, so a button keeps
working after a restart or weeks later:
- "more:<mood>" (lift mode: "more:<mood>:<step>"): another song of the mood;
- "fix:<reading>": "Not my mood" under a selfie's song, opening the four moods in place;
- "pick:<reading>:<mood>": the mood the user chose for that reading (a correction, or an answer
  to "I'm not sure");
- "mood:<mood>": a mood chosen from /mood;
- "lang:<code>" ("lang:auto"): a language chosen from /language.
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
MAX_STEP = 99  # keeps the data short; lift mode has long reached its brightest songs by then
# Strict on purpose: the data comes back from the client, so only what the *_data functions write
# is read (ASCII letters and digits, bounded), and anything else is a stale or forged button.
_MORE_DATA = re.compile(r"more:([a-z]{1,16})(?::([0-9]{1,2}))?")
_FIX_DATA = re.compile(r"fix:([1-9][0-9]{0,17})")
_PICK_DATA = re.compile(r"pick:([1-9][0-9]{0,17}):([a-z]{1,16})")
_MOOD_DATA = re.compile(r"mood:([a-z]{1,16})")
_LANGUAGE_DATA = re.compile(r"lang:([a-z]{2,3}(?:_[A-Z]{2})?|auto)")


@dataclass(frozen=True)
class MoreRequest:
    mood: str
    step: int | None  # the lift step of the song shown above the button; None outside lift mode


@dataclass(frozen=True)
class PickRequest:
    reading: int
    mood: str


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


def _mood_button(tr: Tr, mood: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(texts.mood_label(tr, mood), callback_data=data)


def more_keyboard(tr: Tr, mood: str, step: int | None = None, reading: int | None = None) -> InlineKeyboardMarkup:
    """"🎵 More", and beside it "🎭 Not my mood" when the song answers a selfie's reading."""
    row = [InlineKeyboardButton(texts.more_button(tr), callback_data=more_data(mood, step))]
    if reading is not None:
        row.append(InlineKeyboardButton(texts.not_my_mood_button(tr), callback_data=f"fix:{reading}"))
    return InlineKeyboardMarkup([row])


def pick_keyboard(tr: Tr, reading: int, moods: tuple[str, ...] = MOODS) -> InlineKeyboardMarkup:
    """The moods to choose from for a reading: two per row."""
    buttons = [_mood_button(tr, m, f"pick:{reading}:{m}") for m in moods]
    return InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])


def mood_keyboard(tr: Tr) -> InlineKeyboardMarkup:
    buttons = [_mood_button(tr, m, f"mood:{m}") for m in MOODS]
    return InlineKeyboardMarkup([buttons[:2], buttons[2:]])


def language_keyboard(tr: Tr, languages: Languages, current: str | None) -> InlineKeyboardMarkup:
    """Each language in its own name, two per row (✓ on the one chosen), then "same as Telegram"."""
    buttons = [InlineKeyboardButton(f"✓ {lang.name}" if lang.code == current else lang.name,
                                    callback_data=f"lang:{lang.code}") for lang in languages]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    auto = texts.language_auto(tr)
    rows.append([InlineKeyboardButton(f"✓ {auto}" if current is None else auto, callback_data=f"lang:{AUTO}")])
    return InlineKeyboardMarkup(rows)
