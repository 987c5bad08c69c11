"""Test-time augmentation: the views of a 48×48 face whose predictions the classifier averages.

FER-2013 faces are framed loosely and inconsistently, and the model was trained with random
zoom, shift, rotation and mirroring; averaging its softmax over a few rescaled, mirrored copies
of the face removes part of the framing noise (figures: the model card, `python -m bench.tta`).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Views:
    """Each face is classified at every scale (about its centre), and mirrored if `mirror`."""

    scales: tuple[float, ...] = (1.0,)
    mirror: bool = False

    @property
    def count(self) -> int:
        return len(self.scales) * (2 if self.mirror else 1)


TTA_MODES: dict[str, Views] = {
    "none": Views(),
    "flip": Views(mirror=True),
    # The best of the scale sets bench/tta.py compares.
    "multiscale": Views(scales=(0.9, 1.0, 1.1), mirror=True),
}
DEFAULT_TTA = "multiscale"


def rescale(faces48: np.ndarray, scale: float) -> np.ndarray:
    """Zoom each (48, 48) face about its centre; edges are replicated, as in training."""
    if scale == 1.0:
        return faces48
    h, w = faces48.shape[1:]
    # The exact pixel-grid centre keeps zoom and mirror commuting, so the averaged prediction
    # of a face and of its mirror image are the same.
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 0.0, scale)
    return np.stack([cv2.warpAffine(f, m, (w, h), borderMode=cv2.BORDER_REPLICATE) for f in faces48])


def expand(faces48: np.ndarray, views: Views) -> np.ndarray:
    """(N, 48, 48) uint8 → (views.count · N, 48, 48), view-major (all faces of view 0 first)."""
    out = []
    for s in views.scales:
        scaled = rescale(faces48, s)
        out.append(scaled)
        if views.mirror:
            out.append(scaled[:, :, ::-1])
    return np.ascontiguousarray(np.concatenate(out))


def merge(probs: np.ndarray, views: Views) -> np.ndarray:
    """(views.count · N, C) view-major probabilities → (N, C), the mean over views."""
    return probs.reshape(views.count, -1, probs.shape[-1]).mean(0)
