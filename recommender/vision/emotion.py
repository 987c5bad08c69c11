"""Facial-emotion classifier served through LiteRT (no TensorFlow at serve time)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..paths import EMOTION_TFLITE
from .litert import BatchModel
from .preprocess import to_model_input
from .tta import DEFAULT_TTA, TTA_MODES, Views, expand, merge
from ..types import EMOTIONS, EmotionScores

# The lock lets one face batch through at a time, so the interpreter may use a second core.
DEFAULT_THREADS = min(2, len(os.sched_getaffinity(0)))


class EmotionClassifier:
    """Wraps the exported model: 48×48 uint8 faces in, 7-way probabilities out.

    `tta` names the test-time views averaged per face (`recommender.vision.tta.TTA_MODES`: "none",
    "flip" = face + mirror, "multiscale" = three zooms × mirror, the served default, six views
    in one batch) or is a `Views`.
    """

    def __init__(self, path: Path | str = EMOTION_TFLITE, *, tta: str | Views = DEFAULT_TTA,
                 num_threads: int = DEFAULT_THREADS):
        self.path = Path(path)
        if isinstance(tta, Views):
            self.views = tta
        elif tta in TTA_MODES:
            self.views = TTA_MODES[tta]
        else:
            raise ValueError(f"unknown test-time augmentation {tta!r}; expected one of {sorted(TTA_MODES)}")
        self._model = BatchModel(self.path, num_threads)

    def predict_proba(self, faces48: np.ndarray) -> np.ndarray:
        """(N, 48, 48) uint8 → (N, 7) float probabilities."""
        faces48 = np.asarray(faces48)
        if faces48.ndim == 2:
            faces48 = faces48[None]
        if len(faces48) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        return merge(self._model.run(to_model_input(expand(faces48, self.views))), self.views)

    def predict(self, faces48: np.ndarray) -> list[EmotionScores]:
        return [EmotionScores(tuple(float(p) for p in row)) for row in self.predict_proba(faces48)]
