"""How much margin around a detected face makes a crop look like FER-2013's framing?

    python -m bench.crop_margin [--rows 600] [--margins 0,0.05,0.1,0.15,0.2,0.3]

Two independent measurements:

1. FER-2013's own framing: run our face detector on FER-2013 Training faces (enlarged, with the
   border extended so the detector sees context) and measure where its box falls in the 48×48
   frame. If the box spans a fraction `s` of the frame, a crop of side box·(1 + 2m) matches FER
   when m = (1/s − 1)/2. This needs no emotion model and no labels.
2. Emotion accuracy on the labelled one-face dev photos (../shared/data/photos) for several
   margins, upright and turned ±20°, and in dim light with and without stretching flat crops to
   FER-2013's contrast.
   The dev set is small (≈68 faces): read it as a sanity check, not as a test-set figure.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import statistics

import cv2
import numpy as np

from bench.common import emotion_photos
from bench.haar import HaarDetector
from recommender.vision import imageio
from recommender.vision.faces import load_detector
from recommender.mood import mood_for
from recommender.paths import EMOTION_TFLITE, shared_data_dir
from recommender.pipeline import to_working
from recommender.vision.preprocess import crop_face, normalize_contrast, pixels_to_faces
from recommender.types import EMOTIONS


def fer_rows(path, n: int, usage: str = "Training") -> tuple[np.ndarray, np.ndarray]:
    labels, pixels = [], []
    with gzip.open(path, "rt", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("Usage", usage) != usage:
                continue
            labels.append(int(row["emotion"]))
            pixels.append(row["pixels"])
            if len(pixels) >= n:
                break
    return pixels_to_faces(pixels), np.asarray(labels)


def fer_framing(detector, faces48: np.ndarray, pad: int = 24, scale: int = 4) -> dict:
    """Detector box on FER faces, in units of the 48-px frame."""
    sides, dx, dy, found = [], [], [], 0
    for face in faces48:
        big = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        big = cv2.resize(big, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        rgb = np.repeat(big[..., None], 3, axis=2)
        im = imageio.DecodedImage(rgb, big, (big.shape[1], big.shape[0]), 1.0, "RAW")
        det = detector.detect(im)
        if not det:
            continue
        found += 1
        b = det[0].box
        side = max(b.w, b.h) / scale
        cx, cy = (b.x + b.w / 2) / scale - pad, (b.y + b.h / 2) / scale - pad
        sides.append(side / 48)
        dx.append((cx - 24) / side)
        dy.append((cy - 24) / side)
    s = statistics.median(sides)
    return {
        "found": f"{found}/{len(faces48)}",
        "box_fraction_median": s,
        "box_fraction_iqr": (np.percentile(sides, 25), np.percentile(sides, 75)),
        "centre_dx_median": statistics.median(dx),
        "centre_dy_median": statistics.median(dy),
        "matching_margin": (1 / s - 1) / 2,
    }


def crops(image: imageio.DecodedImage, faces, margin: float, shift: float, contrast: bool = True) -> np.ndarray:
    """The served crop (Pipeline.faces48) with the framing and the contrast stretch as parameters."""
    out = [crop_face(image.gray, to_working(f.box, image.scale), margin=margin, shift=shift) for f in faces]
    return np.stack([normalize_contrast(c) if contrast else c for c in out])


def dev_accuracy(pipeline, margins, shifts, tilt_degrees=(0, -20, 20)) -> list[dict]:
    prepared = []  # (label, tilt, image, faces)
    for label, data in emotion_photos():
        base = imageio.decode(data)
        for deg in tilt_degrees:
            im = base if deg == 0 else _rotated(base, deg)
            faces = pipeline.detector.detect(im)[:1]
            prepared.append((label, deg, im, faces))
    out = []
    for margin, shift in itertools.product(margins, shifts):
        for tilted in (False, True):
            sel = [p for p in prepared if (p[1] != 0) == tilted]
            correct = mood_ok = nll = 0.0
            for label, _, im, faces in sel:
                if not faces:
                    nll += np.log(len(EMOTIONS))
                    continue
                probs = pipeline.fer.classifier.predict_proba(crops(im, faces, margin, shift))[0]
                pred = EMOTIONS[int(np.argmax(probs))]
                correct += pred == label
                mood_ok += mood_for(pred) == mood_for(label)
                nll += -np.log(max(float(probs[EMOTIONS.index(label)]), 1e-6))
            out.append({"margin": margin, "shift": shift, "tilted": tilted, "n": len(sel),
                        "acc": correct / len(sel), "mood_acc": mood_ok / len(sel), "nll": nll / len(sel)})
    return out


def _rotated(im: imageio.DecodedImage, deg: float) -> imageio.DecodedImage:
    h, w = im.gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    rgb = cv2.warpAffine(im.rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return imageio.DecodedImage(rgb, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (w, h), 1.0, "RAW")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=600, help="FER-2013 Training rows for the framing measurement")
    p.add_argument("--margins", default="0,0.05,0.1,0.15,0.2,0.3")
    p.add_argument("--shifts", default="0,-0.07")
    p.add_argument("--model", default=str(EMOTION_TFLITE))
    p.add_argument("--skip-framing", action="store_true")
    args = p.parse_args(argv)
    margins = [float(m) for m in args.margins.split(",")]
    shifts = [float(m) for m in args.shifts.split(",")]
    cv2.setNumThreads(1)

    if not args.skip_framing:
        faces48, _ = fer_rows(shared_data_dir() / "fer2013" / "fer2013_train_publictest.csv.gz", args.rows)
        print(f"1. FER-2013 framing: each detector on {len(faces48)} FER-2013 Training faces")
        print(f"   {'detector':<16} {'found':>8} {'box/frame':>9} {'IQR':>13} {'centre dy':>9} "
              f"{'→ margin':>8} {'→ shift':>8}")
        for name in ("blazeface", "blazeface-short", "blazeface-full", "haar"):
            fr = fer_framing(HaarDetector() if name == "haar" else load_detector(name), faces48)
            lo, hi = fr["box_fraction_iqr"]
            print(f"   {name:<16} {fr['found']:>8} {fr['box_fraction_median']:>9.3f} {f'{lo:.3f}–{hi:.3f}':>13} "
                  f"{fr['centre_dy_median']:>+9.3f} {fr['matching_margin']:>8.3f} {-fr['centre_dy_median']:>+8.3f}")
        print("   (dy: box centre below the frame centre, in box sides; shift = −dy moves the crop to match)")

    from recommender.pipeline import Pipeline

    pipeline = Pipeline.load(emotion_model=args.model)
    rows = dev_accuracy(pipeline, margins, shifts)
    print("2. Emotion accuracy on the labelled one-face dev photos (small set; a sanity check)")
    print(f"   {'margin':>6} {'shift':>6} {'photos':>12} {'n':>4} {'acc':>6} {'mood':>6} {'nll':>6}")
    for r in rows:
        print(f"   {r['margin']:>6.2f} {r['shift']:>+6.2f} {('turned ±20°' if r['tilted'] else 'as taken'):>12} "
              f"{r['n']:>4} {r['acc']:>6.3f} {r['mood_acc']:>6.3f} {r['nll']:>6.3f}")
    print("3. Dim light: the same dev photos darkened (light ×0.25, gamma 1.6) and moderately dim (×0.5, 1.3)")
    for contrast in (False, True):
        accs = dim_accuracy(pipeline, contrast)
        print(f"   contrast stretch {'on ' if contrast else 'off'}: " + ", ".join(f"{k} {v:.3f}" for k, v in accs.items()))
    return 0


def dim_accuracy(pipeline, contrast: bool) -> dict[str, float]:
    """Accuracy of the largest face's emotion, cropped with the shipped framing."""
    from bench.detectors import darkened

    photos = emotion_photos()
    hits = {"normal": 0, "dim": 0, "moderately dim": 0}
    for label, data in photos:
        base = imageio.decode(data)
        for name, im in (("normal", base), ("dim", darkened(base)), ("moderately dim", darkened(base, 0.5, 1.3))):
            faces = pipeline.detector.detect(im)[:1]
            if faces:
                d = pipeline.detector
                probs = pipeline.fer.classifier.predict_proba(crops(im, faces, d.crop_margin, d.crop_shift, contrast))[0]
                hits[name] += EMOTIONS[int(np.argmax(probs))] == label
    return {k: v / len(photos) for k, v in hits.items()}


if __name__ == "__main__":
    raise SystemExit(main())
