"""face-api.js's FaceExpressionNet (MIT), rebuilt by training/convert_face_models.py, served through LiteRT.

A second opinion beside our FER-2013 CNN: trained on other faces (colour, 112×112), so it errs
differently. Outputs are in our EMOTIONS order (the model permutes face-api.js's classes itself).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..paths import FACE_EXPRESSION_TFLITE
from ..types import EMOTIONS
from .imageio import DecodedImage
from .litert import BatchModel

INPUT_SIZE = 112
# The square grows 5 % of the box each side (side 1.1·max(w, h)): on the 440 diverse faces 0 and 0.05 read
# 79 % right, 0.1 76 %, 0.2 71 % (python -m bench.faceapi --margins 0,0.05,0.1,0.2).
CROP_MARGIN = 0.05
DEFAULT_THREADS = min(2, len(os.sched_getaffinity(0)))


def crop_faces(rgb: np.ndarray, boxes: Sequence[Sequence[float]], *, margin: float = CROP_MARGIN) -> np.ndarray:
    """(H, W, 3) uint8 RGB + boxes (x, y, w, h in its pixels) → (N, 112, 112, 3) uint8 crops.

    Each crop is a square of side max(w, h)·(1 + 2·margin) centred on the box; beyond the image
    edge the edge pixels repeat (a face at a selfie's border keeps a plausible background).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    out = np.empty((len(boxes), INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    for i, box in enumerate(boxes):
        x, y, w, h = map(float, box)
        if w <= 0 or h <= 0:
            raise ValueError(f"empty face box {box}")
        side = max(w, h) * (1.0 + 2.0 * margin)
        patch_side = max(1, int(np.ceil(side)))
        # getRectSubPix samples at sub-pixel precision and replicates the border for us.
        patch = cv2.getRectSubPix(rgb, (patch_side, patch_side), (x + w / 2.0 - 0.5, y + h / 2.0 - 0.5))
        out[i] = cv2.resize(patch, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
    return out


class FaceApiExpression:
    """112×112 RGB face crops in, 7-way probabilities (EMOTIONS order) out; thread-safe."""

    name = "faceapi-expression"

    def __init__(self, path: Path | str = FACE_EXPRESSION_TFLITE, *, num_threads: int = DEFAULT_THREADS,
                 margin: float = CROP_MARGIN):
        self.path = Path(path)
        self.margin = margin
        self._model = BatchModel(self.path, num_threads)

    def run(self, crops: np.ndarray) -> np.ndarray:
        """(N, 112, 112, 3) RGB 0–255 (any numeric dtype) → (N, 7) float32, one invoke for the batch."""
        batch = np.ascontiguousarray(crops, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"expected (N, {INPUT_SIZE}, {INPUT_SIZE}, 3) crops, got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        return self._model.run(batch)

    def predict_rgb(self, rgb: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """(H, W, 3) uint8 RGB + face boxes (x, y, w, h in its pixels) → (N, 7) in EMOTIONS order."""
        return self.run(crop_faces(rgb, boxes, margin=self.margin))

    def predict_proba(self, image: DecodedImage, boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """The ensemble's interface (vision/ensemble.py): boxes in the working image's pixels."""
        return self.predict_rgb(image.rgb, boxes)
