"""face-api.js's expression model on the labelled diverse faces: emotion and mood accuracy per group.

    python -m bench.faceapi [--margins 0.05] [--mirror] [--csv ../shared/data/faces_diverse/labels.csv]

Largest BlazeFace face per image (as the bot reads it); an image with no face counts as wrong.
"""
from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from recommender.mood import MOOD_INDEX
from recommender.paths import shared_data_dir
from recommender.types import EMOTIONS
from recommender.vision import imageio
from recommender.vision.faceapi import CROP_MARGIN, FaceApiExpression, crop_faces
from recommender.vision.faces import load_detector


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", type=Path, default=shared_data_dir() / "faces_diverse" / "labels.csv")
    p.add_argument("--margins", default=str(CROP_MARGIN), help="comma-separated crop margins to compare")
    p.add_argument("--mirror", action="store_true", help="also average each face with its mirror image")
    args = p.parse_args(argv)
    rows = [r for r in csv.DictReader(open(args.csv, newline="")) if r["label"] in EMOTIONS]
    detector = load_detector()
    model = FaceApiExpression()
    found = []  # (row, working rgb, box in working pixels) or (row, None, None)
    for r in rows:
        image = imageio.decode((args.csv.parent / r["file"]).read_bytes())
        faces = detector.detect(image)
        if faces:
            b, s = faces[0].box, image.scale
            found.append((r, image.rgb, (b.x / s, b.y / s, b.w / s, b.h / s)))
        else:
            found.append((r, None, None))
    print(f"{len(rows)} images, {sum(f[1] is None for f in found)} without a face (counted wrong)")
    for margin in (float(m) for m in args.margins.split(",")):
        hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
        for r, rgb, box in found:
            truth = EMOTIONS.index(r["label"])
            pred = -1
            if rgb is not None:
                crop = crop_faces(rgb, [box], margin=margin)
                views = np.concatenate([crop, crop[:, :, ::-1]]) if args.mirror else crop
                pred = int(model.run(views).mean(0).argmax())
            ok = (pred == truth, pred >= 0 and MOOD_INDEX[pred] == MOOD_INDEX[truth])
            hits["all"].append(ok)
            if r.get("group"):
                hits[r["group"]].append(ok)
        print(f"\nmargin {margin}{' + mirror' if args.mirror else ''}:  emotion  mood   n  group")
        for group, oks in sorted(hits.items(), key=lambda kv: (kv[0] != "all", kv[0])):
            a = np.asarray(oks, float).mean(0)
            print(f"           {a[0]:.3f}   {a[1]:.3f} {len(oks):4d}  {group[:90]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
