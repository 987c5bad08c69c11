"""Training-time augmentation of 48×48 faces, in NumPy/OpenCV on the host.

Keras' image-transform layers run `map_coordinates` under JAX, which on a GPU made an epoch
take ~40 s; warping 256 tiny faces with OpenCV costs ~4 ms, so the host does it instead and
the accelerator only trains. Random: mirror, rotation ±15°, zoom ±15 %, shift ±10 %, and
random erasing (a grey-level block, p=0.5).
"""
from __future__ import annotations

import math

import cv2
import keras
import numpy as np


def augment_batch(faces: np.ndarray, rng: np.random.Generator, *, rotation=15.0, zoom=0.15, shift=0.1,
                  erase_p=0.5) -> np.ndarray:
    """(N, 48, 48) uint8 → augmented copy, same shape and dtype."""
    n, h, w = faces.shape
    out = np.empty_like(faces)
    angles = rng.uniform(-rotation, rotation, n)
    scales = rng.uniform(1 - zoom, 1 + zoom, n)
    shifts = rng.uniform(-shift, shift, (n, 2)) * (w, h)
    flips = rng.random(n) < 0.5
    for i in range(n):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angles[i], scales[i])
        m[:, 2] += shifts[i]
        img = faces[i][:, ::-1] if flips[i] else faces[i]
        out[i] = cv2.warpAffine(np.ascontiguousarray(img), m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    for i in np.flatnonzero(rng.random(n) < erase_p):
        area = rng.uniform(0.02, 0.15) * h * w
        ratio = math.exp(rng.uniform(math.log(0.3), math.log(3.3)))
        eh, ew = min(h, int(round(math.sqrt(area * ratio)))), min(w, int(round(math.sqrt(area / ratio))))
        y, x = rng.integers(0, h - eh + 1), rng.integers(0, w - ew + 1)
        out[i, y:y + eh, x:x + ew] = rng.integers(0, 256)
    return out


class AugmentedFaces(keras.utils.PyDataset):
    """Shuffled, augmented batches of (faces as model input, soft targets), a fresh draw each epoch."""

    def __init__(self, faces: np.ndarray, targets: np.ndarray, batch_size: int, seed: int, to_input, **kwargs):
        super().__init__(**kwargs)
        self.faces, self.targets, self.batch_size, self.to_input = faces, targets, batch_size, to_input
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(faces))

    def __len__(self) -> int:
        return math.ceil(len(self.faces) / self.batch_size)

    def __getitem__(self, i: int):
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        return self.to_input(augment_batch(self.faces[idx], self.rng)), self.targets[idx]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.faces))
