"""What a person lives through, counted per group of faces: the mood right, the bot asking, and
the bot answering outright with the wrong mood (confidently wrong), each with a 95 % interval.

The decision is the bot's (recommender/vision/calibration.py): calibrated emotion probabilities →
mood probabilities → the decided mood and its probability; below `unsure_below` the bot asks.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.mood import MOOD_INDEX
from recommender.types import EMOTIONS
from recommender.vision.calibration import summed_moods, temperature_scale

Z95 = 1.959964


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of k successes in n."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + Z95 ** 2 / n
    c = (p + Z95 ** 2 / (2 * n)) / d
    h = Z95 * np.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


@dataclass(frozen=True)
class Decisions:
    emotion: np.ndarray  # (N,) index into EMOTIONS
    mood: np.ndarray  # (N,) index into MOODS
    confidence: np.ndarray  # (N,) the decided mood's probability
    ask: np.ndarray  # (N,) bool


def decide(probs: np.ndarray, temperature: float, unsure_below: float, mood_decision: str) -> Decisions:
    cal = temperature_scale(probs, temperature)
    moods = summed_moods(cal)
    emotion = cal.argmax(1)
    mood = moods.argmax(1) if mood_decision == "summed" else np.asarray(MOOD_INDEX)[emotion]
    conf = moods[np.arange(len(moods)), mood]
    return Decisions(emotion, mood, conf, conf < unsure_below)


@dataclass(frozen=True)
class Rates:
    n: int
    emotion_right: int
    mood_right: int
    asked: int
    confidently_wrong: int

    def rate(self, k: int) -> tuple[float, float, float]:
        lo, hi = wilson(k, self.n)
        return (k / self.n if self.n else float("nan"), lo, hi)


def rates(d: Decisions, labels: np.ndarray, mask: np.ndarray | None = None) -> Rates:
    """`labels`: (N,) emotion indices."""
    m = np.ones(len(labels), bool) if mask is None else mask
    truth_mood = np.asarray(MOOD_INDEX)[labels]
    right = d.mood == truth_mood
    return Rates(int(m.sum()), int((d.emotion == labels)[m].sum()), int(right[m].sum()),
                 int(d.ask[m].sum()), int((~d.ask & ~right)[m].sum()))


def labels_of(names: Sequence[str]) -> np.ndarray:
    return np.array([EMOTIONS.index(n) for n in names])


def fmt(value: tuple[float, float, float]) -> str:
    p, lo, hi = value
    return f"{p:.2f} [{lo:.2f}–{hi:.2f}]"


def table(title: str, d: Decisions, labels: np.ndarray, groups: np.ndarray) -> str:
    """A markdown table: one row per group, then all faces."""
    head = (f"**{title}**\n\n| group | faces | emotion right | mood right | asks | confidently wrong |\n"
            "|---|---|---|---|---|---|\n")
    rows = []
    for g in [*sorted(set(groups)), None]:
        r = rates(d, labels, None if g is None else groups == g)
        rows.append(f"| {g or '**all**'} | {r.n} | {fmt(r.rate(r.emotion_right))} | {fmt(r.rate(r.mood_right))} "
                    f"| {fmt(r.rate(r.asked))} | {fmt(r.rate(r.confidently_wrong))} |")
    return head + "\n".join(rows) + "\n"
