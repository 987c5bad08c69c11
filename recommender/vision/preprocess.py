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

# FER-2013 faces are tightly framed: roughly forehead to chin, little background. Our detector's
# (BlazeFace) box is a little tighter and sits a little low in that frame, so the crop adds
# `CROP_MARGIN` of the box side on every side and moves up by `CROP_SHIFT` box sides.
# Measured (python -m bench.crop_margin): BlazeFace run on 600 FER-2013 Training faces draws a
# box 0.86 of the frame's side (→ margin 0.08) whose centre is 0.08 box sides below the frame's
# (→ shift −0.08); on the 68 labelled one-face dev photos, margins 0.10–0.15 with shift −0.07 gave
# the best accuracy and likelihood (0.75 at 0.10), against 0.65–0.68 with no margin and at 0.30
# (first model, face + mirror). The distilled model, 6 views: 0.721 at 0.10 / −0.07, 0.62 with none.
CROP_MARGIN = 0.1
CROP_SHIFT = -0.07


def crop_face(
    gray: np.ndarray,
    box,
    *,
    margin: float = CROP_MARGIN,
    shift: float = CROP_SHIFT,
    roll_degrees: float = 0.0,
) -> np.ndarray:
    """Grayscale image + face box (x, y, w, h in `gray`'s pixels) → (48, 48) uint8 face.

    The crop is a square of side max(w, h)·(1 + 2·margin), centred on the box's centre moved
    down by `shift`·max(w, h) along the face's own vertical (negative: up), and turned by
    `roll_degrees` (the eye line's tilt) so the face comes out upright like FER-2013's. Pixels
    beyond the image edge repeat the edge, as a face at the border of a selfie needs.
    """
    import cv2  # the training side never calls this; keep its imports light

    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 grayscale image, got {gray.shape} {gray.dtype}")
    x, y, w, h = (float(v) for v in (box.x, box.y, box.w, box.h)) if hasattr(box, "x") else map(float, box)
    if w <= 0 or h <= 0:
        raise ValueError(f"empty face box {box}")
    side = max(w, h) * (1.0 + 2.0 * margin)
    # "Down" for a tilted face is along its own axis: the image's down turned by the roll.
    t = np.radians(roll_degrees)
    cx = x + w / 2.0 - np.sin(t) * shift * max(w, h)
    cy = y + h / 2.0 + np.cos(t) * shift * max(w, h)
    # Cut a region that holds the square at any rotation, shrink it with area averaging (a plain
    # warp would alias a 400 px face down to 48 px), then rotate and cut the centre once.
    reach = side * (np.sqrt(2.0) if roll_degrees else 1.0)
    patch_side = max(1, int(np.ceil(reach)))
    patch = cv2.getRectSubPix(gray, (patch_side, patch_side), (cx - 0.5, cy - 0.5))
    f = FACE_SIZE / side
    small_side = max(FACE_SIZE, int(round(patch_side * f)))
    small = cv2.resize(patch, (small_side, small_side), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    c = (small_side - 1) / 2.0
    m = cv2.getRotationMatrix2D((c, c), roll_degrees, 1.0)
    m[:, 2] += (FACE_SIZE - 1) / 2.0 - c
    return cv2.warpAffine(
        small, m, (FACE_SIZE, FACE_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


# FER-2013 faces span a wide grey range: their 1st–99th percentile spread is 207 grey levels at
# the median and under 119 for only 2 % of them (3,000 Training rows). A face from a dim photo is
# far flatter (median 46 on the darkened dev photos), outside anything the model was trained on.
# Such crops are stretched to FER-2013's median spread; normal crops are left exactly as they are.
# Measured (dev photos darkened to a quarter of the light, first model): accuracy 0.52 → 0.75, normal
# 0.75 → 0.75; with the distilled model 0.46 → 0.66, normal 0.72 → 0.72.
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
