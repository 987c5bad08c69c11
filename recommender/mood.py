"""The emotion → music-mood mapping, kept in one place so it is easy to change."""
from __future__ import annotations

from .types import EMOTIONS, MOODS

# The seed project's mapping: negative arousal is met with calm music, surprise with energy.
EMOTION_TO_MOOD: dict[str, str] = {
    "angry": "calm",
    "disgust": "calm",
    "fear": "calm",
    "happy": "happy",
    "neutral": "happy",
    "sad": "sad",
    "surprise": "energetic",
}

assert set(EMOTION_TO_MOOD) == set(EMOTIONS) and set(EMOTION_TO_MOOD.values()) <= set(MOODS)

# The same mapping by index (EMOTIONS order → MOODS index), for scoring arrays of class indices.
MOOD_INDEX: tuple[int, ...] = tuple(MOODS.index(EMOTION_TO_MOOD[e]) for e in EMOTIONS)


def mood_for(emotion: str) -> str:
    try:
        return EMOTION_TO_MOOD[emotion]
    except KeyError:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {EMOTIONS}") from None
