"""Per-group figures of the face models: what each population of faces lives through.

    python -m bench.face_groups                      # before (FER-2013 alone), after (served ensemble),
                                                     # and each member alone
    python -m bench.face_groups --combo fer2013-cnn:0.5,hsemotion-mobilenet7:0.5
    python -m bench.face_groups --combo fer2013-cnn:0.2,hsemotion-mobilenet7-int8:0.7,faceapi-expression:0.1
                                                     # a candidate member in the served weights (issue 28)
    python -m bench.face_groups --publictest         # also FER-2013 PublicTest (3,589 rows)

For every group of faces_diverse (RaFD, NimStim, RADIATE's four groups) and photos/: emotion and mood
accuracy, how often the bot asks, and how often it answers outright with the wrong mood
(confidently wrong), with 95 % Wilson intervals; then the face check on the no-face photos and on
drawn non-faces, and the cost per face (of the --models/--combo extras too). Each table names the
calibration (temperature, ask threshold, mood decision) it decides with. Everything runs in memory;
no image or crop is written.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

import cv2
import numpy as np
from PIL import Image

from recommender.paths import shared_data_dir
from recommender.pipeline import Pipeline
from recommender.types import EMOTIONS
from recommender.vision import imageio
from recommender.vision.calibration import CALIBRATION_JSON, Calibration
from recommender.vision.ensemble import ENSEMBLE_JSON, build_member, load_ensemble, pool
from recommender.vision.facecheck import photographed
from training.face_metrics import decide, labels_of, rates, table
from training.face_sets import load_sets, short_group


def drawn_non_faces() -> dict[str, bytes]:
    """Pictures the detector mistakes for faces: a drawn smiley, a line sketch, a colour chart."""
    def png(a: np.ndarray) -> bytes:
        b = io.BytesIO()
        Image.fromarray(a).save(b, "PNG")
        return b.getvalue()

    smiley = np.full((500, 500, 3), 255, np.uint8)
    cv2.circle(smiley, (250, 250), 180, (0, 200, 255), -1)
    for x in (190, 310):
        cv2.circle(smiley, (x, 200), 25, (0, 0, 0), -1)
    cv2.ellipse(smiley, (250, 290), (90, 60), 0, 0, 180, (0, 0, 0), 12)
    sketch = np.full((500, 400, 3), 240, np.uint8)
    cv2.ellipse(sketch, (200, 250), (120, 160), 0, 0, 360, (30, 30, 30), 4)
    for x in (150, 250):
        cv2.ellipse(sketch, (x, 210), (25, 12), 0, 0, 360, (30, 30, 30), 3)
    cv2.line(sketch, (200, 230), (190, 290), (30, 30, 30), 3)
    cv2.ellipse(sketch, (200, 330), (50, 20), 0, 0, 180, (30, 30, 30), 3)
    hue = np.zeros((400, 400, 3), np.uint8)  # a hue wheel: saturated everywhere
    yy, xx = np.mgrid[-200:200, -200:200]
    hue[..., 0] = ((np.arctan2(yy, xx) + np.pi) / (2 * np.pi) * 179).astype(np.uint8)
    hue[..., 1] = 255
    hue[..., 2] = 255
    wheel = cv2.cvtColor(hue, cv2.COLOR_HSV2RGB)
    return {"drawn smiley": png(smiley), "line sketch": png(sketch), "colour wheel": png(wheel)}


def face_check_report(pipeline: Pipeline) -> list[str]:
    import csv

    photos = shared_data_dir() / "photos"
    lines = ["face check (detector + photographed-face check):"]
    with open(photos / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    noface = [r["file"] for r in rows if r["label"] == "noface"]
    answered = [n for n in noface if pipeline.analyze((photos / n).read_bytes()).faces]
    lines.append(f"  photos/ no-face: {len(noface) - len(answered)}/{len(noface)} get no answer"
                 + (f" (answered: {', '.join(answered)})" if answered else ""))
    for name, data in drawn_non_faces().items():
        image = imageio.decode(data)
        detected = pipeline.detector.detect(image)
        kept = photographed(image, [(f.box.x / image.scale, f.box.y / image.scale,
                                     f.box.w / image.scale, f.box.h / image.scale) for f in detected])
        lines.append(f"  {name}: detector boxes {len(detected)}, kept as faces {sum(kept)}")
    faces = [r["file"] for r in rows if r["label"] in EMOTIONS or r["label"] == "multi"]
    lost = [n for n in faces if not pipeline.analyze((photos / n).read_bytes()).faces]
    lines.append(f"  photos/ with faces: {len(faces) - len(lost)}/{len(faces)} still answered"
                 + (f" (lost: {', '.join(lost)})" if lost else ""))
    return lines


def ms_per_face(pipeline: Pipeline, repeat: int = 200, extra: dict | None = None) -> str:
    """The served model, each member, then any `extra` models (name → model), one face at a time."""
    photo = (shared_data_dir() / "photos" / "happy_001.jpg").read_bytes()
    image = imageio.decode(photo)
    f = pipeline.detector.detect(image)[0]
    box = [(f.box.x / image.scale, f.box.y / image.scale, f.box.w / image.scale, f.box.h / image.scale)]
    parts = [(pipeline.model.name, pipeline.model)]
    parts += [(m.model.name, m.model) for m in getattr(pipeline.model, "members", ())]
    parts += list((extra or {}).items())
    out = []
    for name, model in parts:
        model.predict_proba(image, box)
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            model.predict_proba(image, box)
            times.append((time.perf_counter() - t) * 1000)
        out.append(f"  {name}: {statistics.median(times):.2f} ms median, {min(times):.2f} ms min, "
                   f"p95 {np.percentile(times, 95):.2f} ms")
    return ("ms per face, one thread per model (batch 1, crop included; on a busy machine the min is "
            "the uncontended cost):\n" + "\n".join(out))


def publictest(names: list[str], weights: list[float], calibration: Calibration) -> str:
    """The FER-2013 member reads the 48×48 rows as it was trained to; the others read each row as a
    small grey photo whose face fills the frame (their own crops add their margin)."""
    from training.fer_data import load_fer

    data = load_fer().split("PublicTest")
    probs = []
    for n in names:
        model = build_member(n, threads=2)
        if n == "fer2013-cnn":
            probs.append(model.classifier.predict_proba(data.faces))
            continue
        side, rows = 144, []
        for face in data.faces:
            rgb = cv2.cvtColor(cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB)
            image = imageio.DecodedImage(rgb, rgb[..., 0].copy(), (side, side), 1.0, "RAW")
            rows.append(model.predict_proba(image, [(0.0, 0.0, float(side), float(side))])[0])
        probs.append(np.stack(rows))
    pooled = pool(probs, weights)
    d = decide(pooled, calibration.temperature, calibration.unsure_below, calibration.mood_decision)
    r = rates(d, data.labels)
    return (f"FER-2013 PublicTest ({r.n} rows), {' + '.join(f'{n}×{w:g}' for n, w in zip(names, weights))}: "
            f"emotion {r.emotion_right / r.n:.4f}, mood {r.mood_right / r.n:.4f}, "
            f"asks {r.asked / r.n:.3f}, confidently wrong {r.confidently_wrong / r.n:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="", help="also these single models (comma-separated)")
    ap.add_argument("--combo", default="", help="also this combination: name:weight,name:weight")
    ap.add_argument("--publictest", action="store_true", help="also FER-2013 PublicTest (slow: ~2 min)")
    ap.add_argument("--timing-only", action="store_true", help="only the cost per face")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)

    if args.timing_only:
        print(ms_per_face(Pipeline.load()))
        return 0
    served = load_ensemble(ENSEMBLE_JSON)
    fer_cal = Calibration.load(CALIBRATION_JSON)
    names = [m.model.name for m in served.members]
    extra = [n for n in args.models.split(",") if n and n not in names]
    combo = [(c.split(":")[0], float(c.split(":")[1])) for c in args.combo.split(",") if c]
    extra += [n for n, _ in combo if n not in names + extra]
    models = {m.model.name: m.model for m in served.members} | {n: build_member(n, 1) for n in extra}
    if "fer2013-cnn" not in models:
        models["fer2013-cnn"] = build_member("fer2013-cnn", 1)
    sets = load_sets(models)
    keep = sets.emotion_rows() & np.array(sets.found)
    arrays = {n: a[keep] for n, a in sets.arrays().items()}
    y = labels_of(np.array(sets.labels)[keep])
    groups = np.array([short_group(g) for g in sets.groups])[keep]
    missed = int((sets.emotion_rows() & ~np.array(sets.found)).sum())
    print(f"{keep.sum()} labelled faces found ({missed} labelled faces without a detected face)\n")

    def show(title: str, probs: np.ndarray, cal: Calibration) -> None:
        d = decide(probs, cal.temperature, cal.unsure_below, cal.mood_decision)
        print(table(f"{title} — T={cal.temperature:.3f}, asks below {cal.unsure_below:.2f}, {cal.mood_decision}",
                    d, y, groups))

    show("Before: FER-2013 CNN alone (its own calibration)", arrays["fer2013-cnn"], fer_cal)
    weights = [m.weight for m in served.members]
    show(f"After: served ensemble {served.name}", pool([arrays[n] for n in names], weights), served.calibration)
    for n in names + extra:
        if n not in dict(combo):
            show(f"{n} alone (served calibration)", arrays[n], served.calibration)
    if combo:
        show(f"combination {args.combo} (served calibration)",
             pool([arrays[n] for n, _ in combo], [w for _, w in combo]), served.calibration)

    pipeline = Pipeline.load()
    print("\n".join(face_check_report(pipeline)))
    print(ms_per_face(pipeline, extra={n: models[n] for n in extra}))
    if args.publictest:
        print(publictest(names, weights, served.calibration))
        if combo:
            print(publictest([n for n, _ in combo], [w for _, w in combo], served.calibration))
        for n in names + extra:
            print(publictest([n], [1.0], fer_cal if n == "fer2013-cnn" else served.calibration))
    return 0


if __name__ == "__main__":
    sys.exit(main())
