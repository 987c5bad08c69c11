"""The mood diary picture, drawn in memory: a PNG that decodes, and a one-line summary."""
from __future__ import annotations

import io
from gettext import NullTranslations

from PIL import Image

from bot.diary import MoodEvent, recent, render, shares
from bot.texts import diary_labels, diary_summary

NOW = 1_800_000_000.0
EN = NullTranslations()


def events() -> list[MoodEvent]:
    return [MoodEvent(NOW - d * 86400, mood, chosen)
            for d, mood, chosen in [(1, "happy", False), (2, "happy", False), (3, "sad", True),
                                    (10, "calm", False), (29, "energetic", True), (45, "sad", False)]]


def test_recent_keeps_the_last_30_days():
    assert [e.mood for e in recent(events(), NOW)] == ["happy", "happy", "sad", "calm", "energetic"]


def test_summary_reads_the_shares_largest_first():
    kept = recent(events(), NOW)
    assert diary_summary(EN, shares(kept), len(kept), 30) == \
        "Your last 30 days: 5 moods — happy 40%, sad 20%, calm 20%, energetic 20%."
    assert diary_summary(EN, shares(kept[:1]), 1, 30) == "Your last 30 days: 1 mood — happy 100%."


def test_picture_is_a_png_that_decodes():
    png = render(recent(events(), NOW), diary_labels(EN, 30), NOW)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(png) < 500_000
    with Image.open(io.BytesIO(png)) as im:
        im.load()
        assert im.size == (800, 360)
