"""Inline keyboards and their callback data.

The callback data carries everything a press needs ("more:<mood>", and in lift mode
"more:<mood>:<step>"), not a server-side key, so a button keeps working after a restart or
weeks later.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MORE_PREFIX = "more:"
MORE_PATTERN = r"^more:"
MAX_STEP = 99  # keeps the data short; lift mode has long reached its brightest songs by then
# Strict on purpose: the data comes back from the client, so only what more_data writes is read
# (ASCII letters and digits, bounded), and anything else is a stale or forged button.
_MORE_DATA = re.compile(r"more:([a-z]{1,16})(?::([0-9]{1,2}))?")


@dataclass(frozen=True)
class MoreRequest:
    mood: str
    step: int | None  # the lift step of the song shown above the button; None outside lift mode


def more_data(mood: str, step: int | None = None) -> str:
    return f"{MORE_PREFIX}{mood}" if step is None else f"{MORE_PREFIX}{mood}:{min(step, MAX_STEP)}"


def parse_more(data: str | None) -> MoreRequest | None:
    """What a "More" button asks for, or None for data that is not one."""
    match = _MORE_DATA.fullmatch(data or "")
    if match is None:
        return None
    mood, step = match.groups()
    return MoreRequest(mood, None if step is None else int(step))


def more_keyboard(mood: str, step: int | None = None) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("🎵 More", callback_data=more_data(mood, step))]])
