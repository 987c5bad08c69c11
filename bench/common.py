"""Helpers the benches share."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from PIL import Image

from recommender.vision import imageio
from recommender.paths import shared_data_dir
from recommender.types import EMOTIONS


def resized_jpeg(data: bytes, side: int) -> bytes:
    """A photo re-encoded as a JPEG whose longer side is `side` px (EXIF rotation applied)."""
    im = imageio.decode(data, work_side=10_000)
    pil = Image.fromarray(im.rgb)
    f = side / max(pil.size)
    pil = pil.resize((round(pil.width * f), round(pil.height * f)), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def load_photos(photo_dir: Path | None = None) -> list[tuple[str, str, bytes]]:
    """The dev photos as (file, label, bytes), as listed in their labels.csv."""
    photo_dir = photo_dir or shared_data_dir() / "photos"
    with open(photo_dir / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [(r["file"], r["label"], (photo_dir / r["file"]).read_bytes()) for r in rows]


def emotion_photos() -> list[tuple[str, bytes]]:
    """The one-face dev photos labelled with an emotion, as (label, bytes)."""
    return [(label, data) for _, label, data in load_photos() if label in EMOTIONS]
