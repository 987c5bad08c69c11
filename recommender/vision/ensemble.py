"""Face expression models behind one interface, and the ensemble the bot serves.

Each model reads faces of a decoded image (boxes in the working image's pixels) and returns
probabilities over EMOTIONS. The ensemble pools its members log-linearly — softmax(Σ wᵢ·log pᵢ + b) —
with weights and a per-class bias fitted by `python -m training.fit_face_ensemble` on real faces of
several populations (models/face_ensemble.json). Log pooling lets a model that is sure and right
outvote two that hesitate, and is one weight per model: little to overfit on a few hundred faces.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..paths import EMOTION_TFLITE
from ..types import EMOTIONS
from .calibration import ENSEMBLE_JSON, Calibration
from .emotion import EmotionClassifier
from .imageio import DecodedImage, WorkBox
from .preprocess import CROP_MARGIN, CROP_SHIFT, FACE_SIZE, crop_face, normalize_contrast


class ExpressionModel(Protocol):
    name: str

    def predict_proba(self, image: DecodedImage, boxes: Sequence[WorkBox]) -> np.ndarray: ...


class FerExpression:
    """The FER-2013 CNN (48×48 grey, FER's framing and contrast) as an ExpressionModel."""

    name = "fer2013-cnn"

    def __init__(self, classifier: EmotionClassifier, *, margin: float = CROP_MARGIN,
                 shift: float = CROP_SHIFT):
        self.classifier = classifier
        self.margin = margin
        self.shift = shift

    def faces48(self, image: DecodedImage, boxes: Sequence[WorkBox]) -> np.ndarray:
        crops = [normalize_contrast(crop_face(image.gray, b, margin=self.margin, shift=self.shift))
                 for b in boxes]
        return np.stack(crops) if crops else np.zeros((0, FACE_SIZE, FACE_SIZE), np.uint8)

    def predict_proba(self, image: DecodedImage, boxes: Sequence[WorkBox]) -> np.ndarray:
        return self.classifier.predict_proba(self.faces48(image, boxes))


@dataclass(frozen=True)
class Member:
    model: ExpressionModel
    weight: float


class Ensemble:
    """softmax(Σ wᵢ·log pᵢ + bias) over the members' probabilities."""

    def __init__(self, members: Sequence[Member], bias: Sequence[float] | None = None,
                 calibration: Calibration | None = None):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = tuple(members)
        self.bias = np.zeros(len(EMOTIONS)) if bias is None else np.asarray(bias, np.float64)
        self.name = " + ".join(f"{m.model.name}×{m.weight:g}" for m in self.members)
        self.calibration = calibration or Calibration()

    def predict_proba(self, image: DecodedImage, boxes: Sequence[WorkBox]) -> np.ndarray:
        if not boxes:
            return np.zeros((0, len(EMOTIONS)))
        return pool([m.model.predict_proba(image, boxes) for m in self.members],
                    [m.weight for m in self.members], self.bias)


def pool(probs: Sequence[np.ndarray], weights: Sequence[float], bias: np.ndarray | None = None) -> np.ndarray:
    """Log-linear pooling of (N, 7) probability arrays; the one definition serving and fitting share."""
    logits = sum(w * np.log(np.clip(np.asarray(p, np.float64), 1e-6, 1.0)) for p, w in zip(probs, weights))
    if bias is not None:
        logits = logits + bias
    logits = logits - logits.max(1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(1, keepdims=True)


def build_member(name: str, threads: int) -> ExpressionModel:
    """A member model by its name in models/face_ensemble.json."""
    if name == FerExpression.name:
        return FerExpression(EmotionClassifier(EMOTION_TFLITE, num_threads=threads))
    if name == "hsemotion-mobilenet7":
        from .hsemotion import HSEmotion
        return HSEmotion(num_threads=threads)
    if name == "hsemotion-mobilenet7-int8":  # the served one (models/face_ensemble.json)
        from .hsemotion import HSEMOTION_INT8_TFLITE, HSEmotion
        if not HSEMOTION_INT8_TFLITE.exists():
            raise FileNotFoundError(f"{HSEMOTION_INT8_TFLITE} is made by `python -m training.quantize_face_models`")
        return HSEmotion(HSEMOTION_INT8_TFLITE, num_threads=threads, name=name)
    if name == "faceapi-expression":
        from .faceapi import FaceApiExpression
        return FaceApiExpression(num_threads=threads)
    raise ValueError(f"unknown face expression model {name!r}")


def load_ensemble(path: Path | str = ENSEMBLE_JSON, *, threads: int = 1) -> Ensemble:
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    members = [Member(build_member(m["name"], threads), float(m["weight"])) for m in spec["members"]]
    calibration = Calibration.from_dict(spec["calibration"], source=str(path)) if "calibration" in spec else None
    return Ensemble(members, spec.get("bias"), calibration)
