"""Soft targets from a served model itself, averaged over 18 views of each Training face.

    python -m training.self_targets --out runs/self18.npy [--model models/emotion.tflite]

The teacher of the CPU fine-tunes in the shipped weight soup (see models/emotion.card.json):
the LiteRT model's softmax averaged over the face and 8 warped copies (±2 px shifts, ×0.92 and
×1.08 zoom, ±8° rotation), each also mirrored. Writes (N_train, 7) float32 aligned with the
Training rows. ~4 min on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from recommender.emotion import EmotionClassifier
from recommender.paths import EMOTION_TFLITE
from training.fer_data import load_fer

# (dx, dy, zoom, degrees); each view is used as is and mirrored.
WIDE_VIEWS = [(0, 0, 1.0, 0), (2, 0, 1.0, 0), (-2, 0, 1.0, 0), (0, -2, 1.0, 0), (0, 2, 1.0, 0),
              (0, 0, 1.08, 0), (0, 0, 0.92, 0), (0, 0, 1.0, 8), (0, 0, 1.0, -8)]


def warp(faces48: np.ndarray, dx: float, dy: float, zoom: float, degrees: float) -> np.ndarray:
    m = cv2.getRotationMatrix2D((24, 24), degrees, zoom)
    m[:, 2] += (dx, dy)
    return np.stack([cv2.warpAffine(f, m, (48, 48), borderMode=cv2.BORDER_REPLICATE) for f in faces48])


def wide_view_probs(classifier: EmotionClassifier, faces48: np.ndarray, batch: int = 1024) -> np.ndarray:
    total = np.zeros((len(faces48), 7), np.float32)
    for view in WIDE_VIEWS:
        warped = warp(faces48, *view)
        for v in (warped, np.ascontiguousarray(warped[:, :, ::-1])):
            total += np.concatenate([classifier.predict_proba(v[i:i + batch]) for i in range(0, len(v), batch)])
    return total / (2 * len(WIDE_VIEWS))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--model", type=Path, default=EMOTION_TFLITE)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--limit", type=int, default=None, help="first N Training rows only (checks)")
    args = p.parse_args(argv)
    train = load_fer(args.data).split("Training")
    faces, labels = train.faces[: args.limit], train.labels[: args.limit]
    probs = wide_view_probs(EmotionClassifier(args.model, tta="none"), faces)
    print(f"teacher agrees with the Training labels on {(probs.argmax(1) == labels).mean():.4f} of {len(labels)} rows")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, probs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
