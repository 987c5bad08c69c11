"""FER-2013 (and FER+ votes) loading: CSV in the original Kaggle format → arrays.

The CSV parse takes ~10 s, so arrays are cached as an .npz beside nothing we ship
(default cache dir: ~/.cache/music-mood-lifter, configurable); an .npz can also be
passed directly (a compact way to move the data to another machine).
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.paths import shared_data_dir
from recommender.vision.preprocess import pixels_to_faces

# FER+ vote columns, reordered to FER-2013's label order (angry … neutral). Contempt, unknown
# and not-a-face votes have no FER-2013 class and are dropped.
FERPLUS_TO_FER = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]


@dataclass
class FerData:
    faces: np.ndarray            # (N, 48, 48) uint8
    labels: np.ndarray           # (N,) int64, FER-2013 labels; -1 where the file has none
    usage: np.ndarray            # (N,) str: Training / PublicTest / PrivateTest / ''
    ferplus: np.ndarray | None   # (N, 7) float32 vote distribution, rows of zeros where absent

    def split(self, usage: str) -> "FerData":
        m = self.usage == usage
        return FerData(self.faces[m], self.labels[m], self.usage[m],
                       None if self.ferplus is None else self.ferplus[m])


def default_fer_csv() -> Path:
    return shared_data_dir() / "fer2013" / "fer2013_train_publictest.csv.gz"


def default_ferplus_csv() -> Path:
    return shared_data_dir() / "ferplus" / "fer2013new.csv"


def _open_text(path: Path):
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return io.StringIO(raw.decode("utf-8"))


def read_fer_csv(path: Path) -> FerData:
    """Any CSV in FER-2013 format: `emotion,pixels[,Usage]`, gzip or plain, all rows."""
    reader = csv.DictReader(_open_text(path))
    labels, pixels, usage = [], [], []
    for row in reader:
        labels.append(int(row["emotion"]) if row.get("emotion", "") != "" else -1)
        pixels.append(row["pixels"])
        usage.append(row.get("Usage") or "")
    return FerData(pixels_to_faces(pixels), np.asarray(labels, np.int64), np.asarray(usage), None)


def read_ferplus(path: Path, n_rows: int) -> np.ndarray:
    """First `n_rows` rows of fer2013new.csv (same order as fer2013.csv) as vote distributions."""
    reader = csv.DictReader(open(path, newline=""))
    votes = np.zeros((n_rows, len(FERPLUS_TO_FER)), np.float32)
    for i, row in enumerate(reader):
        if i >= n_rows:
            break
        votes[i] = [float(row[c]) for c in FERPLUS_TO_FER]
    total = votes.sum(1, keepdims=True)
    return np.divide(votes, total, out=np.zeros_like(votes), where=total > 0)


def cache_dir() -> Path:
    return Path(os.environ.get("MML_CACHE_DIR", Path.home() / ".cache" / "music-mood-lifter"))


def load_fer(path: Path | None = None, *, with_ferplus: bool = False, use_cache: bool = True) -> FerData:
    path = Path(path or default_fer_csv())
    if path.suffix == ".npz":
        return _from_npz(path)
    cached = None
    if use_cache:
        st = path.stat()
        key = hashlib.sha1(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{with_ferplus}".encode()).hexdigest()[:16]
        cached = cache_dir() / f"fer-{key}.npz"
        if cached.exists():
            return _from_npz(cached)
    data = read_fer_csv(path)
    if with_ferplus:
        data.ferplus = read_ferplus(default_ferplus_csv(), len(data.labels))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_npz(data, cached)
    return data


def save_npz(data: FerData, path: Path) -> None:
    arrays = dict(faces=data.faces, labels=data.labels, usage=data.usage.astype("U16"))
    if data.ferplus is not None:
        arrays["ferplus"] = data.ferplus
    tmp = Path(str(path) + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def _from_npz(path: Path) -> FerData:
    z = np.load(path)
    return FerData(z["faces"], z["labels"], z["usage"], z["ferplus"] if "ferplus" in z else None)


REGRESSION_SAMPLE_RULE = "500 PublicTest rows drawn by numpy.random.default_rng(2013).choice(n, 500, replace=False)"


def regression_sample(n_publictest: int) -> np.ndarray:
    """Fixed PublicTest rows that the test suite re-scores against the model card."""
    return np.sort(np.random.default_rng(2013).choice(n_publictest, 500, replace=False))
