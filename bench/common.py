"""Helpers the benches share."""
from __future__ import annotations

import io

from PIL import Image

from recommender import imageio


def resized_jpeg(data: bytes, side: int) -> bytes:
    """A photo re-encoded as a JPEG whose longer side is `side` px (EXIF rotation applied)."""
    im = imageio.decode(data, work_side=10_000)
    pil = Image.fromarray(im.rgb)
    f = side / max(pil.size)
    pil = pil.resize((round(pil.width * f), round(pil.height * f)), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=90)
    return buf.getvalue()
