"""Train the facial-emotion CNN on FER-2013 Training rows; PublicTest only selects the epoch.

    python -m training.train_emotion --arch student --epochs 120 --out runs/student
    python -m training.train_emotion ... --resume            # continue an interrupted run
    python -m training.train_emotion ... --teacher-probs runs/teachers.npy --kd-weight 0.7

Targets are a mix of the (smoothed) FER-2013 label, optionally the FER+ crowd-vote
distribution and optionally an ensemble teacher's soft predictions (offline distillation).
Each epoch writes `ckpt.keras` (model + optimizer) and `state.json`; the best epoch by
PublicTest accuracy (with flip averaging, as served) is kept as `best.keras` (no optimizer).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from models.emotion_net import ARCHS, build_arch, build_augmenter  # noqa: E402
from recommender.preprocess import to_model_input  # noqa: E402
from training.fer_data import load_fer  # noqa: E402

NUM_CLASSES = 7


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None, help="FER-2013 CSV (.csv/.csv.gz) or .npz; default ../shared/data")
    p.add_argument("--arch", choices=sorted(ARCHS), default="student")
    p.add_argument("--epochs", type=int, default=120, help="planned epochs (the LR schedule spans them)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds; after epoch 2 the planned epochs shrink to fit (recorded in state.json)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-epochs", type=int, default=3)
    p.add_argument("--dropout", type=float, default=0.4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--ferplus-weight", type=float, default=0.0, help="weight of FER+ vote distribution in targets")
    p.add_argument("--teacher-probs", type=Path, default=None, help=".npy (N_train, 7) soft targets")
    p.add_argument("--kd-weight", type=float, default=0.0, help="weight of teacher probabilities in targets")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--mixed-precision", action="store_true", help="bf16 compute (GPU); weights stay float32")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training rows (smoke tests)")
    return p.parse_args(argv)


def build_targets(labels: np.ndarray, args, ferplus: np.ndarray | None, teacher: np.ndarray | None) -> np.ndarray:
    onehot = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    hard = onehot * (1 - args.label_smoothing) + args.label_smoothing / NUM_CLASSES
    targets = hard * (1 - args.ferplus_weight - args.kd_weight)
    if args.ferplus_weight:
        # Rows FER+ marked as not-a-face have no votes: fall back to the label there.
        fp = np.where(ferplus.sum(1, keepdims=True) > 0, ferplus, hard)
        targets += args.ferplus_weight * fp
    if args.kd_weight:
        targets += args.kd_weight * teacher
    return targets.astype(np.float32)


def predict_tta(net: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Average of the model on the faces and their mirror images (what the bot serves)."""
    p = net.predict(x, batch_size=batch_size, verbose=0)
    return (p + net.predict(x[:, :, ::-1], batch_size=batch_size, verbose=0)) / 2


class Plan:
    """The epoch count the LR schedule spans; fixed after epoch 2 when a time budget is given."""

    def __init__(self, epochs: int, budget: float | None):
        self.epochs, self.budget, self.fixed = epochs, budget, budget is None


