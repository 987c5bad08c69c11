"""Honest confidence: temperature-scaled emotion probabilities and the mood confidence built on them.

The served numbers come from `python -m training.fit_face_ensemble` (models/face_ensemble.json): the
temperature T and `unsure_below`, the mood confidence under which the bot asks instead of guessing,
are fitted on real faces of several populations held out from what picked the ensemble; and
`mood_decision` says whether a mood is the top emotion's mood or the mood with the largest summed
probability (whichever measured better). models/emotion_calibration.json is the FER-2013 model's
own (`python -m training.calibrate_emotion`, T on PublicTest), used when that model serves alone.
Loaded once, at start-up. The pipeline returns raw probabilities; this module scales them.
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
ENSEMBLE_JSON = PROJECT_ROOT / "models" / "face_ensemble.json"


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    unsure_below: float = 0.0
    mood_decision: str = "top_emotion"  # or "summed"

    @classmethod
    def load(cls, path: Path | str = CALIBRATION_JSON) -> Calibration:
        """From models/emotion_calibration.json (the FER-2013 model alone) or the "calibration"
        object of models/face_ensemble.json (the served ensemble)."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_dict(raw.get("calibration", raw), source=str(path))

    @classmethod
    def from_dict(cls, raw: dict, *, source: str = "calibration") -> Calibration:
        decision = str(raw.get("mood_decision", "top_emotion"))
        if decision not in ("top_emotion", "summed"):
            raise ValueError(f"{source}: unknown mood_decision {decision!r}")
        t = float(raw["temperature"])
        if not 0.05 < t < 20:
            raise ValueError(f"{source}: implausible temperature {t}")
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
    confidence: float  # of the top emotion (the mood's probability is what the bot acts on)
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
    """The served ensemble's calibration, else the FER-2013 model's, else none (T = 1, never unsure)."""
    for path in (ENSEMBLE_JSON, CALIBRATION_JSON):
        if path.is_file():
            return Calibration.load(path)
    return Calibration()
