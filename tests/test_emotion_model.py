"""The shipped emotion model: loads, serves like Keras, and still scores what its card says."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from recommender.vision import emotion as served
from recommender.vision.emotion import EmotionClassifier
from recommender.paths import EMOTION_CARD, EMOTION_KERAS, EMOTION_TFLITE
from recommender.vision.preprocess import pixels_to_faces, to_model_input
from recommender.types import EMOTIONS
from shared_data import require
from training.fer_data import default_fer_csv, load_fer, regression_sample

CARD = json.loads(EMOTION_CARD.read_text())


@pytest.fixture(scope="module")
def publictest():
    return load_fer(require("fer2013", default_fer_csv().name)).split("PublicTest")


@pytest.fixture(scope="module")
def classifier():
    return EmotionClassifier()


def test_training_and_serving_share_one_preprocessing_function():
    from training import evaluate_emotion, train_emotion

    assert train_emotion.to_model_input is to_model_input
    assert served.to_model_input is to_model_input
    assert evaluate_emotion.EmotionClassifier is EmotionClassifier


def test_to_model_input_scales_and_shapes():
    faces = np.stack([np.zeros((48, 48), np.uint8), np.full((48, 48), 255, np.uint8)])
    x = to_model_input(faces)
    assert x.shape == (2, 48, 48, 1) and x.dtype == np.float32
    assert x[0].max() == 0.0 and x[1].min() == 1.0
    assert to_model_input(faces[0]).shape == (1, 48, 48, 1)
    with pytest.raises(ValueError):
        to_model_input(np.zeros((2, 64, 64), np.uint8))


def test_pixels_column_parses_to_faces():
    row = " ".join(str(i % 256) for i in range(48 * 48))
    faces = pixels_to_faces([row, row])
    assert faces.shape == (2, 48, 48) and faces[0, 0, 5] == 5 and faces[0, 1, 0] == 48


def test_model_predicts_a_distribution_per_face(classifier, publictest):
    scores = classifier.predict(publictest.faces[:5])
    assert len(scores) == 5
    for s in scores:
        assert s.emotion in EMOTIONS and abs(sum(s.probs) - 1) < 1e-4 and 0 < s.confidence <= 1


def test_served_views_make_the_prediction_mirror_invariant(classifier, publictest):
    faces = publictest.faces[:16]
    np.testing.assert_allclose(classifier.predict_proba(faces), classifier.predict_proba(faces[:, :, ::-1]),
                               atol=1e-5)


def test_regression_sample_matches_card(classifier, publictest):
    """Catches a changed preprocessing, a stale export or a swapped model file."""
    sample = regression_sample(len(publictest.labels))
    expected = CARD["publictest"]["regression_sample"]["accuracy"]
    acc = float((classifier.predict_proba(publictest.faces[sample]).argmax(1) == publictest.labels[sample]).mean())
    assert abs(acc - expected) <= 0.02, (acc, expected)
    assert acc >= 0.60  # the bar the first shipped model had to clear


def test_litert_export_agrees_with_keras(publictest):
    import os

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    net = keras.models.load_model(EMOTION_KERAS, compile=False)
    faces = publictest.faces[:200]
    keras_p = net.predict(to_model_input(faces), verbose=0)
    lite_p = EmotionClassifier(EMOTION_TFLITE, tta="none").predict_proba(faces)
    # The served model stores int8 weights (dynamic-range quantisation): close, not bit-equal.
    assert np.abs(lite_p - keras_p).max() < 0.1
    assert (lite_p.argmax(1) == keras_p.argmax(1)).mean() >= 0.98


def test_evaluate_emotion_command_reports_accuracy_last(tmp_path, publictest, capsys):
    from training.evaluate_emotion import main

    n = 60
    rows = ["emotion,pixels,Usage"] + [
        f"{label},{' '.join(map(str, face.ravel()))},PublicTest"
        for face, label in zip(publictest.faces[:n], publictest.labels[:n])]
    csv_gz = tmp_path / "sample.csv.gz"
    csv_gz.write_bytes(gzip.compress("\n".join(rows).encode()))
    assert main(["--csv", str(csv_gz), "--report", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    expected = (EmotionClassifier().predict_proba(publictest.faces[:n]).argmax(1) == publictest.labels[:n]).mean()
    assert out[-1] == f"accuracy={expected:.4f} n={n}"
    assert any(line.startswith("mood_accuracy=") for line in out)
    report = json.loads((tmp_path / "report" / "evaluation.json").read_text())
    assert report["n"] == n and len(report["confusion"]) == 7
    assert (tmp_path / "report" / "confusion.png").stat().st_size > 1000


def test_a_second_interpreter_thread_changes_no_prediction(publictest):
    # The bot serves with DEFAULT_THREADS (two on a 2-core machine) for speed; a user's answer
    # must not depend on how many cores the host happens to give the interpreter.
    faces = publictest.faces[:64]
    one = EmotionClassifier(num_threads=1).predict_proba(faces)
    two = EmotionClassifier(num_threads=2).predict_proba(faces)
    assert (one.argmax(1) == two.argmax(1)).all()
    np.testing.assert_allclose(one, two, atol=1e-5)
