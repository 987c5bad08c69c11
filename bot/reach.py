"""Beyond one chat (issue 27): the features that register beside bot/handlers.py."""
from __future__ import annotations

from telegram.ext import Application

from . import checkin, deeplinks, group_mood, inline


def register(app: Application) -> None:
    group_mood.register(app)  # group -1: a group's photos and "More" presses, before the private ones
    deeplinks.register(app)  # group -1: /start <payload>
    checkin.register(app)  # group -1: /checkin and its buttons
    inline.register(app)  # inline queries and chosen results: no other handler takes them
