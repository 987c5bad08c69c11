"""Per-person adaptation: flat without corrections, tips close calls, never locks anyone in."""
from __future__ import annotations

import pytest

from recommender.adapt import BOUND, adapt, mood_weights
from recommender.types import MOODS


def test_no_corrections_change_nothing():
    probs = (0.1, 0.5, 0.15, 0.25)
    assert adapt(probs, {}) == pytest.approx(probs)
    assert set(mood_weights({}).values()) == {1.0}


def test_corrections_tip_a_close_call_toward_the_chosen_mood():
    close = dict(zip(MOODS, (0.05, 0.45, 0.05, 0.45)))  # happy vs sad, a coin toss
    probs = tuple(close[m] for m in MOODS)
    after = dict(zip(MOODS, adapt(probs, {"happy": 3})))
    assert after["happy"] > after["sad"] and sum(after.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("taps", [1, 5, 50, 10_000])
def test_weights_stay_bounded_and_a_confident_reading_wins(taps):
    weights = mood_weights({"sad": taps})
    assert all(1 / BOUND <= w <= BOUND for w in weights.values())
    confident_happy = (0.05, 0.82, 0.05, 0.08)
    assert max(range(4), key=adapt(confident_happy, {"sad": taps}).__getitem__) == MOODS.index("happy")
