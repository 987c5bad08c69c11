"""Evaluate the shipped emotion model exactly as the bot serves it.

    python -m training.evaluate_emotion --csv FILE [--report DIR] [--model models/emotion.tflite]

FILE is any CSV in FER-2013 format (`emotion,pixels[,Usage]`, gzip or plain); every row is
used. Faces go through the bot's own `to_model_input` and the LiteRT classifier with the bot's
test-time augmentation (`--tta`, default as served). The last line printed is
`accuracy=0.xxxx n=NNNN`.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from recommender.vision.emotion import EmotionClassifier
from recommender.mood import MOOD_INDEX
from recommender.paths import EMOTION_TFLITE
from recommender.vision.tta import DEFAULT_TTA, TTA_MODES
from recommender.types import EMOTIONS
from training.fer_data import read_fer_csv

LABELS = list(range(len(EMOTIONS)))  # every class gets a row, even one absent from a small sample


@dataclass
class Evaluation:
    y_true: np.ndarray
    y_pred: np.ndarray

    @property
    def accuracy(self) -> float:
        return float((self.y_true == self.y_pred).mean())

    @property
    def mood_accuracy(self) -> float:
        to_mood = np.array(MOOD_INDEX)
        return float((to_mood[self.y_true] == to_mood[self.y_pred]).mean())

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.y_true, self.y_pred, labels=LABELS)

    def per_class(self) -> dict[str, dict[str, float]]:
        precision, recall, _, support = precision_recall_fscore_support(
            self.y_true, self.y_pred, labels=LABELS, zero_division=0)
        return {e: dict(precision=round(float(p), 4), recall=round(float(r), 4), support=int(n))
                for e, p, r, n in zip(EMOTIONS, precision, recall, support)}


def evaluate(faces: np.ndarray, labels: np.ndarray, classifier: EmotionClassifier, batch: int = 256) -> Evaluation:
    preds = [classifier.predict_proba(faces[i:i + batch]).argmax(1) for i in range(0, len(faces), batch)]
    return Evaluation(labels, np.concatenate(preds) if preds else np.zeros(0, np.int64))


def format_report(ev: Evaluation) -> str:
    lines = [f"{'class':<10}{'precision':>10}{'recall':>8}{'support':>9}"]
    for e, m in ev.per_class().items():
        lines.append(f"{e:<10}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['support']:>9d}")
    lines += ["", "confusion matrix (rows: true, columns: predicted)",
              " " * 10 + "".join(f"{e[:7]:>8}" for e in EMOTIONS)]
    for e, row in zip(EMOTIONS, ev.confusion()):
        lines.append(f"{e:<10}" + "".join(f"{v:>8d}" for v in row))
    lines += ["", f"mood_accuracy={ev.mood_accuracy:.4f}"]
    return "\n".join(lines)


def write_report(ev: Evaluation, out: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    cm = ev.confusion()
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(7), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(7), EMOTIONS)
    for i in range(7):
        for j in range(7):
            ax.text(j, i, f"{cm[i, j]}", ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: accuracy {ev.accuracy:.4f}")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=120)
    plt.close(fig)
    (out / "evaluation.json").write_text(json.dumps(dict(
        accuracy=round(ev.accuracy, 4), mood_accuracy=round(ev.mood_accuracy, 4), n=int(len(ev.y_true)),
        per_class=ev.per_class(), confusion=ev.confusion().tolist(), labels=list(EMOTIONS)), indent=1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", type=Path, required=True)
    p.add_argument("--model", type=Path, default=EMOTION_TFLITE)
    p.add_argument("--tta", choices=sorted(TTA_MODES), default=DEFAULT_TTA,
                   help=f"test-time views averaged per face (the bot serves {DEFAULT_TTA!r})")
    p.add_argument("--report", type=Path, default=None, help="directory for confusion.png and evaluation.json")
    args = p.parse_args(argv)
    data = read_fer_csv(args.csv)
    keep = data.labels >= 0
    ev = evaluate(data.faces[keep], data.labels[keep], EmotionClassifier(args.model, tta=args.tta))
    print(format_report(ev))
    if args.report:
        write_report(ev, args.report, args.csv.name)
        print(f"report written to {args.report}")
    print(f"accuracy={ev.accuracy:.4f} n={len(ev.y_true)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
