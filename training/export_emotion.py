"""Export a trained emotion network for serving and write its model card.

    python -m training.export_emotion --run runs/student_kd [--quantize dynamic]

Reads RUN/best.weights.h5 (+ RUN/state.json), writes models/emotion.keras (weights, no optimizer),
models/emotion.tflite (what the bot serves through LiteRT) and models/emotion.card.json.
Refuses to write the card if the LiteRT model and the Keras model disagree.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from recommender.vision.emotion import EmotionClassifier  # noqa: E402
from recommender.paths import EMOTION_CARD, EMOTION_KERAS, EMOTION_TFLITE  # noqa: E402
from recommender.vision.preprocess import to_model_input  # noqa: E402
from recommender.vision.tta import DEFAULT_TTA, TTA_MODES  # noqa: E402
from training.evaluate_emotion import evaluate  # noqa: E402
from training.fer_data import REGRESSION_SAMPLE_RULE, load_fer, regression_sample  # noqa: E402
from training.train_emotion import load_run_net  # noqa: E402


def to_tflite(net: keras.Model, quantize: str | None) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(net)
    if quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def max_disagreement(net: keras.Model, tflite_path: Path, faces: np.ndarray) -> tuple[float, float]:
    """Largest probability difference and argmax agreement between Keras and LiteRT (no flip)."""
    keras_p = net.predict(to_model_input(faces), batch_size=256, verbose=0)
    lite_p = EmotionClassifier(tflite_path, tta="none").predict_proba(faces)
    return float(np.abs(keras_p - lite_p).max()), float((keras_p.argmax(1) == lite_p.argmax(1)).mean())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, required=True, help="a train_emotion output dir")
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--quantize", choices=["dynamic"], default=None)
    p.add_argument("--recipe", default="", help="the command(s) that trained the run, for the card")
    p.add_argument("--out-dir", type=Path, default=EMOTION_TFLITE.parent)
    args = p.parse_args(argv)

    state = json.loads((args.run / "state.json").read_text())
    # Rebuilt in float32 even if the run computed in bf16 on a GPU.
    net = load_run_net(args.run)
    out_keras, out_tflite = args.out_dir / EMOTION_KERAS.name, args.out_dir / EMOTION_TFLITE.name
    args.out_dir.mkdir(parents=True, exist_ok=True)
    net.save(out_keras)
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "emotion.tflite"
        candidate.write_bytes(to_tflite(net, args.quantize))
        data = load_fer(args.data)
        val = data.split("PublicTest")
        diff, agree = max_disagreement(net, candidate, val.faces[:500])
        print(f"Keras vs LiteRT on 500 PublicTest faces: max |Δp|={diff:.2e}, argmax agreement={agree:.4f}")
        if agree < 0.99:
            print("LiteRT model disagrees with Keras; not exporting", file=sys.stderr)
            return 1
        out_tflite.write_bytes(candidate.read_bytes())
    by_tta = {mode: evaluate(val.faces, val.labels, EmotionClassifier(out_tflite, tta=mode)) for mode in TTA_MODES}
    ev = by_tta[DEFAULT_TTA]
    sample = regression_sample(len(val.labels))
    ev_sample = evaluate(val.faces[sample], val.labels[sample], EmotionClassifier(out_tflite))
    history = state.get("history", [])
    card = {
        "name": "music-mood-lifter facial emotion classifier",
        "architecture": f"{net.name}: VGG-style CNN, 3×3 conv + batch norm + ReLU stages, "
                        "max-pool between stages, global average pooling, dropout, dense softmax",
        "input": "48×48 grayscale face, uint8 → float32 /255 (recommender.vision.preprocess.to_model_input)",
        "labels": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
        "parameters": int(net.count_params()),
        "served_as": f"{out_tflite.name} through ai-edge-litert"
                     + (" (dynamic-range int8 weights)" if args.quantize else " (float32)")
                     + f", averaged over test-time views {DEFAULT_TTA!r}: {TTA_MODES[DEFAULT_TTA]} "
                       "(recommender/vision/tta.py)",
        "training_data": "FER-2013 Training rows (28,709) of ../shared/data/fer2013/fer2013_train_publictest.csv.gz; "
                         "PublicTest (3,589) used only to pick the best epoch and for the figures below",
        "training_args": state.get("args", {}),
        "epochs_run": state.get("epoch"),
        "best_epoch": state.get("best_epoch"),
        "publictest": {
            "tta": DEFAULT_TTA,
            "tta_chosen": "on PublicTest (the validation split), among the modes and scale sets "
                          "`python -m bench.tta` prints; so the served figure is slightly optimistic",
            "accuracy": round(ev.accuracy, 4),
            "mood_accuracy": round(ev.mood_accuracy, 4),
            "accuracy_by_tta": {m: round(e.accuracy, 4) for m, e in by_tta.items()},
            "mood_accuracy_by_tta": {m: round(e.mood_accuracy, 4) for m, e in by_tta.items()},
            "per_class": ev.per_class(),
            "n": int(len(val.labels)),
            "regression_sample": {"rows": REGRESSION_SAMPLE_RULE, "n": int(len(sample)),
                                  "accuracy": round(ev_sample.accuracy, 4)},
        },
        "keras_vs_litert": {"max_abs_prob_diff": diff, "argmax_agreement": agree},
        "date": dt.date.today().isoformat(),
        "recipe": args.recipe,
        "export_command": "python -m training.export_emotion " + shlex.join(sys.argv[1:] if argv is None else argv),
        "evaluate_command": "python -m training.evaluate_emotion --csv ../shared/data/fer2013/"
                            "fer2013_train_publictest.csv.gz  (all rows: Training + PublicTest; "
                            "filter PublicTest rows into a CSV to reproduce the figure above)",
        "last_epochs": history[-3:],
    }
    (args.out_dir / EMOTION_CARD.name).write_text(json.dumps(card, indent=1) + "\n")
    by = ", ".join(f"{m} {e.accuracy:.4f}" for m, e in by_tta.items())
    print(f"PublicTest accuracy {ev.accuracy:.4f} ({by}), mood accuracy {ev.mood_accuracy:.4f}; "
          f"wrote {out_keras}, {out_tflite}, {EMOTION_CARD.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
