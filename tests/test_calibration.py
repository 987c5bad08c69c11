"""Calibrated confidence: temperature scaling as shipped, and the mood reading built on it."""
from __future__ import annotations

import json

import pytest

from recommender.types import EMOTIONS, MOODS
from recommender.vision.calibration import CALIBRATION_JSON, ENSEMBLE_JSON, Calibration, mood_probs, shipped

# angry, disgust, fear, happy, sad, surprise, neutral
PROBS = (0.05, 0.01, 0.04, 0.30, 0.25, 0.05, 0.30)


def test_shipped_calibration_is_the_served_ensembles():
    raw = json.loads(ENSEMBLE_JSON.read_text())["calibration"]
    cal = shipped()
    assert cal.temperature == raw["temperature"] and cal.unsure_below == raw["unsure_below"]
    assert cal.mood_decision == raw["mood_decision"]


def test_scaling_keeps_the_ranking_and_sums_to_one():
    for t in (0.5, 0.93, 2.0):
        scaled = Calibration(t).scale(PROBS)
        assert sum(scaled) == pytest.approx(1.0)
        assert sorted(range(7), key=scaled.__getitem__) == sorted(range(7), key=PROBS.__getitem__)
    assert max(Calibration(0.5).scale(PROBS)) > max(PROBS) > max(Calibration(2.0).scale(PROBS))
    assert Calibration(1.0).scale(PROBS) == pytest.approx(PROBS)


def test_mood_probability_is_the_sum_of_its_emotions():
    moods = dict(zip(MOODS, mood_probs(PROBS)))
    assert moods == pytest.approx({"calm": 0.10, "happy": 0.60, "energetic": 0.05, "sad": 0.25})


def test_reading_decides_by_top_emotion_or_by_summed_mood():
    probs = (0.20, 0.10, 0.10, 0.25, 0.0, 0.35, 0.0)  # surprise on top, but calm sums to 0.40
    top = Calibration(1.0, 0.5, "top_emotion").read(probs)
    assert (top.emotion, top.mood, top.confidence) == ("surprise", "energetic", pytest.approx(0.35))
    assert Calibration(1.0, 0.5, "summed").read(probs).mood == "calm"


def test_the_fer_models_own_calibration_still_loads():
    raw = json.loads(CALIBRATION_JSON.read_text())
    assert Calibration.load(CALIBRATION_JSON).temperature == raw["temperature"]


def test_a_broken_file_is_refused(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"temperature": 0.9, "unsure_below": 0.5, "mood_decision": "vote"}))
    with pytest.raises(ValueError):
        Calibration.load(path)
    assert len(EMOTIONS) == len(PROBS)
