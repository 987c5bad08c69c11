"""Train the facial-emotion CNN on FER-2013 Training rows; PublicTest only selects the epoch.

    python -m training.train_emotion --arch student --epochs 120 --out runs/student
    python -m training.train_emotion ... --resume            # continue an interrupted run
    python -m training.train_emotion ... --teacher-probs runs/teachers.npy --kd-weight 0.7

Targets are a mix of the (smoothed) FER-2013 label, optionally the FER+ crowd-vote
distribution and optionally an ensemble teacher's soft predictions (offline distillation).
Each epoch writes `ckpt.keras` (model + optimizer) and `state.json`; the best epoch by
PublicTest accuracy (averaged over the bot's test-time views, as served) is kept as `best.weights.h5`.
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

from training.emotion_net import ARCHS, NUM_CLASSES, build_arch  # noqa: E402
from recommender.vision.preprocess import to_model_input  # noqa: E402
from recommender.vision.tta import DEFAULT_TTA, TTA_MODES, expand, merge  # noqa: E402
from training.augment import AugmentedFaces  # noqa: E402
from training.fer_data import load_fer  # noqa: E402
from training.soft_targets import load_teacher_probs  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None, help="FER-2013 CSV (.csv/.csv.gz) or .npz; default ../shared/data")
    p.add_argument("--arch", choices=sorted(ARCHS), default="student")
    p.add_argument("--epochs", type=int, default=120, help="planned epochs (the LR schedule spans them)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds; after epoch 3 the planned epochs shrink to fit (recorded in state.json)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-epochs", type=int, default=3)
    p.add_argument("--dropout", type=float, default=0.4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--ferplus-weight", type=float, default=0.0, help="weight of FER+ vote distribution in targets")
    p.add_argument("--teacher-probs", type=Path, default=None, help=".npz/.npy (N_train, 7) teacher probabilities (training.teacher_targets)")
    p.add_argument("--kd-weight", type=float, default=0.0, help="weight of teacher probabilities in targets")
    p.add_argument("--init-from", type=Path, default=None,
                   help="start from another run's best weights (fine-tuning; the new run has its own schedule)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--mixed-precision", action="store_true", help="bf16 compute (GPU); weights stay float32")
    p.add_argument("--workers", type=int, default=1, help="threads preparing augmented batches")
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


SERVED_VIEWS = TTA_MODES[DEFAULT_TTA]


def served_views_input(faces48: np.ndarray) -> np.ndarray:
    """(N, 48, 48) uint8 → model input for every served test-time view (made once, reused per epoch)."""
    return to_model_input(expand(faces48, SERVED_VIEWS))


def predict_tta(net: keras.Model, x_views: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The model's probabilities averaged over the served views, as the bot computes them."""
    return merge(net.predict(x_views, batch_size=batch_size, verbose=0), SERVED_VIEWS)


class Plan:
    """The epoch count the LR schedule spans; fixed after epoch 3 when a time budget is given."""

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
        # Set per epoch, not a keras CosineDecay inside the optimizer: under --time-budget the
        # cosine's span is only known after epoch 3, when a compiled schedule is already fixed.
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
        if not self.plan.fixed and len(self.epoch_times) >= 3:
            # Epoch 1 includes compilation; the faster of epochs 2–3 discounts a one-off stall.
            per_epoch = min(self.epoch_times[1:3])
            fit = epoch + 1 + int(max(0.0, self.plan.budget - elapsed) / per_epoch)
            self.plan.epochs, self.plan.fixed = max(epoch + 1, min(self.plan.epochs, fit)), True
            print(f"time budget {self.plan.budget:.0f}s, {per_epoch:.1f}s/epoch → {self.plan.epochs} epochs", flush=True)
        acc = float((predict_tta(self.net, self.x_val).argmax(1) == self.y_val).mean())
        best = self.state.get("best_acc", -1.0)
        if acc > best:
            self.state.update(best_acc=acc, best_epoch=epoch + 1)
            save_weights_only(self.net, self.out / "best.weights.h5", self.args)
        self.state.update(epoch=epoch + 1, planned_epochs=self.plan.epochs, elapsed=elapsed)
        self.state.setdefault("history", []).append(
            dict(epoch=epoch + 1, loss=round(float(logs.get("loss", float("nan"))), 4),
                 val_acc_tta=round(acc, 4), lr=round(self.lr_at(epoch), 6), seconds=round(dt, 1)))
        # Model and optimizer first, state.json last, so a kill in between repeats an epoch and never
        # skips one (keras' BackupAndRestore would keep a second epoch count beside state.json).
        self.model.save(self.out / "ckpt.keras")
        (self.out / "state.json").write_text(json.dumps(self.state, indent=1))
        print(f"epoch {epoch + 1}/{self.plan.epochs} loss={logs.get('loss', float('nan')):.4f} "
              f"val_acc(tta)={acc:.4f} best={self.state['best_acc']:.4f}@{self.state['best_epoch']} "
              f"lr={self.lr_at(epoch):.2e} {dt:.1f}s", flush=True)
        if epoch + 1 >= self.plan.epochs:
            self.model.stop_training = True


def save_weights_only(net: keras.Model, path: Path, args) -> None:
    """The layer weights without the optimizer's slots, which a compiled model's save_weights
    adds (3× the size), so a run's best weights stay small enough to move between machines."""
    bare = build_arch(args.arch, dropout=args.dropout)
    bare.set_weights(net.get_weights())
    bare.save_weights(path)


def load_run_net(run: Path) -> keras.Model:
    """The best epoch of a run, rebuilt in float32 from its recorded arch and weights."""
    run_args = json.loads((run / "state.json").read_text())["args"]
    net = build_arch(run_args["arch"], dropout=float(run_args.get("dropout", 0.4)))
    net.load_weights(run / "best.weights.h5")
    return net


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
        teacher = load_teacher_probs(args.teacher_probs, len(train.labels))
    x_val = served_views_input(val.faces)
    y_train = build_targets(train.labels, args, train.ferplus, teacher)
    print(f"backend={keras.backend.backend()} train={len(y_train)} val={len(val.labels)} arch={args.arch}", flush=True)

    plan = Plan(state.get("planned_epochs", args.epochs), None if state else args.time_budget)
    if state:
        model = net = keras.models.load_model(args.out / "ckpt.keras")
    else:
        model = net = build_arch(args.arch, dropout=args.dropout)
        if args.init_from:
            net.load_weights(args.init_from / "best.weights.h5")
        model.compile(optimizer=keras.optimizers.AdamW(args.lr, weight_decay=args.weight_decay),
                      loss=keras.losses.CategoricalCrossentropy())
        state = dict(args={k: str(v) for k, v in vars(args).items()}, params=net.count_params(), epoch=0)
    trainer = Trainer(net, x_val, val.labels, args.out, plan, state, args)
    if state["epoch"] < plan.epochs:
        batches = AugmentedFaces(train.faces, y_train, args.batch_size, args.seed + state["epoch"], to_model_input,
                                 workers=args.workers, use_multiprocessing=False)
        model.fit(batches, epochs=max(plan.epochs, 10_000), initial_epoch=state["epoch"], verbose=0,
                  callbacks=[trainer])
    print(f"done: best PublicTest accuracy ({DEFAULT_TTA} TTA) {state['best_acc']:.4f} at epoch {state['best_epoch']}"
          f" of {state['epoch']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
