"""Compare face detectors on the labelled real photos in ../shared/data/photos.

    python -m bench.detectors [--detectors haar,blazeface-short,blazeface-full,blazeface,mtcnn] [--repeat 3]

Per detector it prints: faces found / expected on the one-face photos, false faces on the
no-face photos, recall on the group photos, robustness on the one-face photos turned ±20°
and darkened (synthetic, made in memory), and median ms per photo: detection alone at 512 px
(longest side), and decode + detection of the photo upscaled to 4000 px and re-encoded as JPEG
(the path a large phone photo takes). Photos are only read; nothing is written.

`mtcnn` (Keras weights, needs TensorFlow) is compared when installed (`pip install mtcnn`); it can
never be the serving choice because the bot must not import TensorFlow.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from bench.common import load_photos, resized_jpeg
from recommender.vision import imageio
from bench.haar import HaarDetector
from recommender.vision.faces import DETECTORS
from recommender.paths import shared_data_dir
from recommender.types import Box, Face

# Faces a person can see in each group photo (counted by eye; a face cut off above the
# mouth by the frame edge in multi_001 is not counted).
GROUP_FACES = {"multi_001.jpeg": 4, "multi_002.jpg": 5, "multi_003.jpg": 2, "multi_004.jpg": 2}


def expected_faces(name: str, label: str) -> int:
    if label == "noface":
        return 0
    if label == "multi":
        return GROUP_FACES[name]
    return 1


def rotated(im: imageio.DecodedImage, degrees: float) -> imageio.DecodedImage:
    h, w = im.gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    rgb = cv2.warpAffine(im.rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return _decoded(rgb)


def darkened(im: imageio.DecodedImage, gain: float = 0.25, gamma: float = 1.6) -> imageio.DecodedImage:
    """An underexposed photo: less light and crushed shadows, plus sensor-like noise."""
    x = (im.rgb.astype(np.float32) / 255.0) ** gamma * gain
    noise = np.random.default_rng(0).normal(0, 0.01, x.shape)
    return _decoded(np.clip((x + noise) * 255, 0, 255).astype(np.uint8))


def _decoded(rgb: np.ndarray) -> imageio.DecodedImage:
    return imageio.DecodedImage(
        rgb=rgb,
        gray=cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY),
        original_size=(rgb.shape[1], rgb.shape[0]),
        scale=1.0,
        format="RAW",
    )


class MtcnnDetector:
    """mtcnn 1.x (TensorFlow) behind the same interface, for the comparison only."""

    name = "mtcnn"

    def __init__(self, min_confidence: float = 0.9):
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from mtcnn import MTCNN

        self._m = MTCNN()
        self.min_confidence = min_confidence

    def detect(self, image: imageio.DecodedImage) -> list[Face]:
        out = []
        for r in self._m.detect_faces(image.rgb):
            if r["confidence"] < self.min_confidence:
                continue
            x, y, w, h = (v * image.scale for v in r["box"])
            out.append(Face(Box(int(x), int(y), int(w), int(h)), float(r["confidence"])))
        return sorted(out, key=lambda f: -f.box.area)


def make_detector(name: str):
    if name == "mtcnn":
        return MtcnnDetector()
    if name == "haar":
        return HaarDetector()
    return DETECTORS[name]()


def timed(fn, repeat: int) -> tuple[float, object]:
    best, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best.append((time.perf_counter() - t) * 1000)
    return min(best), result


def evaluate(name: str, photos, repeat: int) -> dict:
    det = make_detector(name)
    single_found = single_total = 0
    false_faces = noface_photos_with_faces = 0
    group_found = group_total = group_extra = 0
    tilt_found = tilt_total = dark_found = dark_total = 0
    ms512, ms4000 = [], []
    misses = []
    for fname, label, data in photos:
        im = imageio.decode(data)
        n = len(det.detect(im))  # warm-up and the count at serving size
        exp = expected_faces(fname, label)
        if label == "noface":
            false_faces += n
            noface_photos_with_faces += n > 0
            if n:
                misses.append(f"{fname}: {n} false")
        elif label == "multi":
            group_total += exp
            group_found += min(n, exp)
            group_extra += max(0, n - exp)
            if n != exp:
                misses.append(f"{fname}: {n}/{exp}")
        else:
            single_total += 1
            single_found += n >= 1
            if n == 0:
                misses.append(f"{fname}: missed")
            for deg in (-20, 20):
                tilt_total += 1
                tilt_found += len(det.detect(rotated(im, deg))) >= 1
            dark_total += 1
            dark_found += len(det.detect(darkened(im))) >= 1
        small = imageio.decode(resized_jpeg(data, 512))
        ms, _ = timed(lambda: det.detect(small), repeat)
        ms512.append(ms)
        if label in ("happy", "noface", "multi"):  # a subset keeps the 4000 px pass short
            big = resized_jpeg(data, 4000)
            ms, _ = timed(lambda: det.detect(imageio.decode(big)), repeat)
            ms4000.append(ms)
    return {
        "detector": name,
        "single": f"{single_found}/{single_total}",
        "single_rate": single_found / max(single_total, 1),
        "noface_false": f"{false_faces} in {noface_photos_with_faces}/{sum(lbl == 'noface' for _, lbl, _ in photos)}",
        "group": f"{group_found}/{group_total}" + (f" +{group_extra}" if group_extra else ""),
        "tilt20": f"{tilt_found}/{tilt_total}",
        "dim": f"{dark_found}/{dark_total}",
        "ms512": statistics.median(ms512),
        "ms4000": statistics.median(ms4000) if ms4000 else float("nan"),
        "misses": misses,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", type=Path, default=shared_data_dir() / "photos")
    p.add_argument("--detectors", default="haar,blazeface-short,blazeface-full,blazeface,mtcnn")
    p.add_argument("--repeat", type=int, default=3, help="timing repeats per photo (best of)")
    args = p.parse_args(argv)
    photos = load_photos(args.photos)
    cv2.setNumThreads(1)  # the bot runs detection in a worker pool: one core per photo
    rows = []
    for name in args.detectors.split(","):
        try:
            rows.append(evaluate(name, photos, args.repeat))
        except ImportError as e:
            print(f"# {name}: skipped ({e})", file=sys.stderr)
    header = (
        f"{'detector':<16} {'1-face found':>12} {'false (no-face)':>16} {'group faces':>13} "
        f"{'±20° tilt':>9} {'dim':>7} {'ms@512':>7} {'ms@4000*':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['detector']:<16} {r['single']:>12} {r['noface_false']:>16} {r['group']:>13} "
            f"{r['tilt20']:>9} {r['dim']:>7} {r['ms512']:>7.1f} {r['ms4000']:>9.1f}"
        )
    print("group faces: found/expected, +N extra boxes that are no face.")
    print("* 4000 px: decode + downscale + detect of a JPEG q90, median over the happy/noface/multi photos;")
    print("  512 px: detection alone. Times are best of --repeat, then median over photos; 1 thread.")
    for r in rows:
        if r["misses"]:
            print(f"{r['detector']} misses: " + "; ".join(r["misses"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
