"""Inline keyboards and their callback data.

The callback data carries everything the press needs ("more:<mood>"), not a server-side key,
so a button keeps working after a restart or weeks later.
"""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MORE_PREFIX = "more:"
MORE_PATTERN = r"^more:"


def more_data(mood: str) -> str:
    return f"{MORE_PREFIX}{mood}"


def parse_more(data: str | None) -> str | None:
    """The mood in a "More" button's data, or None for anything else."""
    if not data or not data.startswith(MORE_PREFIX):
        return None
    return data[len(MORE_PREFIX):] or None


def more_keyboard(mood: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("🎵 More", callback_data=more_data(mood))]])
