"""Is a retrained emotion model better than the shipped one, on FER-2013 and on real photos?

    python -m bench.compare_emotion CANDIDATE.tflite [MORE.tflite ...] [--baseline models/emotion.tflite]

Each model is served as the bot serves it (LiteRT, the default test-time views, the bot's face
detector and crop for photos). For FER-2013 PublicTest (3,589 rows) and the labelled one-face dev
photos (../shared/data/photos, ~68) it prints 7-class and mood accuracy, and for each candidate the
rows only it / only the baseline got right with McNemar's exact p (a paired test: both models see
the same faces, so this separates a real change from noise far better than two accuracies do).
The dev photos are few, so only a large or significant difference there means much.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from bench.common import emotion_photos
from recommender.vision.emotion import EmotionClassifier
from recommender.mood import MOOD_INDEX
from recommender.paths import EMOTION_TFLITE
from recommender.pipeline import Pipeline
from recommender.types import EMOTIONS
from training.fer_data import load_fer

MOOD_OF = np.array(MOOD_INDEX)


def publictest_predictions(model: Path, faces: np.ndarray) -> np.ndarray:
    return EmotionClassifier(model).predict_proba(faces).argmax(axis=1)


def photo_predictions(model: Path, photos: list[bytes]) -> np.ndarray:
    pipeline = Pipeline.load(emotion_model=model)
    return np.array([EMOTIONS.index(pipeline.analyze(p).emotion) for p in photos])


def mcnemar(base_right: np.ndarray, cand_right: np.ndarray) -> str:
    only_base = int((base_right & ~cand_right).sum())
    only_cand = int((cand_right & ~base_right).sum())
    n = only_base + only_cand
    p = binomtest(only_cand, n).pvalue if n else 1.0
    return f"only candidate right {only_cand:4d}, only baseline right {only_base:4d}, p={p:.3f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("candidates", type=Path, nargs="+", help="served .tflite models to compare")
    ap.add_argument("--baseline", type=Path, default=EMOTION_TFLITE)
    args = ap.parse_args(argv)

    fer = load_fer()
    test = fer.usage == "PublicTest"
    labelled = emotion_photos()
    photos = [data for _, data in labelled]
    sets = {
        f"PublicTest ({test.sum()} rows)": (fer.labels[test], lambda m: publictest_predictions(m, fer.faces[test])),
        f"dev photos ({len(photos)})": (np.array([EMOTIONS.index(label) for label, _ in labelled]),
                                      lambda m: photo_predictions(m, photos)),
    }
    models = [args.baseline, *args.candidates]
    for name, (truth, predict) in sets.items():
        print(f"\n{name}")
        preds = {m: predict(m) for m in models}
        for level, to in (("emotion", lambda a: a), ("mood", lambda a: MOOD_OF[a])):
            right = {m: to(p) == to(truth) for m, p in preds.items()}
            for m in models:
                tag = "baseline" if m == args.baseline else mcnemar(right[args.baseline], right[m])
                print(f"  {level:7s} {right[m].mean():.4f}  {m}  {tag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
