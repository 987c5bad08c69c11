"""Facial-emotion classifier served through LiteRT (no TensorFlow at serve time)."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from .paths import EMOTION_TFLITE
from .preprocess import to_model_input
from .types import EmotionScores


class EmotionClassifier:
    """Wraps the exported model: 48×48 uint8 faces in, 7-way probabilities out.

    With `flip_tta` each face is also classified mirrored and the two softmaxes averaged
    (the training augmentation makes the model mirror-invariant in expectation, so this is
    a cheap, measured accuracy gain).
    """

    def __init__(self, path: Path | str = EMOTION_TFLITE, *, flip_tta: bool = True, num_threads: int = 1):
        self.path = Path(path)
        self.flip_tta = flip_tta
        self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = 0
        # A LiteRT interpreter is not thread-safe; the bot calls it from a worker pool.
        self._lock = threading.Lock()

    def _run(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if batch.shape[0] != self._batch:
                self._interpreter.resize_tensor_input(self._input, batch.shape, strict=False)
                self._interpreter.allocate_tensors()
                self._batch = batch.shape[0]
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).copy()

    def predict_proba(self, faces48: np.ndarray) -> np.ndarray:
        """(N, 48, 48) uint8 → (N, 7) float probabilities."""
        x = to_model_input(faces48)
        if len(x) == 0:
            return np.zeros((0, 7), np.float32)
        if not self.flip_tta:
            return self._run(x)
        out = self._run(np.concatenate([x, x[:, :, ::-1]]))
        return (out[: len(x)] + out[len(x):]) / 2

    def predict(self, faces48: np.ndarray) -> list[EmotionScores]:
        return [EmotionScores(tuple(float(p) for p in row)) for row in self.predict_proba(faces48)]
