"""The ensemble's outside face models as LiteRT files under models/: face-api.js's FaceExpressionNet
rebuilt in Keras from its TensorFlow.js weights and exported, and HSEmotion MobileNet-7 imported.

    python -m training.convert_face_models [--src DIR] [--quantize {none,float16,dynamic}]
        [--faceapi-js NODE_MODULES] [--out-dir models]

Reads `face_expression_model-weights_manifest.json` + `-shard1` from DIR (default
`$MML_MODELS_DIR/face-api-expression`, i.e. ../shared/models/face-api-expression), checks their
sha256, dequantises the uint8 tensors (value = q·scale + min, as tfjs does), builds the network of
the library's TypeScript (src/faceFeatureExtractor/FaceFeatureExtractor.ts, src/common/,
src/faceProcessor/FaceProcessor.ts) and writes models/face_expression.tflite: 112×112 RGB float
0–255 in, softmax over our EMOTIONS order out (the fully connected layer's columns are permuted,
so no extra op). Refuses to write if LiteRT and Keras disagree. With --faceapi-js it also runs the
original library (training/faceapi_reference.js under node) on the same inputs and records the
difference in the model card (models/face_expression.card.json). HSEmotion's MobileNet-7 is a
LiteRT file already: it is checked against its published sha256 and copied to
models/hsemotion_mobilenet7.tflite (models/hsemotion.card.json).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from recommender.paths import FACE_EXPRESSION_CARD, FACE_EXPRESSION_TFLITE, shared_models_dir  # noqa: E402
from recommender.types import EMOTIONS  # noqa: E402
from recommender.vision.faceapi import CROP_MARGIN  # noqa: E402

SOURCE_REPO = "justadudewhohacks/face-api.js"
SOURCE_COMMIT = "a86f011d72124e5fb93e59d5c4ab98f699dd5c9c"
MANIFEST = "face_expression_model-weights_manifest.json"
SHARD = "face_expression_model-shard1"
# Full digests of the files SOURCES.md lists by prefix (9a9840f2…0f3d, 960cbe95…c936).
SHA256 = {
    SHARD: "9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d",
    MANIFEST: "960cbe959fe0328965dd18662d839f197df6e27607da4f726cd0c826e47fc936",
}

INPUT_SIZE = 112
# FaceFeatureExtractor.forward: normalize(batch, meanRgb).div(255).
MEAN_RGB = (122.782, 117.001, 104.298)
FACEAPI_LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
_OURS = {"neutral": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
         "fearful": "fear", "disgusted": "disgust", "surprised": "surprise"}
# Column j of our output is column TO_EMOTIONS[j] of face-api.js's.
TO_EMOTIONS: tuple[int, ...] = tuple(FACEAPI_LABELS.index(next(k for k, v in _OURS.items() if v == e))
                                     for e in EMOTIONS)
DENSE_BLOCKS = ("dense0", "dense1", "dense2", "dense3")


HSEMOTION_SRC = "hsemotion-mobilenet7/mobilenet_7.tflite"
HSEMOTION_SHA256 = "37dabf4f1da9f816f1413d236ee9d9e4ac24686c44450fb64f05b307f1b1a7dc"


def default_src() -> Path:
    return shared_models_dir() / "face-api-expression"


def import_hsemotion(out_dir: Path) -> Path:
    """HSEmotion MobileNet-7 is already a LiteRT model: checked against SOURCES.md's sha256 and
    served byte for byte (models/hsemotion.card.json)."""
    from recommender.vision.hsemotion import HSEMOTION_TFLITE

    src = shared_models_dir() / HSEMOTION_SRC
    if sha256(src) != HSEMOTION_SHA256:
        raise SystemExit(f"{src}: sha256 differs from the one SOURCES.md gives; not importing")
    out = out_dir / HSEMOTION_TFLITE.name
    out.write_bytes(src.read_bytes())
    print(f"wrote {out} ({out.stat().st_size:,} B, sha256 checked)")
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_weights(src: Path) -> dict[str, np.ndarray]:
    """The manifest's tensors by name, float32, dequantised; raises if a file is not the expected one."""
    for name, digest in SHA256.items():
        got = sha256(src / name)
        if got != digest:
            raise ValueError(f"{src / name}: sha256 {got}, expected {digest} (SOURCES.md)")
    groups = json.loads((src / MANIFEST).read_text())
    weights: dict[str, np.ndarray] = {}
    for group in groups:
        blob = b"".join((src / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"]))
            quant = spec.get("quantization")
            if quant:
                if quant["dtype"] != "uint8":
                    raise ValueError(f"{spec['name']}: unsupported quantisation {quant['dtype']}")
                q = np.frombuffer(blob, np.uint8, count, offset)
                offset += count
                # tfjs io: min + scale·q, computed in float64 then stored as float32.
                values = (q.astype(np.float64) * quant["scale"] + quant["min"]).astype(np.float32)
            else:
                if spec["dtype"] != "float32":
                    raise ValueError(f"{spec['name']}: unsupported dtype {spec['dtype']}")
                values = np.frombuffer(blob, "<f4", count, offset).copy()
                offset += 4 * count
            weights[spec["name"]] = values.reshape(spec["shape"])
        if offset != len(blob):
            raise ValueError(f"manifest describes {offset} bytes, shards hold {len(blob)}")
    return weights


def build_net(weights: dict[str, np.ndarray]):
    """FaceFeatureExtractor (four dense blocks) + average pool + fully connected + softmax."""
    import keras
    from keras import layers

    inp = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="rgb", dtype="float32")
    mean = np.asarray(MEAN_RGB, np.float32)
    x = layers.Normalization(mean=mean, variance=np.full(3, 255.0 ** 2, np.float32), name="normalize")(inp)
    loads: list[tuple[keras.layers.Layer, list[np.ndarray]]] = []

    def sep(y, block: str, i: int, stride: int):
        p = f"{block}/conv{i}/"
        filters = weights[p + "pointwise_filter"].shape[-1]
        layer = layers.SeparableConv2D(filters, 3, strides=stride, padding="same", name=f"{block}_conv{i}")
        loads.append((layer, [weights[p + "depthwise_filter"], weights[p + "pointwise_filter"], weights[p + "bias"]]))
        return layer(y)

    relu = layers.ReLU
    for block in DENSE_BLOCKS:
        if block == "dense0":
            conv = layers.Conv2D(32, 3, strides=2, padding="same", name="dense0_conv0")
            loads.append((conv, [weights["dense0/conv0/filters"], weights["dense0/conv0/bias"]]))
            out1 = relu(name=f"{block}_relu1")(conv(x))
        else:
            out1 = relu(name=f"{block}_relu1")(sep(x, block, 0, 2))
        out2 = sep(out1, block, 1, 1)
        in3 = relu(name=f"{block}_relu2")(layers.Add()([out1, out2]))
        out3 = sep(in3, block, 2, 1)
        in4 = relu(name=f"{block}_relu3")(layers.Add()([out1, out2, out3]))
        out4 = sep(in4, block, 3, 1)
        x = relu(name=f"{block}_out")(layers.Add()([out1, out2, out3, out4]))
    # tf.avgPool(out, [7, 7], [2, 2], 'valid') on the 7×7 map: one value per channel.
    x = layers.AveragePooling2D(7, strides=2, padding="valid", name="avg_pool")(x)
    x = layers.Flatten(name="features")(x)
    fc = layers.Dense(len(EMOTIONS), activation="softmax", name="fc")
    loads.append((fc, [weights["fc/weights"][:, TO_EMOTIONS], weights["fc/bias"][list(TO_EMOTIONS)]]))
    out = fc(x)
    net = keras.Model(inp, out, name="faceapi_expression")
    for layer, values in loads:
        layer.set_weights(values)
    return net


def to_tflite(net, quantize: str) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(net)
    if quantize in ("float16", "dynamic"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def check_inputs(n: int = 8, seed: int = 0) -> np.ndarray:
    """Non-face inputs that exercise the whole 0–255 range: noise, flat greys, a gradient, stripes."""
    rng = np.random.default_rng(seed)
    out = [rng.integers(0, 256, (INPUT_SIZE, INPUT_SIZE, 3)).astype(np.float32) for _ in range(n - 4)]
    out += [np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.float32), np.full((INPUT_SIZE, INPUT_SIZE, 3), 255, np.float32)]
    ramp = np.linspace(0, 255, INPUT_SIZE, dtype=np.float32)
    out.append(np.stack([ramp[None, :].repeat(INPUT_SIZE, 0), ramp[:, None].repeat(INPUT_SIZE, 1),
                         np.full((INPUT_SIZE, INPUT_SIZE), 128, np.float32)], -1))
    stripes = (np.indices((INPUT_SIZE, INPUT_SIZE)).sum(0) // 8 % 2 * 255).astype(np.float32)
    out.append(np.repeat(stripes[..., None], 3, -1))
    return np.stack(out)


def litert_proba(tflite_path: Path, batch: np.ndarray) -> np.ndarray:
    from recommender.vision.faceapi import FaceApiExpression

    return FaceApiExpression(tflite_path, num_threads=1).run(batch)


def photo_crops(limit: int = 12) -> tuple[np.ndarray, list[str]]:
    """112×112 face crops (in memory only) of the first photos in ../shared/data/photos with a face."""
    from recommender.paths import shared_data_dir
    from recommender.vision import imageio
    from recommender.vision.faceapi import crop_faces
    from recommender.vision.faces import load_detector

    folder = shared_data_dir() / "photos"
    detector = load_detector()
    crops, names = [], []
    for path in sorted(folder.glob("*.jp*g")):
        if len(crops) >= limit:
            break
        image = imageio.decode(path.read_bytes())
        faces = detector.detect(image)
        if faces:
            box = faces[0].box
            s = image.scale
            crops.append(crop_faces(image.rgb, [(box.x / s, box.y / s, box.w / s, box.h / s)])[0])
            names.append(path.name)
    return np.stack(crops).astype(np.float32), names


def faceapi_js_proba(node_modules: Path, src: Path, batch: np.ndarray) -> tuple[np.ndarray, dict]:
    """The original library's probabilities (its label order), through node on the CPU backend."""
    import subprocess

    script = Path(__file__).with_name("faceapi_reference.js")
    payload = json.dumps({"shape": list(batch.shape), "data": batch.reshape(-1).tolist()})
    env = {**os.environ, "NODE_PATH": str(node_modules)}
    done = subprocess.run(["node", str(script), str(src)], input=payload, capture_output=True, text=True,
                          env=env, timeout=600, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return np.asarray(result["probs"], np.float32), {"backend": result["backend"], "face_api_js": result["version"]}


def ms_per_face(tflite_path: Path, runs: int = 200) -> float:
    """Median ms of one batch-1 invoke on one thread."""
    import time

    from recommender.vision.faceapi import FaceApiExpression

    model = FaceApiExpression(tflite_path, num_threads=1)
    x = check_inputs(1)
    model.run(x)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        model.run(x)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def compare_with_library(node_modules: Path, src: Path, tflite_path: Path) -> dict:
    """Our LiteRT model vs the original face-api.js on synthetic inputs and real face crops."""
    inputs = check_inputs()
    crops, _ = photo_crops()
    batch = np.concatenate([inputs, crops])
    js_p, meta = faceapi_js_proba(node_modules, src, batch)
    js_p = js_p[:, TO_EMOTIONS]
    ours = litert_proba(tflite_path, batch)
    diff = np.abs(ours - js_p)
    return {
        **meta,
        "setup": "npm install face-api.js in a folder outside the repository (its own @tensorflow/tfjs-core "
                 "1.7.0, pure-JS CPU backend); --faceapi-js FOLDER/node_modules runs training/faceapi_reference.js",
        "inputs": f"{len(inputs)} synthetic 112×112 images (check_inputs: noise, black, white, gradient, "
                  f"stripes) + {len(crops)} face crops made in memory from ../shared/data/photos (the first "
                  "photos by name with a BlazeFace face; recommender.vision.faceapi.crop_faces)",
        "max_abs_prob_diff": float(diff.max()),
        "max_abs_prob_diff_faces": float(diff[len(inputs):].max()),
        "argmax_agreement": float((ours.argmax(1) == js_p.argmax(1)).mean()),
    }


def model_card(*, parameters: int, quantize: str, keras_diff: float, reference: dict | None, ms: float,
               command: str) -> dict:
    weights = {"none": "float32 weights", "float16": "float16 weights", "dynamic": "dynamic-range int8 weights"}
    return {
        "name": "face-api.js FaceExpressionNet, rebuilt for LiteRT",
        "source": {
            "repo": f"{SOURCE_REPO}@{SOURCE_COMMIT}",
            "files": {f"weights/{name}": {"sha256": digest} for name, digest in SHA256.items()},
            "architecture_from": "src/faceFeatureExtractor/FaceFeatureExtractor.ts, "
                                 "src/common/depthwiseSeparableConv.ts, src/faceProcessor/FaceProcessor.ts, "
                                 "src/common/fullyConnectedLayer.ts, src/faceExpressionNet/FaceExpressionNet.ts",
            "licence": "MIT (THIRD_PARTY.md)",
        },
        "architecture": "FaceFeatureExtractor: 4 dense blocks (conv0 stride 2 — a plain 3×3 conv in the first "
                        "block, depthwise-separable 3×3 after — then 3 depthwise-separable 3×3 convs, each fed the "
                        "ReLU of the sum of the block's earlier outputs; 'same' padding), 32/64/128/256 channels, "
                        "112→7 px; 7×7 average pool; fully connected 256→7; softmax",
        "parameters": parameters,
        "training_data": "not disclosed (the author: public datasets and images scraped from the web)",
        "input": f"112×112 RGB float32, values 0–255 (the model subtracts the mean RGB {MEAN_RGB} and divides by "
                 f"255 itself); a square crop about the face box, side {1 + 2 * CROP_MARGIN:g}·max(w, h), edges "
                 "replicated, INTER_AREA (recommender.vision.faceapi.crop_faces)",
        "labels": list(EMOTIONS),
        "label_order": "the model outputs our EMOTIONS order: face-api.js's fully connected columns "
                       f"{list(FACEAPI_LABELS)} are permuted inside the model",
        "served_as": f"{FACE_EXPRESSION_TFLITE.name} through ai-edge-litert ({weights[quantize]})",
        "keras_vs_litert_max_abs_prob_diff": keras_diff,
        "why_float32": "float16 weights moved probabilities by up to 2.2e-3 and dynamic-range int8 by 4.5e-2 "
                       "against Keras on the synthetic inputs (--quantize float16 / dynamic, 2026-12-05); "
                       "float32 is 1.3 MB",
        "vs_original_library": reference,
        "dev_accuracy": {
            "faces_diverse": "440 posed lab faces (../shared/data/faces_diverse), largest BlazeFace face: emotion "
                             "0.795, 4-mood 0.836; per group emotion/mood: Asian-American 0.600/0.700 (30), Black "
                             "0.667/0.833 (24), Dutch RaFD 0.829/0.843 (216), Hispanic/Latino 0.700/0.833 (30), "
                             "NimStim 0.828/0.845 (116), White 0.833/0.917 (24); the crop margin (0.05) was chosen on "
                             "this set, so these figures are slightly optimistic",
            "photos": "68 one-face labelled photos (../shared/data/photos): emotion 0.735, 4-mood 0.824",
            "command": "python -m bench.faceapi [--csv ../shared/data/photos/labels.csv] (2026-12-05)",
        },
        "ms_per_face": {"value": round(ms, 2),
                        "how": "num_threads=1, batch 1, median of 200 invokes after one warm-up "
                               "(training.convert_face_models.ms_per_face), on the 2-core shared development "
                               "machine"},
        "date": dt.date.today().isoformat(),
        "convert_command": command,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", type=Path, default=None, help="folder with the manifest and shard")
    p.add_argument("--quantize", choices=["none", "float16", "dynamic"], default="none")
    p.add_argument("--faceapi-js", type=Path, default=None,
                   help="a node_modules folder with face-api.js installed: compare with the original")
    p.add_argument("--out-dir", type=Path, default=FACE_EXPRESSION_TFLITE.parent)
    p.add_argument("--no-card", action="store_true", help="write only the .tflite")
    args = p.parse_args(argv)
    src = args.src or default_src()

    args.out_dir.mkdir(parents=True, exist_ok=True)
    import_hsemotion(args.out_dir)
    net = build_net(read_weights(src))
    inputs = check_inputs()
    keras_p = net.predict(inputs, verbose=0)
    out_tflite = args.out_dir / FACE_EXPRESSION_TFLITE.name
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / out_tflite.name
        candidate.write_bytes(to_tflite(net, args.quantize))
        keras_diff = float(np.abs(keras_p - litert_proba(candidate, inputs)).max())
        print(f"Keras vs LiteRT ({args.quantize}) on {len(inputs)} synthetic inputs: max |Δp| = {keras_diff:.2e}")
        if keras_diff > (1e-4 if args.quantize == "none" else 2e-2):
            print("LiteRT model disagrees with Keras; not exporting", file=sys.stderr)
            return 1
        args.out_dir.mkdir(parents=True, exist_ok=True)
        out_tflite.write_bytes(candidate.read_bytes())
    print(f"wrote {out_tflite} ({out_tflite.stat().st_size:,} B)")
    if args.no_card:
        return 0

    card_path = args.out_dir / FACE_EXPRESSION_CARD.name
    if args.faceapi_js:
        reference = compare_with_library(args.faceapi_js, src, out_tflite)
        print(f"LiteRT vs face-api.js {reference['face_api_js']} ({reference['backend']}): max |Δp| = "
              f"{reference['max_abs_prob_diff']:.2e} (faces {reference['max_abs_prob_diff_faces']:.2e})")
    else:
        # Without node the previous comparison stays, so a plain re-run does not erase the evidence.
        reference = json.loads(card_path.read_text()).get("vs_original_library") if card_path.exists() else None
    ms = ms_per_face(out_tflite)
    print(f"{ms:.2f} ms per face (one thread, batch 1, median of 200)")
    command = "python -m training.convert_face_models " + shlex.join(
        sys.argv[1:] if argv is None else [str(a) for a in argv])
    card = model_card(parameters=int(net.count_params()), quantize=args.quantize, keras_diff=keras_diff,
                      reference=reference, ms=ms, command=command)
    card_path.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
