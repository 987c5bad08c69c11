"""Honest confidence: temperature-scaled emotion probabilities and the mood confidence built on them.

The numbers come from `python -m training.calibrate_emotion` (models/emotion_calibration.json): the
temperature T is fitted on FER-2013 PublicTest (never on the photos), `unsure_below` is the mood
confidence under which the bot asks instead of guessing, chosen on the labelled real photos, and
`mood_decision` says whether a mood is the top emotion's mood or the mood with the largest summed
probability (whichever measured better). Loaded once, at start-up. The pipeline itself returns the
model's raw probabilities (training and the benches scale them the same way, with this T).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..mood import MOOD_INDEX, mood_for
from ..paths import PROJECT_ROOT
from ..types import EMOTIONS, MOODS

CALIBRATION_JSON = PROJECT_ROOT / "models" / "emotion_calibration.json"


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    unsure_below: float = 0.0
    mood_decision: str = "top_emotion"  # or "summed"

    @classmethod
    def load(cls, path: Path | str = CALIBRATION_JSON) -> Calibration:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        decision = str(raw.get("mood_decision", "top_emotion"))
        if decision not in ("top_emotion", "summed"):
            raise ValueError(f"{path}: unknown mood_decision {decision!r}")
        t = float(raw["temperature"])
        if not 0.05 < t < 20:
            raise ValueError(f"{path}: implausible temperature {t}")
        return cls(t, float(raw["unsure_below"]), decision)

    def scale(self, probs: Sequence[float]) -> tuple[float, ...]:
        """softmax(log p / T): the same ranking, with confidences that match accuracy."""
        return tuple(float(p) for p in temperature_scale(np.asarray(probs, dtype=np.float64)[None], self.temperature)[0])

    def read(self, probs: Sequence[float]) -> MoodReading:
        scores = self.scale(probs)
        top = max(range(len(scores)), key=scores.__getitem__)
        moods = mood_probs(scores)
        if self.mood_decision == "summed":
            mood = MOODS[max(range(len(MOODS)), key=moods.__getitem__)]
        else:
            mood = mood_for(EMOTIONS[top])
        return MoodReading(scores, EMOTIONS[top], scores[top], moods, mood)


@dataclass(frozen=True)
class MoodReading:
    """One face's calibrated reading: what the bot tells the user and decides from."""

    scores: tuple[float, ...]  # calibrated emotion probabilities, EMOTIONS order
    emotion: str
    confidence: float  # of the emotion: the printed "% sure"
    mood_probs: tuple[float, ...]  # MOODS order
    mood: str


def mood_probs(emotion_probs: Sequence[float]) -> tuple[float, ...]:
    """A mood's probability is the sum of its emotions' probabilities (MOODS order)."""
    return tuple(float(p) for p in summed_moods(np.asarray(emotion_probs, dtype=np.float64)[None])[0])


def temperature_scale(probs: np.ndarray, t: float) -> np.ndarray:
    """softmax(log p / T) of (N, 7) probabilities; the one definition serving, calibration and
    the benches share."""
    logits = np.log(np.clip(probs, 1e-7, 1.0)) / t
    logits -= logits.max(1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(1, keepdims=True)


def summed_moods(probs: np.ndarray) -> np.ndarray:
    """(N, 7) emotion probabilities → (N, 4) mood probabilities, each the sum of its emotions'."""
    out = np.zeros((len(probs), len(MOODS)))
    for e, m in enumerate(MOOD_INDEX):
        out[:, m] += probs[:, e]
    return out


@cache
def shipped() -> Calibration:
    """The shipped calibration, or none (T = 1, never unsure) when the file is missing."""
    return Calibration.load() if CALIBRATION_JSON.is_file() else Calibration()
