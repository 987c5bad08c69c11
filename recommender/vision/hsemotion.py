"""HSEmotion MobileNet-7 (A. Savchenko; trained on AffectNet) served through LiteRT.

Colour faces at 224×224 from the working image: it reads posed and non-Western faces better than a
FER-2013 model, and errs differently, which is why the ensemble (vision/ensemble.py) pools them.
The preprocessing is the author's: a square of side 1.2·max(w, h) about the box centre, INTER_AREA,
BGR, ImageNet channel means subtracted, no scaling (models/hsemotion.card.json).

The served file is an int8 version of the upstream one (`python -m training.quantize_face_models`:
int8 activations, the 224×224 stem and the head kept float): twice as fast, the same readings on
the dev sets but for two near-tie faces, and the ensemble refitted on it (docs/emotion-model.md,
"Quantised HSEmotion (issue 28)"). The upstream hybrid file (int8 weights, float activations) stays
as the sha256-checked source it is made from, and as the "hsemotion-mobilenet7" member for benches.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..paths import MODELS_DIR
from ..types import EMOTIONS
from .imageio import DecodedImage, WorkBox
from .litert import BatchModel

# The upstream file byte for byte (training/convert_face_models.py checks its sha256).
HSEMOTION_TFLITE = MODELS_DIR / "hsemotion_mobilenet7.tflite"
# Served: made from it by training/quantize_face_models.py (member "hsemotion-mobilenet7-int8").
HSEMOTION_INT8_TFLITE = MODELS_DIR / "hsemotion_mobilenet7_int8.tflite"
INPUT_SIZE = 224
CROP_SCALE = 1.2
_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)
# The model's classes → our EMOTIONS order.
_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
_TO_EMOTIONS = np.array([_CLASSES.index(e) for e in EMOTIONS])


def square_crop(rgb: np.ndarray, box: WorkBox, scale: float, size: int) -> np.ndarray:
    """A size×size patch of side scale·max(w, h) about the box centre; the border repeats beyond
    the image edge (a selfie's face is often cut by it)."""
    x, y, w, h = box
    side = max(w, h) * scale
    patch_side = max(1, int(np.ceil(side)))
    cx, cy = x + w / 2.0, y + h / 2.0
    patch = cv2.getRectSubPix(rgb, (patch_side, patch_side), (cx - 0.5, cy - 0.5))
    interp = cv2.INTER_AREA if patch_side > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp)


def model_input(crops: np.ndarray) -> np.ndarray:
    """(N, 224, 224, 3) RGB crops → the model's input: BGR, float32, channel means subtracted."""
    return crops[..., ::-1].astype(np.float32) - _BGR_MEAN


class HSEmotion:
    def __init__(self, path: Path | str = HSEMOTION_TFLITE, *, num_threads: int = 1,
                 name: str = "hsemotion-mobilenet7"):
        self.path = Path(path)
        self.name = name
        self._model = BatchModel(self.path, num_threads)

    def inputs(self, rgb: np.ndarray, boxes: Sequence[WorkBox]) -> np.ndarray:
        return model_input(np.stack([square_crop(rgb, b, CROP_SCALE, INPUT_SIZE) for b in boxes]))

    def predict_proba(self, image: DecodedImage, boxes: Sequence[WorkBox]) -> np.ndarray:
        """Faces of the working image (boxes in its pixels) → (N, 7) probabilities, EMOTIONS order."""
        if not boxes:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        return self._model.run(self.inputs(image.rgb, boxes))[:, _TO_EMOTIONS]
