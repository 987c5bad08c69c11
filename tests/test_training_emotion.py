"""Training survives an interruption: kill -9 mid-run, then --resume finishes the planned epochs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


@pytest.mark.skipif(not default_fer_csv().exists(), reason="FER-2013 data not found (set MML_DATA_DIR)")
def test_killed_run_resumes_and_keeps_only_small_best_weights(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "training.train_emotion", "--arch", "student-s", "--epochs", "3",
           "--limit", "512", "--batch-size", "64", "--seed", "3", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: epochs_done(out) >= 1, timeout=240), "no epoch finished"
    finally:
        first.kill()
        first.wait()
    killed_at = epochs_done(out)
    assert killed_at < 3, "the run finished before it could be interrupted"

    done = subprocess.run(cmd + ["--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"resuming {out} after epoch {killed_at}" in done.stdout
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 3 and [h["epoch"] for h in state["history"]] == [1, 2, 3]
    assert "done: best PublicTest accuracy" in done.stdout

    # best.weights.h5 holds the layer weights only (no optimizer slots) and rebuilds the network.
    from training.train_emotion import load_run_net

    net = load_run_net(out)
    assert (out / "best.weights.h5").stat().st_size < 1.3 * 4 * net.count_params()


def test_weight_soup_is_the_mean_of_its_ingredients():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import numpy as np

    from models.emotion_net import build_arch
    from training.soup_emotion import mean_weights

    a, b = build_arch("student-s"), build_arch("student-s")  # two random initialisations
    soup = mean_weights([a, b])
    for wa, wb, ws in zip(a.get_weights(), b.get_weights(), soup):
        np.testing.assert_allclose(ws, (wa + wb) / 2, rtol=1e-6, atol=1e-7)
    same = mean_weights([a, a, a])
    assert all(np.allclose(x, y) for x, y in zip(same, a.get_weights()))
