"""Serving-speed figures for the emotion model and the face detector, as the bot runs them.

    python -m bench.emotion [--model models/emotion.tflite] [--repeat 200]

Prints: ms per face at batch 1 (median, p95; for each test-time augmentation mode, the served
one first), faces per second at batch 64, face-detection ms per photo at 512 px and at 4000 px
(decode + downscale + detect of a JPEG), whole-pipeline ms per photo, and the process's peak RSS.
Faces are real crops from the labelled photos in ../shared/data/photos (made in memory).
The per-face timings use the bot's LiteRT threads for the emotion model
(recommender.vision.emotion.DEFAULT_THREADS) unless --threads says otherwise; the detector uses one.
Run it on a quiet machine: it measures time.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from bench.common import resized_jpeg
from recommender.vision import imageio
from recommender.vision.emotion import DEFAULT_THREADS, EmotionClassifier
from recommender.vision.faces import DEFAULT_DETECTOR, load_detector
from recommender.paths import EMOTION_TFLITE, shared_data_dir
from recommender.pipeline import Pipeline, to_working
from recommender.vision.tta import DEFAULT_TTA, TTA_MODES


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def time_calls(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=EMOTION_TFLITE)
    p.add_argument("--detector", default=DEFAULT_DETECTOR)
    p.add_argument("--photos", type=Path, default=shared_data_dir() / "photos")
    p.add_argument("--repeat", type=int, default=200, help="batch-1 calls to time")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"LiteRT threads for the per-face timings (default: the bot's, {DEFAULT_THREADS} here)")
    args = p.parse_args(argv)
    cv2.setNumThreads(1)

    def peak_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    t = time.perf_counter()
    pipeline = Pipeline.load(detector=args.detector, emotion_model=args.model)
    load_ms = (time.perf_counter() - t) * 1000
    rss_loaded = peak_mib()
    photos = sorted(q for q in args.photos.iterdir() if q.suffix.lower() in (".jpg", ".jpeg", ".png"))
    datas = [q.read_bytes() for q in photos]

    for data in datas:  # the served path alone first, for a peak RSS close to the bot's
        pipeline.analyze(data)
    rss_served_path = peak_mib()

    # Real faces, cropped exactly as the bot crops them.
    crops = []
    for data in datas:
        image = imageio.decode(data)
        faces = pipeline.detector.detect(image)
        if faces:
            crops.append(pipeline.fer.faces48(image, [to_working(f.box, image.scale) for f in faces]))
    faces48 = np.concatenate(crops)
    batch64 = np.resize(faces48, (64, 48, 48)).astype(np.uint8)

    results: list[tuple[str, str]] = []
    rss_batch1 = 0.0
    for tta in [DEFAULT_TTA] + [m for m in TTA_MODES if m != DEFAULT_TTA]:
        clf = EmotionClassifier(args.model, tta=tta, num_threads=args.threads)
        one = [faces48[i % len(faces48) : i % len(faces48) + 1] for i in range(args.repeat)]
        clf.predict_proba(one[0])
        it = iter(one * 2)
        ms = time_calls(lambda: clf.predict_proba(next(it)), args.repeat)
        rss_batch1 = max(rss_batch1, peak_mib())
        clf.predict_proba(batch64)
        ms64 = time_calls(lambda: clf.predict_proba(batch64), max(5, args.repeat // 20))
        label = f"TTA {tta!r}, {TTA_MODES[tta].count} views" + (" (served)" if tta == DEFAULT_TTA else "")
        results.append((f"ms per face, batch 1, {label}", f"median {statistics.median(ms):.3f}  p95 {percentile(ms, 95):.3f}"))
        results.append((f"faces/s, batch 64, {label}", f"{64 / (statistics.median(ms64) / 1000):,.0f}"))

    det = load_detector(args.detector)
    small = [imageio.decode(resized_jpeg(d, 512)) for d in datas]
    for im in small[:3]:
        det.detect(im)
    per_photo = [min(time_calls(lambda im=im: det.detect(im), 3)) for im in small]
    results.append((f"detection ms per photo, 512 px ({det.name})",
                    f"median {statistics.median(per_photo):.1f}  p95 {percentile(per_photo, 95):.1f}  (n={len(small)})"))
    rss_served = peak_mib()
    big = [resized_jpeg(d, 4000) for d in datas[::4]]
    per_big = [min(time_calls(lambda b=b: det.detect(imageio.decode(b)), 2)) for b in big]
    results.append(("decode+detect ms per photo, 4000 px JPEG",
                    f"median {statistics.median(per_big):.1f}  p95 {percentile(per_big, 95):.1f}  (n={len(big)})"))
    per_full = [min(time_calls(lambda b=b: pipeline.analyze(b), 2)) for b in big]
    results.append(("whole pipeline ms per photo, 4000 px JPEG",
                    f"median {statistics.median(per_full):.1f}  p95 {percentile(per_full, 95):.1f}"))
    selfies = [resized_jpeg(d, 1280) for d in datas[::4]]
    per_selfie = [min(time_calls(lambda b=b: pipeline.analyze(b), 2)) for b in selfies]
    results.append(("whole pipeline ms per photo, 1280 px JPEG",
                    f"median {statistics.median(per_selfie):.1f}  p95 {percentile(per_selfie, 95):.1f}"))
    results.append(("pipeline load + warm-up ms", f"{load_ms:.0f}"))
    results.append(("peak RSS: models loaded and warm", f"{rss_loaded:.0f} MiB"))
    results.append(("peak RSS: + Pipeline.analyze on every dev photo", f"{rss_served_path:.0f} MiB"))
    results.append(("peak RSS: + bench's extra classifiers, batch-1 timing", f"{rss_batch1:.0f} MiB"))
    results.append(("peak RSS: + batch-64 classification (64 faces × served views)", f"{rss_served:.0f} MiB"))
    results.append(("peak RSS: at the end (the bench itself holds 4000 px test images)", f"{peak_mib():.0f} MiB"))

    print(f"model: {args.model} ({args.model.stat().st_size / 1024:.0f} KiB), {args.threads} LiteRT thread(s); "
          f"faces: {len(faces48)} real crops")
    width = max(len(k) for k, _ in results)
    for k, v in results:
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