class Trainer(keras.callbacks.Callback):
    def __init__(self, net, x_val, y_val, out: Path, plan: Plan, state: dict, args):
        super().__init__()
        self.net, self.x_val, self.y_val, self.out, self.plan, self.state, self.args = (
            net, x_val, y_val, out, plan, state, args)
        self.t_start = time.time() - state.get("elapsed", 0.0)
        self.t_epoch = time.time()
        self.epoch_times: list[float] = []

    def lr_at(self, epoch: int) -> float:
        a = self.args
        if epoch < a.warmup_epochs:
            return a.lr * (epoch + 1) / a.warmup_epochs
        span = max(1, self.plan.epochs - a.warmup_epochs)
        return a.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (epoch - a.warmup_epochs) / span)))

    def on_epoch_begin(self, epoch, logs=None):
        self.t_epoch = time.time()
        self.model.optimizer.learning_rate = self.lr_at(epoch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        dt = time.time() - self.t_epoch
        self.epoch_times.append(dt)
        elapsed = time.time() - self.t_start
        if not self.plan.fixed and len(self.epoch_times) >= 2:
            per_epoch = self.epoch_times[-1]
            fit = epoch + 1 + int(max(0.0, self.plan.budget - elapsed) / per_epoch)
            self.plan.epochs, self.plan.fixed = max(epoch + 2, min(self.plan.epochs, fit)), True
            print(f"time budget {self.plan.budget:.0f}s, {per_epoch:.1f}s/epoch → {self.plan.epochs} epochs", flush=True)
        acc = float((predict_tta(self.net, self.x_val).argmax(1) == self.y_val).mean())
        best = self.state.get("best_acc", -1.0)
        if acc > best:
            self.state.update(best_acc=acc, best_epoch=epoch + 1)
            self.net.save(self.out / "best.keras", include_optimizer=False) if _save_takes_flag() else self.net.save(self.out / "best.keras")
        self.state.update(epoch=epoch + 1, planned_epochs=self.plan.epochs, elapsed=elapsed)
        self.state.setdefault("history", []).append(
            dict(epoch=epoch + 1, loss=round(float(logs.get("loss", float("nan"))), 4),
                 val_acc_tta=round(acc, 4), lr=round(self.lr_at(epoch), 6), seconds=round(dt, 1)))
        self.model.save(self.out / "ckpt.keras")
        (self.out / "state.json").write_text(json.dumps(self.state, indent=1))
        print(f"epoch {epoch + 1}/{self.plan.epochs} loss={logs.get('loss', float('nan')):.4f} "
              f"val_acc(tta)={acc:.4f} best={self.state['best_acc']:.4f}@{self.state['best_epoch']} "
              f"lr={self.lr_at(epoch):.2e} {dt:.1f}s", flush=True)
        if epoch + 1 >= self.plan.epochs:
            self.model.stop_training = True


def _save_takes_flag() -> bool:
    import inspect
    return "include_optimizer" in inspect.signature(keras.Model.save).parameters


def main(argv=None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    state_path = args.out / "state.json"
    state: dict = {}
    if args.resume and state_path.exists():
        state = json.loads(state_path.read_text())
        print(f"resuming {args.out} after epoch {state['epoch']}", flush=True)
    keras.utils.set_random_seed(args.seed + state.get("epoch", 0))
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")

    data = load_fer(args.data, with_ferplus=args.ferplus_weight > 0)
    train, val = data.split("Training"), data.split("PublicTest")
    if args.limit:
        train.faces, train.labels = train.faces[: args.limit], train.labels[: args.limit]
        if train.ferplus is not None:
            train.ferplus = train.ferplus[: args.limit]
    teacher = None
    if args.kd_weight:
        teacher = np.load(args.teacher_probs)[: len(train.labels)].astype(np.float32)
    x_train, x_val = to_model_input(train.faces), to_model_input(val.faces)
    y_train = build_targets(train.labels, args, train.ferplus, teacher)
    print(f"backend={keras.backend.backend()} train={len(x_train)} val={len(x_val)} arch={args.arch}", flush=True)

    plan = Plan(state.get("planned_epochs", args.epochs), None if state else args.time_budget)
    if state:
        model = keras.models.load_model(args.out / "ckpt.keras")
        net = model.get_layer(index=-1)
    else:
        net = build_arch(args.arch, dropout=args.dropout)
        model = keras.Sequential([keras.Input(net.input_shape[1:]), build_augmenter(args.seed), net], name="train")
        model.compile(optimizer=keras.optimizers.AdamW(args.lr, weight_decay=args.weight_decay),
                      loss=keras.losses.CategoricalCrossentropy())
        state = dict(args={k: str(v) for k, v in vars(args).items()}, params=net.count_params(), epoch=0)
    trainer = Trainer(net, x_val, val.labels, args.out, plan, state, args)
    if state["epoch"] < plan.epochs:
        model.fit(x_train, y_train, batch_size=args.batch_size, epochs=max(plan.epochs, 10_000),
                  initial_epoch=state["epoch"], shuffle=True, verbose=0, callbacks=[trainer])
    print(f"done: best PublicTest accuracy (flip TTA) {state['best_acc']:.4f} at epoch {state['best_epoch']}"
          f" of {state['epoch']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
