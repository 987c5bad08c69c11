"""Training survives an interruption: kill -9 mid-run, then --resume finishes the planned epochs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shared_data import require
from training.fer_data import default_fer_csv

ROOT = Path(__file__).resolve().parents[1]


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)  # polling a file written by another process, bounded by the deadline
    return False


def epochs_done(out: Path) -> int:
    try:
        return json.loads((out / "state.json").read_text())["epoch"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


@pytest.mark.slow
def test_killed_run_resumes_and_keeps_only_small_best_weights(tmp_path):
    require("fer2013", default_fer_csv().name)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "training.train_emotion", "--arch", "student-s", "--epochs", "3",
           "--limit", "512", "--batch-size", "64", "--seed", "3", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: epochs_done(out) >= 1, timeout=600), "no epoch finished"  # a hang, not speed
    finally:
        first.kill()
        first.wait()
    killed_at = epochs_done(out)
    assert killed_at < 3, "the run finished before it could be interrupted"

    done = subprocess.run(cmd + ["--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"resuming {out} after epoch {killed_at}" in done.stdout
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 3 and [h["epoch"] for h in state["history"]] == [1, 2, 3]
    assert "done: best PublicTest accuracy" in done.stdout

    # best.weights.h5 holds the layer weights only (no optimizer slots) and rebuilds the network.
    from training.train_emotion import load_run_net

    net = load_run_net(out)
    assert (out / "best.weights.h5").stat().st_size < 1.3 * 4 * net.count_params()


def test_teacher_targets_round_trip_and_reject_wrong_shapes(tmp_path):
    from training.soft_targets import load_teacher_probs, save_teacher_probs

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(7), size=50).astype(np.float32)
    for name in ("t.npz", "t.npy"):
        save_teacher_probs(tmp_path / name, probs)
        back = load_teacher_probs(tmp_path / name, 40)
        assert back.shape == (40, 7)
        np.testing.assert_allclose(back, probs[:40], atol=1e-3)
        np.testing.assert_allclose(back.sum(1), 1.0, atol=1e-6)
    with pytest.raises(ValueError):
        load_teacher_probs(tmp_path / "t.npz", 51)  # fewer rows than the training set
    with pytest.raises(ValueError):
        save_teacher_probs(tmp_path / "bad.npz", probs[:, :6])


def test_committed_teacher_targets_line_up_with_the_training_rows():
    """The shipped model was distilled from these; misaligned rows would agree with the labels
    no better than chance (~0.25 for the majority class)."""
    from training.fer_data import load_fer
    from training.soft_targets import load_teacher_probs

    train = load_fer(require("fer2013", default_fer_csv().name)).split("Training")
    probs = load_teacher_probs(ROOT / "models" / "emotion_teacher_probs.npz", len(train.labels))
    assert probs.shape == (len(train.labels), 7) == (28709, 7)
    assert (probs.argmax(1) == train.labels).mean() > 0.8
