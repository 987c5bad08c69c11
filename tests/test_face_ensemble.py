"""The served face model: the ensemble, its honest doubt, the face check, and the decision the bot
and the CLI share. The per-group targets run on the dev sets (skipped without them, failing in CI)."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from recommender.decision import ANSWER, ASK, decide
from recommender.types import EMOTIONS, MOODS
from recommender.vision.calibration import Calibration, shipped
from recommender.vision.ensemble import ENSEMBLE_JSON, load_ensemble, pool
from shared_data import require


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


def test_the_bot_serves_the_fitted_ensemble_with_its_calibration(pipeline):
    spec = json.loads(ENSEMBLE_JSON.read_text())
    names = [m["name"] for m in spec["members"]]
    assert len(names) >= 2 and "fer2013-cnn" in names
    assert all(n in pipeline.model_name for n in names)
    assert pipeline.calibration == Calibration.from_dict(spec["calibration"]) == shipped()


def test_pooling_follows_the_model_that_is_sure():
    unsure = np.full((1, 7), 1 / 7)
    sure = np.array([[0.01, 0.01, 0.01, 0.9, 0.03, 0.02, 0.02]])
    out = pool([unsure, sure], [0.5, 0.5])
    assert out.shape == (1, 7) and np.isclose(out.sum(), 1) and out.argmax() == EMOTIONS.index("happy")


def reading(probs):
    return Calibration(1.0, 0.0, "top_emotion").read(probs)


def test_sure_faces_are_answered_with_the_moods_own_confidence():
    probs = [0.02, 0.01, 0.02, 0.80, 0.05, 0.02, 0.08]  # happy + neutral both lead to ☀️ happy
    d = decide(reading(probs), 0.5)
    assert d.action == ANSWER and d.mood == "happy"
    assert d.confidence == pytest.approx(0.88)  # the mood's (happy + neutral), not the emotion's 0.80
    assert d.offered == ()


def test_an_unsure_face_offers_its_best_guess_and_the_runner_up():
    probs = [0.20, 0.05, 0.05, 0.25, 0.30, 0.05, 0.10]  # sad 0.30 leads; calm 0.30 ties, happy 0.35
    d = decide(reading(probs), 0.5)
    assert d.action == ASK
    assert d.offered[0] == d.mood and len(set(d.offered)) == 2
    ranked = sorted(MOODS, key=lambda m: -d.mood_probs[MOODS.index(m)])
    assert set(d.offered) <= set(ranked[:3]) and d.confidence < 0.5


def test_corrections_tilt_the_decision_and_its_confidence():
    probs = [0.05, 0.02, 0.03, 0.40, 0.38, 0.02, 0.10]
    plain = decide(reading(probs), 0.3)
    tilted = decide(reading(probs), 0.3, {"sad": 6})
    assert plain.mood == "happy" and tilted.mood == "sad"
    assert tilted.confidence == pytest.approx(tilted.mood_probs[MOODS.index("sad")])


@pytest.mark.parametrize("name", ["smiley", "sketch", "colorwheel"])
def test_drawings_and_colour_charts_get_no_face(pipeline, name):
    import cv2
    from skimage import data

    if name == "colorwheel":
        image = data.colorwheel()[..., :3]  # BlazeFace alone calls this a face (score 0.58)
    else:
        image = np.full((500, 500, 3), 250, np.uint8)
        if name == "smiley":
            cv2.circle(image, (250, 250), 180, (0, 200, 255), -1)
            for x in (190, 310):
                cv2.circle(image, (x, 200), 25, (0, 0, 0), -1)
            cv2.ellipse(image, (250, 290), (90, 60), 0, 0, 180, (0, 0, 0), 12)
        else:
            cv2.ellipse(image, (250, 250), (120, 160), 0, 0, 360, (30, 30, 30), 4)
            for x in (200, 300):
                cv2.ellipse(image, (x, 210), (25, 12), 0, 0, 360, (30, 30, 30), 3)
            cv2.line(image, (250, 230), (240, 290), (30, 30, 30), 3)
            cv2.ellipse(image, (250, 330), (50, 20), 0, 0, 180, (30, 30, 30), 3)
    data_png = png(image)
    from recommender.vision import imageio

    assert pipeline.detector.detect(imageio.decode(data_png)), "the detector alone is fooled: the check matters"
    assert pipeline.analyze(data_png).faces == []


def test_real_faces_pass_the_face_check(pipeline):
    from skimage import data

    analysis = pipeline.analyze(png(data.astronaut()))
    assert len(analysis.faces) == 1 and analysis.mood == "happy"


def test_every_group_of_faces_is_read_right_and_doubt_is_honest():
    """The issue's targets on the dev sets: mood right ≥ 0.80 in every group of ≥ 24 faces,
    confidently wrong ≤ 0.10 over all, and at least 75 % answered outright; no no-face photo
    answered and no real face lost. (`python -m bench.face_groups` prints the full table.)"""
    require("faces_diverse", "labels.csv")
    require("photos", "labels.csv")
    from training.face_metrics import decide as decide_all, labels_of, rates
    from training.face_sets import load_sets, short_group

    ensemble = load_ensemble()
    sets = load_sets({"served": ensemble})
    found = np.array(sets.found)
    labels = np.array(sets.labels)
    emotional = sets.emotion_rows()
    assert found[emotional].all(), "a labelled face was lost"
    assert not found[labels == "noface"].any(), "a photo without a face got an answer"
    probs = sets.arrays()["served"][emotional]
    y = labels_of(labels[emotional])
    groups = np.array([short_group(g) for g in sets.groups])[emotional]
    cal = ensemble.calibration
    d = decide_all(probs, cal.temperature, cal.unsure_below, cal.mood_decision)
    everyone = rates(d, y)
    assert everyone.confidently_wrong / everyone.n <= 0.10
    assert everyone.asked / everyone.n <= 0.25
    for g in sorted(set(groups)):
        r = rates(d, y, groups == g)
        if r.n >= 24:
            assert r.mood_right / r.n >= 0.80, (g, r)


def test_the_served_hsemotion_is_the_int8_file_its_card_describes(pipeline):
    """Issue 28: the ensemble serves the int8 HSEmotion that training/quantize_face_models.py makes
    (the file its card records), from the sha256-checked upstream import kept beside it."""
    import hashlib
    import json

    from recommender.vision.hsemotion import HSEMOTION_INT8_TFLITE, HSEMOTION_TFLITE, HSEmotion
    from training.convert_face_models import HSEMOTION_SHA256

    served = [m.model for m in pipeline.model.members if isinstance(m.model, HSEmotion)]
    assert [m.path for m in served] == [HSEMOTION_INT8_TFLITE]
    card = json.loads((HSEMOTION_INT8_TFLITE.parent / "hsemotion.card.json").read_text(encoding="utf-8"))
    assert hashlib.sha256(HSEMOTION_INT8_TFLITE.read_bytes()).hexdigest() == card["int8_version"]["file_sha256"]
    assert hashlib.sha256(HSEMOTION_TFLITE.read_bytes()).hexdigest() == HSEMOTION_SHA256
