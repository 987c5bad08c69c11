"""Inline keyboards and their callback data.

The callback data carries everything a press needs ("more:<mood>", and in lift mode
"more:<mood>:<step>"), not a server-side key, so a button keeps working after a restart or
weeks later.
"""
from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MORE_PREFIX = "more:"
MORE_PATTERN = r"^more:"
MAX_STEP = 99  # keeps the data short; lift mode has long reached its brightest songs by then


@dataclass(frozen=True)
class MoreRequest:
    mood: str
    step: int | None  # the lift step of the song shown above the button; None outside lift mode


def more_data(mood: str, step: int | None = None) -> str:
    return f"{MORE_PREFIX}{mood}" if step is None else f"{MORE_PREFIX}{mood}:{min(step, MAX_STEP)}"


def parse_more(data: str | None) -> MoreRequest | None:
    """What a "More" button asks for, or None for data that is not one."""
    if not data or not data.startswith(MORE_PREFIX):
        return None
    mood, _, step = data[len(MORE_PREFIX):].partition(":")
    if not mood:
        return None
    if not step:
        return MoreRequest(mood, None)
    return MoreRequest(mood, int(step)) if step.isdigit() else None


def more_keyboard(mood: str, step: int | None = None) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("🎵 More", callback_data=more_data(mood, step))]])
