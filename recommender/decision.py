"""From a face's calibrated reading to what the bot does: answer with a mood, or ask between two.

One function for the bot and the CLI, so `python -m recommender --json` prints the numbers the bot
acts on. The confidence is the decided mood's probability (after the person's corrections tilt
it, recommender/adapt.py): the number the bot shows is the number it decides on.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .adapt import adapt
from .types import EMOTIONS, MOODS
from .vision.calibration import MoodReading

ANSWER, ASK = "answer", "ask"


@dataclass(frozen=True)
class Decision:
    action: str  # ANSWER or ASK
    mood: str  # the likeliest mood: the answer, or the best guess when asking
    confidence: float  # that mood's probability
    offered: tuple[str, ...]  # when asking: the two likeliest moods, best first; else ()
    mood_probs: tuple[float, ...]  # MOODS order, as decided on (adapted when the person corrected)
    reading: MoodReading

    @property
    def asks(self) -> bool:
        return self.action == ASK

    def as_dict(self) -> dict:
        r = self.reading
        return {
            "decision": self.action,
            "mood": self.mood,
            "mood_confidence": round(self.confidence, 4),
            "offered": list(self.offered),
            "mood_probs": {m: round(p, 4) for m, p in zip(MOODS, self.mood_probs)},
            "emotion": r.emotion,
            "emotion_scores": {e: round(p, 4) for e, p in zip(EMOTIONS, r.scores)},
        }


def decide(reading: MoodReading, unsure_below: float, chosen: Mapping[str, int] | None = None) -> Decision:
    """Answer when the decided mood's probability reaches `unsure_below`, else ask between the two
    likeliest moods. Without corrections the mood is the calibrated reading's own decision."""
    probs = reading.mood_probs
    mood = reading.mood
    if chosen and any(chosen.values()):
        probs = adapt(probs, chosen)
        mood = MOODS[max(range(len(MOODS)), key=probs.__getitem__)]
    confidence = probs[MOODS.index(mood)]
    if confidence >= unsure_below:
        return Decision(ANSWER, mood, confidence, (), probs, reading)
    ranked = sorted(MOODS, key=lambda m: -probs[MOODS.index(m)])
    offered = (mood, next(m for m in ranked if m != mood))
    return Decision(ASK, mood, confidence, offered, probs, reading)
