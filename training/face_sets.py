"""The labelled real-face dev sets, read as the bot reads a photo, and each expression model's
probabilities for their faces.

`faces_diverse/` (440 posed faces of several populations; research use: measured and tuned on,
never copied) and `photos/` (83 real photos: one face each, no face, or several). Everything is
computed in memory; no image, crop or derived file is written anywhere.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recommender.paths import shared_data_dir
from recommender.pipeline import to_working
from recommender.types import EMOTIONS
from recommender.vision import imageio
from recommender.vision.facecheck import photographed
from recommender.vision.faces import FaceDetector, load_detector

PHOTOS_GROUP = "photos (real photos, mostly Western)"
GROUP_SHORT = {
    "Dutch adults": "RaFD Dutch",
    "US actors": "NimStim US actors",
    "Hispanic/Latino": "RADIATE Hispanic",
    "Asian-American": "RADIATE Asian-Am.",
    "White": "RADIATE White",
    "Black": "RADIATE Black",
    "photos": "photos/",
}


def short_group(group: str) -> str:
    for prefix, short in GROUP_SHORT.items():
        if group.startswith(prefix):
            return short
    return group


@dataclass
class FaceSet:
    """One row per labelled image: its largest face (if any) and what each model read there."""

    files: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # an emotion, or "noface" / "multi"
    groups: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)
    found: list[bool] = field(default_factory=list)
    detector_scores: list[float] = field(default_factory=list)
    probs: dict[str, list[np.ndarray]] = field(default_factory=dict)  # model → per-row (7,) or NaNs

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.stack(rows) for name, rows in self.probs.items()}

    def emotion_rows(self) -> np.ndarray:
        """Rows labelled with one of the 7 emotions (the single-face photos)."""
        return np.array([lab in EMOTIONS for lab in self.labels])


def _rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load_sets(models: dict[str, object], *, detector: FaceDetector | None = None,
              data_dir: Path | None = None, include_photos: bool = True) -> FaceSet:
    """Decode, detect and read every image of faces_diverse (and photos) with every model.

    `models` maps a name to an object with `predict_proba(image: DecodedImage, boxes) -> (N, 7)`
    (boxes: the working image's (x, y, w, h)); each reads the largest face.
    """
    data_dir = data_dir or shared_data_dir()
    detector = detector or load_detector()
    out = FaceSet(probs={name: [] for name in models})
    sources = [("faces_diverse", data_dir / "faces_diverse")]
    if include_photos:
        sources.append(("photos", data_dir / "photos"))
    for kind, folder in sources:
        for row in _rows(folder):
            data = (folder / row["file"]).read_bytes()
            image = imageio.decode(data)
            found = detector.detect(image)
            # As the bot: a box that does not look photographed (facecheck) is no face.
            faces = [f for f, ok in zip(found, photographed(image, [to_working(f.box, image.scale) for f in found])) if ok]
            out.files.append(f"{kind}/{row['file']}")
            out.labels.append(row["label"])
            out.groups.append(row.get("group") or PHOTOS_GROUP)
            out.datasets.append(row.get("dataset") or "photos")
            out.persons.append(row.get("person_id") or f"photos-{row['file']}")
            out.found.append(bool(faces))
            out.detector_scores.append(float(faces[0].score) if faces else 0.0)
            for name, model in models.items():
                if faces:
                    p = model.predict_proba(image, [to_working(faces[0].box, image.scale)])[0]
                else:
                    p = np.full(len(EMOTIONS), np.nan)
                out.probs[name].append(np.asarray(p, np.float64))
    return out
