"""Teacher probabilities on the Training rows, stored for distillation.

`.npz` files hold them as float16 under the key `probs`: a third of the float32 size, so the
targets of the shipped model fit in the repository, and the rounding (< 5e-4) is far below what
changes a distilled student. `.npy` files (what older runs wrote) hold float32.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from recommender.types import EMOTIONS

NUM_CLASSES = len(EMOTIONS)


def save_teacher_probs(path: Path, probs: np.ndarray) -> None:
    probs = np.asarray(probs, np.float32)
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES:
        raise ValueError(f"teacher probabilities must be (N, {NUM_CLASSES}), got {probs.shape}")
    path = Path(path)
    if path.suffix == ".npz":
        np.savez_compressed(path, probs=probs.astype(np.float16))
    else:
        np.save(path, probs)


def load_teacher_probs(path: Path, n_rows: int) -> np.ndarray:
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path) as z:
            probs = z["probs"]
    else:
        probs = np.load(path)
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES or len(probs) < n_rows:
        raise ValueError(f"{path}: expected at least {n_rows} rows of {NUM_CLASSES} probabilities, got {probs.shape}")
    probs = probs[:n_rows].astype(np.float32)
    # Renormalise what float16 rounding left slightly off 1.
    return probs / probs.sum(1, keepdims=True)
