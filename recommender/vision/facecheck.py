"""Is a detected face a photographed face? BlazeFace also fires on drawings, emoji, cartoons and
colour charts (scores up to 0.84, above some real faces' 0.56), so a box must also look like a photo.

Two measured cues on the box's pixels (docs/faces.md, `python -m bench.face_groups --face-check`):
- drawings, emoji and charts are mostly perfectly flat areas: ≥ 0.81 of a 96×96 crop has a
  Laplacian under 0.5, against at most 0.15 on 508 real faces (posed, web, grey, small);
- a printed colour chart is saturated throughout: median saturation 255, real faces ≤ 174.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .imageio import DecodedImage, WorkBox

CHECK_SIDE = 96
MAX_FLAT = 0.4  # real faces ≤ 0.15, drawings ≥ 0.81
MAX_SATURATION = 220  # median over the box; real faces ≤ 174, colour charts 255


@dataclass(frozen=True)
class FaceLook:
    flat: float  # share of pixels with |Laplacian| < 0.5 (no texture at all)
    saturation: float  # median HSV saturation, 0–255

    @property
    def is_photo(self) -> bool:
        return self.flat <= MAX_FLAT and self.saturation <= MAX_SATURATION


def look(image: DecodedImage, box: WorkBox) -> FaceLook:
    x, y, w, h = box
    h_img, w_img = image.gray.shape
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(w_img, int(np.ceil(x + w))), min(h_img, int(np.ceil(y + h)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return FaceLook(1.0, 0.0)
    # Never upscaled: interpolation would flatten a small face's texture into the drawing range.
    side = max(8, min(CHECK_SIDE, x1 - x0, y1 - y0))
    size = (side, side)
    gray = cv2.resize(image.gray[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    rgb = cv2.resize(image.rgb[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    lap = np.abs(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F))
    sat = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1]
    return FaceLook(float(np.mean(lap < 0.5)), float(np.median(sat)))


def photographed(image: DecodedImage, boxes: Sequence[WorkBox]) -> list[bool]:
    return [look(image, b).is_photo for b in boxes]
