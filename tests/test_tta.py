"""Test-time views: what the classifier averages over, and that serving uses them."""
from __future__ import annotations

import numpy as np
import pytest

from recommender.vision.emotion import EmotionClassifier
from recommender.vision.tta import DEFAULT_TTA, TTA_MODES, Views, expand, merge, rescale


def faces(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 48, 48), dtype=np.uint8)


def test_expand_then_merge_round_trips_per_face_values():
    views = Views(scales=(0.9, 1.0, 1.1), mirror=True)
    x = faces(5)
    stacked = expand(x, views)
    assert stacked.shape == (views.count * 5, 48, 48) and stacked.dtype == np.uint8
    # View-major: face i of every view carries face i's id after merging.
    ids = np.repeat(np.arange(5, dtype=np.float32)[None, :, None], views.count, 0).reshape(-1, 1)
    np.testing.assert_allclose(merge(ids, views), np.arange(5, dtype=np.float32)[:, None])


def test_zoom_in_magnifies_the_centre():
    face = np.zeros((1, 48, 48), np.uint8)
    face[0, 16:32, 16:32] = 255  # a bright square in the middle: its area grows with the zoom squared
    bright = lambda img: float(img.astype(np.float64).sum() / face.sum())  # noqa: E731
    assert bright(rescale(face, 1.1)) == pytest.approx(1.21, abs=0.05)
    assert bright(rescale(face, 0.9)) == pytest.approx(0.81, abs=0.05)
    assert rescale(face, 1.0) is face


def test_served_default_is_a_named_mode_and_unknown_modes_are_refused():
    assert DEFAULT_TTA in TTA_MODES and TTA_MODES["none"].count == 1 and TTA_MODES["flip"].count == 2
    with pytest.raises(ValueError, match="unknown test-time augmentation"):
        EmotionClassifier(tta="tenfold")


def test_classifier_averages_its_views():
    x = faces(3)
    views = TTA_MODES[DEFAULT_TTA]
    clf, single = EmotionClassifier(), EmotionClassifier(tta="none")
    per_view = single.predict_proba(expand(x, views)).reshape(views.count, 3, 7)
    np.testing.assert_allclose(clf.predict_proba(x), per_view.mean(0), atol=1e-5)
    assert clf.predict_proba(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
