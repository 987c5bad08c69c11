"""Soft targets for distillation: the mean of several trained teachers, each averaged over the
bot's test-time views.

    python -m training.teacher_targets --teachers runs/t1 runs/t2 --out runs/teachers.npz

Writes the (N_train, 7) ensemble probabilities aligned with the Training rows (float16 in
.npz, float32 in .npy; see training/soft_targets.py) and prints each
teacher's and the ensemble's PublicTest accuracy.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from training.emotion_net import NUM_CLASSES  # noqa: E402
from training.fer_data import load_fer  # noqa: E402
from training.soft_targets import save_teacher_probs  # noqa: E402
from training.train_emotion import load_run_net, predict_tta, served_views_input  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--teachers", type=Path, nargs="+", required=True, help="train_emotion output dirs")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    data = load_fer(args.data)
    train, val = data.split("Training"), data.split("PublicTest")
    x_train, x_val = served_views_input(train.faces), served_views_input(val.faces)
    train_sum = np.zeros((len(train.labels), NUM_CLASSES), np.float32)
    val_sum = np.zeros((len(val.labels), NUM_CLASSES), np.float32)
    for path in args.teachers:
        net = load_run_net(path)
        pv = predict_tta(net, x_val)
        print(f"{path}: PublicTest accuracy {(pv.argmax(1) == val.labels).mean():.4f}", flush=True)
        val_sum += pv
        train_sum += predict_tta(net, x_train)
    print(f"ensemble of {len(args.teachers)}: PublicTest accuracy {(val_sum.argmax(1) == val.labels).mean():.4f}")
    save_teacher_probs(args.out, train_sum / len(args.teachers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
