"""Per-person mood adaptation from corrections: a bounded prior over moods, pure and explainable.

When someone taps "Not my mood" and picks another, that choice counts for the chosen mood. The
person's prior weight for a mood is its share of their corrections against an even share, smoothed
by `PSEUDO` taps per mood and clipped to [1/BOUND, BOUND]. The mood probabilities of the next selfie
are multiplied by these weights and renormalised. So a prior can only tip a close call: a mood needs
at least BOUND² times the probability of another to be outvoted, and a few taps cannot lock anyone
into one mood (with PSEUDO = 2, five taps for "sad" give sad a weight of 2.0, the others 0.62).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from .types import MOODS

PSEUDO = 2.0  # taps per mood assumed before any correction: the prior starts flat
BOUND = 2.0  # no mood's weight goes above BOUND or below 1/BOUND


def mood_weights(chosen: Mapping[str, int]) -> dict[str, float]:
    """The person's weight per mood from how often they chose each mood in a correction."""
    total = sum(max(0, chosen.get(m, 0)) for m in MOODS) + PSEUDO * len(MOODS)
    even = 1.0 / len(MOODS)
    return {m: min(BOUND, max(1.0 / BOUND, (max(0, chosen.get(m, 0)) + PSEUDO) / total / even)) for m in MOODS}


def adapt(mood_probs: Sequence[float], chosen: Mapping[str, int]) -> tuple[float, ...]:
    """Mood probabilities (in MOODS order) reweighted by the person's corrections."""
    weights = mood_weights(chosen)
    scaled = [p * weights[m] for p, m in zip(mood_probs, MOODS)]
    total = sum(scaled)
    return tuple(s / total for s in scaled) if total > 0 else tuple(mood_probs)
