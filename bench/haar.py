"""OpenCV's frontal-face Haar cascade: the seed project's detector, kept to compare against."""
from __future__ import annotations

import threading
from pathlib import Path

import cv2

from recommender.types import Face
from recommender.vision.faces import largest_first, to_original_box
from recommender.vision.imageio import DecodedImage


class HaarDetector:
    """OpenCV's frontal-face cascade on a downscaled, equalised grayscale image."""

    def __init__(self, *, detect_side: int = 512, min_neighbors: int = 5, scale_factor: float = 1.1):
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self.name = "haar"
        # Haar's box already spans FER-2013's frame (bench/crop_margin.py), so it is cropped as is.
        self.crop_margin, self.crop_shift = 0.0, 0.0
        self.detect_side = detect_side
        self.min_neighbors = min_neighbors
        self.scale_factor = scale_factor
        self._path = str(path)
        # CascadeClassifier.detectMultiScale is not documented thread-safe: one per thread.
        self._local = threading.local()
        if self._cascade().empty():
            raise RuntimeError(f"cannot load {path}")

    def _cascade(self) -> cv2.CascadeClassifier:
        c = getattr(self._local, "cascade", None)
        if c is None:
            c = self._local.cascade = cv2.CascadeClassifier(self._path)
        return c

    def detect(self, image: DecodedImage) -> list[Face]:
        gray = image.gray
        f = min(1.0, self.detect_side / max(gray.shape))
        small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
        small = cv2.equalizeHist(small)
        min_side = max(20, round(min(small.shape) * 0.06))
        rects = self._cascade().detectMultiScale(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_side, min_side)
        )
        faces = []
        for x, y, w, h in rects if len(rects) else []:
            box = to_original_box(x / f, y / f, w / f, h / f, image)
            if box is not None:
                faces.append(Face(box, 1.0))
        return largest_first(faces)
