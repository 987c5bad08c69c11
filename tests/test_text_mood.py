"""Asking for a mood in words or emoji: a table of phrasings people actually send."""
from __future__ import annotations

import json

import pytest

from recommender.text_mood import ENGLISH, MAX_TEXT, MOOD_WORDS, mood_from_text
from recommender.types import MOODS

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


LANGUAGE_FILES = sorted(p.stem for p in MOOD_WORDS.glob("*.json"))


def test_every_language_the_bot_speaks_reads_feelings_in_it():
    from bot.i18n import Languages

    spoken = {lang.code for lang in Languages.load()}
    assert spoken <= set(LANGUAGE_FILES), f"no data/mood_words/<code>.json for {spoken - set(LANGUAGE_FILES)}"


@pytest.mark.parametrize("code", LANGUAGE_FILES)
def test_each_language_reads_its_own_examples(code):
    """Each vocabulary carries phrasings a native speaker sends ("examples": text → mood or null),
    covering every mood, negations and texts that name no mood."""
    examples = json.loads((MOOD_WORDS / f"{code}.json").read_text(encoding="utf-8"))["examples"]
    assert len(examples) >= 24 and {m for m in examples.values() if m} == set(MOODS)
    assert sum(m is None for m in examples.values()) >= 3
    wrong = {text: (mood_from_text(text, code), mood) for text, mood in examples.items()
             if mood_from_text(text, code) != mood}
    assert not wrong, f"{code}: read as (got, wanted) {wrong}"


def test_emoji_count_in_every_language_and_english_words_only_in_english():
    assert mood_from_text("😢", "ru") == "sad" and mood_from_text("🔥🔥", "de") == "energetic"
    assert mood_from_text("Ich bin fast fertig", "de") is None  # "fast" is "almost" in German
    assert mood_from_text("I feel great", "xx") == "happy"  # no vocabulary: read as English
    assert mood_from_text("I feel great") == "happy"


def test_a_capitalised_turkish_i_is_still_read():
    """Phone keyboards capitalise the first letter: "İyi değilim" must read like "iyi değilim"."""
    assert mood_from_text("İyi değilim", "tr") == mood_from_text("iyi değilim", "tr") == "sad"
