"""Asking for a mood in words or emoji: a table of phrasings people actually send."""
from __future__ import annotations

import pytest

from recommender.text_mood import MAX_TEXT, mood_from_text

PHRASINGS = {
    # sad
    "😢": "sad", "😭😭": "sad", "sad": "sad", "SAD": "sad", "I'm so sad today": "sad",
    "feeling down": "sad", "i feel lonely": "sad", "my girlfriend broke up with me": "sad",
    "heartbroken 💔": "sad", "rough day at work": "sad", "I miss my dog": "sad", "not happy": "sad",
    "I don't feel good": "sad", "kinda depressed": "sad", "feel like crying": "sad", "blue": "sad",
    # happy
    "😄": "happy", "🙂": "happy", "happy": "happy", "I feel great": "happy", "feeling good!": "happy",
    "I'm in a good mood": "happy", "life is wonderful": "happy", "so grateful today ❤️": "happy",
    "cheer me up": "happy", "not bad at all": "happy", "I'm not sad anymore": "happy",
    "Awesome day": "happy", "smiling all day": "happy", "on top of the world": "happy",
    # energetic
    "⚡": "energetic", "🔥🔥": "energetic", "energetic": "energetic", "pumped for the gym": "energetic",
    "party time 🎉": "energetic", "let's go!": "energetic", "need motivation": "energetic",
    "wake me up": "energetic", "going for a run": "energetic", "so excited!!": "energetic",
    "I want to dance": "energetic", "full of energy": "energetic", "hyped": "energetic",
    # calm
    "😌": "calm", "need to calm down": "calm", "calm": "calm", "I'm stressed": "calm",
    "so tired": "calm", "help me relax": "calm", "I'm anxious about tomorrow": "calm",
    "so angry right now 😡": "calm", "want to wind down": "calm", "can't sleep": "calm",
    "chill vibes": "calm", "overwhelmed with work": "calm", "I'm not energetic at all": "calm",
    "take it easy": "calm", "meditation music": "calm", "scared": "calm",
    # nothing to go on
    "hello": None, "what can you do?": None, "/help me": None, "12345": None, "": None,
    "send me a song": None, "happy sad": None, "the weather": None,
}


def test_the_table_is_big_enough():
    assert len(PHRASINGS) >= 60


@pytest.mark.parametrize("text,mood", PHRASINGS.items())
def test_phrasing(text, mood):
    assert mood_from_text(text) == mood


def test_a_very_long_message_is_read_only_so_far():
    assert mood_from_text("sad " + "x" * 5000) == "sad"
    assert mood_from_text("x " * MAX_TEXT + "sad") is None
