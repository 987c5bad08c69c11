"""The mood diary picture, drawn in memory: a PNG that decodes, and a one-line summary."""
from __future__ import annotations

import io

from PIL import Image

from bot.diary import MoodEvent, recent, render, summary

NOW = 1_800_000_000.0


def events() -> list[MoodEvent]:
    return [MoodEvent(NOW - d * 86400, mood, chosen)
            for d, mood, chosen in [(1, "happy", False), (2, "happy", False), (3, "sad", True),
                                    (10, "calm", False), (29, "energetic", True), (45, "sad", False)]]


def test_recent_keeps_the_last_30_days():
    assert [e.mood for e in recent(events(), NOW)] == ["happy", "happy", "sad", "calm", "energetic"]


def test_summary_reads_the_shares_largest_first():
    assert summary(recent(events(), NOW)) == \
        "Your last 30 days: 5 moods — happy 40%, sad 20%, calm 20%, energetic 20%."


def test_picture_is_a_png_that_decodes():
    png = render(recent(events(), NOW), NOW)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(png) < 500_000
    with Image.open(io.BytesIO(png)) as im:
        im.load()
        assert im.size == (800, 360)
