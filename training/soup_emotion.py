"""Average the weights of several runs of one architecture into a single network (a "model soup").

    python -m training.soup_emotion --runs runs/s32 runs/ft1 runs/ft2 --out runs/soup

Fine-tunes that start from the same weights stay in one basin of the loss, so the mean of their
weights is itself a good network, usually better than each (Wortsman et al., 2022, "uniform soup").
Every ingredient weighs the same and none is picked by its score: each RUN gives its last epoch
(ckpt.keras, the end of its cosine schedule), or its best epoch (best.weights.h5) where no
checkpoint was kept (a run brought back from a GPU machine), or both with --take both.
Writes OUT/state.json and OUT/best.weights.h5, which `training.export_emotion --run OUT`
exports like any run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from models.emotion_net import build_arch  # noqa: E402
from recommender.preprocess import to_model_input  # noqa: E402
from recommender.tta import DEFAULT_TTA, TTA_MODES, expand, merge  # noqa: E402
from training.fer_data import load_fer  # noqa: E402
from training.train_emotion import load_run_net  # noqa: E402


def ingredients(runs: list[Path], take: str) -> list[tuple[str, keras.Model]]:
    out = []
    for run in runs:
        last = run / "ckpt.keras"
        if take == "both" or not last.exists():
            out.append((f"{run}/best.weights.h5", load_run_net(run)))
        if last.exists():
            out.append((f"{last}", keras.models.load_model(last, compile=False)))
    return out


def mean_weights(nets: list[keras.Model]) -> list[np.ndarray]:
    return [np.mean([np.asarray(w) for w in ws], axis=0) for ws in zip(*(n.get_weights() for n in nets))]


def publictest_accuracy(net: keras.Model, faces: np.ndarray, labels: np.ndarray, tta: str) -> float:
    views = TTA_MODES[tta]
    probs = net.predict(to_model_input(expand(faces, views)), batch_size=1024, verbose=0)
    return float((merge(probs, views).argmax(1) == labels).mean())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=Path, nargs="+", required=True, help="train_emotion output dirs, one arch")
    p.add_argument("--take", choices=["last", "both"], default="last",
                   help="last: each run's last epoch (best where none was kept); both: best and last")
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    run_args = [json.loads((r / "state.json").read_text())["args"] for r in args.runs]
    if len({(a["arch"], a.get("dropout", "0.4")) for a in run_args}) != 1:
        print("all runs must share one architecture", file=sys.stderr)
        return 2
    parts = ingredients(args.runs, args.take)
    soup = build_arch(run_args[0]["arch"], dropout=float(run_args[0].get("dropout", 0.4)))
    soup.set_weights(mean_weights([net for _, net in parts]))

    val = load_fer(args.data).split("PublicTest")
    scores = {}
    for name, net in parts + [("soup", soup)]:
        scores[name] = {tta: round(publictest_accuracy(net, val.faces, val.labels, tta), 4) for tta in ("flip", DEFAULT_TTA)}
        print(f"{name:<48} PublicTest " + "  ".join(f"{t} {a:.4f}" for t, a in scores[name].items()), flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    soup.save_weights(args.out / "best.weights.h5")
    state = dict(args={**run_args[0], "out": str(args.out)},
                 soup=dict(ingredients=[name for name, _ in parts], publictest_keras=scores,
                           command="python -m training.soup_emotion " + " ".join(sys.argv[1:] if argv is None else argv)),
                 params=int(soup.count_params()), epoch=None, best_epoch=None)
    (args.out / "state.json").write_text(json.dumps(state, indent=1))
    print(f"wrote {args.out}/best.weights.h5 and state.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
