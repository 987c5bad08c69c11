"""Where the project's own artifacts and the third-party data live (one place to change)."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
CATALOG_PATH = PROJECT_ROOT / "data" / "catalog.csv"
EMOTION_TFLITE = MODELS_DIR / "emotion.tflite"
EMOTION_KERAS = MODELS_DIR / "emotion.keras"
EMOTION_CARD = MODELS_DIR / "emotion.card.json"
FACE_EXPRESSION_TFLITE = MODELS_DIR / "face_expression.tflite"
FACE_EXPRESSION_CARD = MODELS_DIR / "face_expression.card.json"


def shared_data_dir() -> Path:
    """Third-party data (FER-2013, FER+, song tables, photos): read-only, never copied in.

    `MML_DATA_DIR` overrides the default `../shared/data` beside the checkout.
    """
    return Path(os.environ.get("MML_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))


def shared_models_dir() -> Path:
    """Third-party model weights (face-api.js, HSEmotion) that `training/` converts: read-only.

    `MML_MODELS_DIR` overrides the default `../shared/models` beside the checkout.
    """
    return Path(os.environ.get("MML_MODELS_DIR", PROJECT_ROOT.parent / "shared" / "models"))
