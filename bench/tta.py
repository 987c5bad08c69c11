"""PublicTest accuracy of the shipped model under each test-time augmentation, and how the
served multi-scale set was chosen.

    python -m bench.tta [--model models/emotion.tflite]

Prints 7-class and mood accuracy for the named modes (recommender.vision.tta.TTA_MODES) and for the
candidate scale sets that were compared; the served set is the best of these on PublicTest,
which is the validation split (so its figure is slightly optimistic).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from recommender.vision.emotion import EmotionClassifier
from recommender.paths import EMOTION_TFLITE
from recommender.vision.tta import TTA_MODES, Views
from training.evaluate_emotion import evaluate
from training.fer_data import load_fer

CANDIDATE_SCALES = [(0.92, 1.0, 1.08), (0.9, 1.0, 1.1), (0.95, 1.0, 1.05), (0.85, 1.0, 1.15),
                    (0.9, 0.95, 1.0, 1.05, 1.1), (0.85, 0.92, 1.0, 1.08, 1.15)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=EMOTION_TFLITE)
    p.add_argument("--data", type=Path, default=None)
    args = p.parse_args(argv)
    val = load_fer(args.data).split("PublicTest")
    rows = [(name, views) for name, views in TTA_MODES.items()]
    rows += [(f"scales {s} + mirror", Views(scales=s, mirror=True)) for s in CANDIDATE_SCALES]
    for name, views in rows:
        ev = evaluate(val.faces, val.labels, EmotionClassifier(args.model, tta=views))
        print(f"{name:<44} views={views.count:<3} accuracy={ev.accuracy:.4f} mood_accuracy={ev.mood_accuracy:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
