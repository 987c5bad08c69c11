"""Image bytes → `Analysis`: decode → detect → crop every face → classify all in one batch →
the mood of the largest face. Song choice lives elsewhere (catalog/selection).

`Pipeline` holds the loaded models and is safe to call from several worker threads at once:
each model guards its own interpreter, and everything else here is per-call.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .vision import imageio
from .vision.calibration import CALIBRATION_JSON, Calibration
from .vision.emotion import EmotionClassifier
from .vision.ensemble import ENSEMBLE_JSON, ExpressionModel, FerExpression, load_ensemble
from .vision.facecheck import photographed
from .vision.hsemotion import CROP_SCALE as HSE_CROP_SCALE, INPUT_SIZE as HSE_INPUT_SIZE
from .vision.faces import DEFAULT_DETECTOR, FaceDetector, load_detector
from .mood import mood_for
from .paths import EMOTION_TFLITE
from .types import Box, EmotionScores, FaceEmotion

# A crowd photo still gets an answer, in bounded time: the largest faces are the ones that count.
MAX_FACES = 16
# A JPEG is first decoded with its longest side reduced to about this (libjpeg's DCT scaling):
# a phone selfie's face stays far above every model's input, for a quarter of the pixels.
REDUCED_SIDE = imageio.WORK_SIDE // 2
# The largest patch a face model cuts is HSEmotion's (INPUT_SIZE px of CROP_SCALE × the face): a
# face whose patch would be smaller in the reduced image is read from the full-detail decode.


@dataclass(frozen=True)
class Analysis:
    """What the pipeline saw in one image.

    `faces` is largest first; `emotion`, `mood` and `confidence` describe the largest face and are
    None when no face was found. Boxes are in pixels of the EXIF-rotated original image.
    """

    faces: list[FaceEmotion]
    emotion: str | None
    mood: str | None
    confidence: float | None
    image_size: tuple[int, int]  # (width, height) after EXIF rotation
    model: str = ""  # which face model read the faces
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def found_face(self) -> bool:
        return bool(self.faces)

    def as_dict(self) -> dict:
        return {
            "image_size": list(self.image_size),
            "faces": [
                {
                    "box": fe.face.box.as_list(),
                    "score": round(float(fe.face.score), 3),
                    "emotion": fe.scores.emotion,
                    "confidence": round(fe.scores.confidence, 4),
                    "scores": fe.scores.as_dict(),
                }
                for fe in self.faces
            ],
            "emotion": self.emotion,
            "mood": self.mood,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "model": self.model,
        }


class Pipeline:
    def __init__(
        self,
        detector: FaceDetector,
        model: ExpressionModel,
        *,
        max_faces: int = MAX_FACES,
        max_pixels: int = imageio.MAX_PIXELS,
        max_bytes: int = imageio.MAX_BYTES,
        reduced_side: int | None = REDUCED_SIDE,
    ):
        self.detector = detector
        self.model = model
        self.max_faces = max_faces
        self.max_pixels = max_pixels
        self.max_bytes = max_bytes
        self.reduced_side = reduced_side  # None: always decode at full detail
        self.calibration = _calibration_of(model)

    @classmethod
    def load(
        cls,
        *,
        detector: str = DEFAULT_DETECTOR,
        emotion_model: Path | str | None = None,
        ensemble: Path | str | None = ENSEMBLE_JSON,
        warm_up: bool = True,
        **kwargs,
    ) -> Pipeline:
        """Load the detector and the face models once; warm them so the first user isn't slow.

        The served model is the ensemble of models/face_ensemble.json; `emotion_model` (or a
        missing ensemble file) serves that FER-2013 .tflite alone, as the benches compare."""
        face_detector = load_detector(detector)
        if emotion_model is None and ensemble is not None and Path(ensemble).is_file():
            model: ExpressionModel = load_ensemble(ensemble)
        else:
            path = Path(emotion_model or EMOTION_TFLITE)
            if not path.is_file():
                raise FileNotFoundError(
                    f"emotion model not found: {path} (build it with `python -m training.train_emotion`)")
            model = FerExpression(EmotionClassifier(path), margin=face_detector.crop_margin,
                                  shift=face_detector.crop_shift)
        pipeline = cls(face_detector, model, **kwargs)
        if warm_up:
            pipeline.warm_up()
        return pipeline

    @property
    def model_name(self) -> str:
        return self.model.name

    @property
    def fer(self) -> FerExpression | None:
        """The FER-2013 member (alone or in the ensemble), for the benches that crop for it."""
        if isinstance(self.model, FerExpression):
            return self.model
        members = getattr(self.model, "members", ())
        return next((m.model for m in members if isinstance(m.model, FerExpression)), None)

    def warm_up(self) -> None:
        rgb = np.full((256, 256, 3), 128, np.uint8)
        image = imageio.DecodedImage(rgb, rgb[..., 0].copy(), (256, 256), 1.0, "RAW")
        self.detector.detect(image)
        self.model.predict_proba(image, [(64.0, 64.0, 128.0, 128.0)])

    def analyze(self, data: bytes) -> Analysis:
        """Raises `imageio.ImageError` (with a `user_message`) for bytes that are no usable image."""
        t0 = time.perf_counter()
        image = imageio.decode(data, max_pixels=self.max_pixels, max_bytes=self.max_bytes,
                               reduced_side=self.reduced_side)
        t1 = time.perf_counter()
        found = self.detector.detect(image)[: self.max_faces]
        redecode = 0.0
        if found and image.reduced and _too_small(found[0].box, image.scale):
            # The detector found the face; the models need more of its pixels than the reduced
            # decode kept. Boxes are in original pixels, so they hold for the new decode too.
            r0 = time.perf_counter()
            image = imageio.decode(data, max_pixels=self.max_pixels, max_bytes=self.max_bytes)
            redecode = time.perf_counter() - r0
        boxes = [to_working(f.box, image.scale) for f in found]
        # A drawing, an emoji or a colour chart can fool the detector; it gets the no-face reply.
        photo = photographed(image, boxes)
        faces = [f for f, ok in zip(found, photo) if ok]
        boxes = [b for b, ok in zip(boxes, photo) if ok]
        t2 = time.perf_counter()
        probs = self.model.predict_proba(image, boxes) if faces else []
        t3 = time.perf_counter()
        results = [FaceEmotion(face, EmotionScores(tuple(float(p) for p in row)))
                   for face, row in zip(faces, probs)]
        top = results[0].scores if results else None
        return Analysis(
            faces=results,
            emotion=top.emotion if top else None,
            mood=mood_for(top.emotion) if top else None,
            confidence=top.confidence if top else None,
            image_size=image.original_size,
            model=self.model.name,
            timings_ms={
                "decode": (t1 - t0 + redecode) * 1000,
                "detect": (t2 - t1 - redecode) * 1000,
                "classify": (t3 - t2) * 1000,
            },
        )


def _calibration_of(model: ExpressionModel) -> Calibration:
    """The confidence scaling and ask threshold fitted for the model served: the ensemble's own,
    else the FER-2013 model's file (read once, here)."""
    own = getattr(model, "calibration", None)
    if own is not None:
        return own
    return Calibration.load(CALIBRATION_JSON) if CALIBRATION_JSON.is_file() else Calibration()


def _too_small(box: Box, scale: float) -> bool:
    """Whether the face models' largest patch of this face would be upscaled in the working image."""
    return max(box.w, box.h) / scale * HSE_CROP_SCALE < HSE_INPUT_SIZE


def to_working(box: Box, scale: float) -> tuple[float, float, float, float]:
    """Original-image box → the working image's (sub)pixels, where the crop is cut."""
    return (box.x / scale, box.y / scale, box.w / scale, box.h / scale)
