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
from .vision.emotion import EmotionClassifier
from .vision.faces import DEFAULT_DETECTOR, FaceDetector, load_detector
from .mood import mood_for
from .paths import EMOTION_TFLITE
from .vision.preprocess import FACE_SIZE, crop_face, normalize_contrast
from .types import Box, Face, FaceEmotion

# A crowd photo still gets an answer, in bounded time: the largest faces are the ones that count.
MAX_FACES = 16


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
        }


class Pipeline:
    def __init__(
        self,
        detector: FaceDetector,
        classifier: EmotionClassifier,
        *,
        max_faces: int = MAX_FACES,
        max_pixels: int = imageio.MAX_PIXELS,
        max_bytes: int = imageio.MAX_BYTES,
    ):
        self.detector = detector
        self.classifier = classifier
        self.max_faces = max_faces
        self.max_pixels = max_pixels
        self.max_bytes = max_bytes

    @classmethod
    def load(
        cls,
        *,
        detector: str = DEFAULT_DETECTOR,
        emotion_model: Path | str = EMOTION_TFLITE,
        warm_up: bool = True,
        **kwargs,
    ) -> Pipeline:
        """Load the detector and the emotion model once; warm them so the first user isn't slow."""
        emotion_model = Path(emotion_model)
        if not emotion_model.is_file():
            raise FileNotFoundError(
                f"emotion model not found: {emotion_model} (build it with `python -m training.train_emotion`)"
            )
        pipeline = cls(load_detector(detector), EmotionClassifier(emotion_model), **kwargs)
        if warm_up:
            pipeline.warm_up()
        return pipeline

    def warm_up(self) -> None:
        rgb = np.full((256, 256, 3), 128, np.uint8)
        image = imageio.DecodedImage(rgb, rgb[..., 0].copy(), (256, 256), 1.0, "RAW")
        self.detector.detect(image)
        self.classifier.predict(np.zeros((1, FACE_SIZE, FACE_SIZE), np.uint8))

    def analyze(self, data: bytes) -> Analysis:
        """Raises `imageio.ImageError` (with a `user_message`) for bytes that are no usable image."""
        t0 = time.perf_counter()
        image = imageio.decode(data, max_pixels=self.max_pixels, max_bytes=self.max_bytes)
        t1 = time.perf_counter()
        faces = self.detector.detect(image)[: self.max_faces]
        t2 = time.perf_counter()
        scores = self.classifier.predict(self.faces48(image, faces)) if faces else []
        t3 = time.perf_counter()
        results = [FaceEmotion(face, s) for face, s in zip(faces, scores)]
        top = results[0].scores if results else None
        return Analysis(
            faces=results,
            emotion=top.emotion if top else None,
            mood=mood_for(top.emotion) if top else None,
            confidence=top.confidence if top else None,
            image_size=image.original_size,
            timings_ms={
                "decode": (t1 - t0) * 1000,
                "detect": (t2 - t1) * 1000,
                "classify": (t3 - t2) * 1000,
            },
        )

    def faces48(self, image: imageio.DecodedImage, faces: list[Face]) -> np.ndarray:
        """(N, 48, 48) uint8 crops with FER-2013's framing and contrast, cut from the working image."""
        crops = [
            normalize_contrast(
                crop_face(
                    image.gray,
                    to_working(f.box, image.scale),
                    margin=self.detector.crop_margin,
                    shift=self.detector.crop_shift,
                )
            )
            for f in faces
        ]
        return np.stack(crops) if crops else np.zeros((0, FACE_SIZE, FACE_SIZE), np.uint8)


def to_working(box: Box, scale: float) -> tuple[float, float, float, float]:
    """Original-image box → the working image's (sub)pixels, where the crop is cut."""
    return (box.x / scale, box.y / scale, box.w / scale, box.h / scale)
