"""The one preprocessing path shared by training, evaluation and the bot.

FER-2013 rows and faces cropped from photos both become 48×48 uint8 grayscale; from there
`to_model_input` is the only step, so the model sees identical numbers in training and serving.
"""
from __future__ import annotations

import numpy as np

FACE_SIZE = 48


def to_model_input(faces48: np.ndarray) -> np.ndarray:
    """(N, 48, 48) or (48, 48) uint8 grayscale → (N, 48, 48, 1) float32 in [0, 1]."""
    faces = np.asarray(faces48)
    if faces.ndim == 2:
        faces = faces[None]
    if faces.shape[1:] != (FACE_SIZE, FACE_SIZE):
        raise ValueError(f"expected 48×48 faces, got {faces.shape}")
    return (faces.astype(np.float32) / 255.0)[..., None]


def pixels_to_faces(pixel_strings) -> np.ndarray:
    """FER-2013 'pixels' column (space-separated 0–255 values) → (N, 48, 48) uint8."""
    rows = [np.asarray(s.split(), dtype=np.uint8) for s in pixel_strings]
    return np.stack(rows).reshape(-1, FACE_SIZE, FACE_SIZE)


# --- Faces cropped from photos (the bot's side of the shared path) ---------------------------

# FER-2013 faces are tightly framed, forehead to chin; BlazeFace's box is a little tighter and
# sits a little low in that frame, so the crop widens it and moves it up (docs/emotion-model.md).
CROP_MARGIN = 0.1
CROP_SHIFT = -0.07


def crop_face(gray: np.ndarray, box, *, margin: float = CROP_MARGIN, shift: float = CROP_SHIFT) -> np.ndarray:
    """Grayscale image + face box (x, y, w, h in `gray`'s pixels) → (48, 48) uint8 face.

    The crop is a square of side max(w, h)·(1 + 2·margin), centred on the box's centre moved
    down by `shift`·max(w, h) (negative: up). Pixels beyond the image edge repeat the edge, as a
    face at the border of a selfie needs.
    """
    import cv2  # the training side never calls this; keep its imports light

    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 grayscale image, got {gray.shape} {gray.dtype}")
    x, y, w, h = (float(v) for v in (box.x, box.y, box.w, box.h)) if hasattr(box, "x") else map(float, box)
    if w <= 0 or h <= 0:
        raise ValueError(f"empty face box {box}")
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx = x + w / 2.0
    cy = y + h / 2.0 + shift * max(w, h)
    # Shrink with area averaging (a plain warp would alias a 400 px face down to 48 px), then cut
    # the centre at sub-pixel precision.
    patch_side = max(1, int(np.ceil(side)))
    patch = cv2.getRectSubPix(gray, (patch_side, patch_side), (cx - 0.5, cy - 0.5))
    f = FACE_SIZE / side
    small_side = max(FACE_SIZE, int(round(patch_side * f)))
    small = cv2.resize(patch, (small_side, small_side), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    t = (FACE_SIZE - 1) / 2.0 - (small_side - 1) / 2.0
    m = np.array([[1.0, 0.0, t], [0.0, 1.0, t]])
    return cv2.warpAffine(
        small, m, (FACE_SIZE, FACE_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


# A face from a dim photo is far flatter than any FER-2013 face the model learnt from, so only
# such crops are stretched to FER-2013's typical grey spread (docs/emotion-model.md).
LOW_CONTRAST_SPREAD = 120
FER_SPREAD = (24, 231)


def normalize_contrast(face48: np.ndarray) -> np.ndarray:
    """A (48, 48) uint8 face flatter than FER-2013's faces → stretched to FER's typical spread."""
    lo, hi = np.percentile(face48, (1, 99))
    if hi - lo >= LOW_CONTRAST_SPREAD or hi - lo < 1:
        return face48
    a, b = FER_SPREAD
    out = (face48.astype(np.float32) - lo) * ((b - a) / (hi - lo)) + a
    return np.clip(out, 0, 255).round().astype(np.uint8)
