"""Shared helpers for the bot tests: the real bot running against the fake Bot API, images.

The fixtures (`fake`, `pipeline`) are in conftest.py.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import struct
import zlib
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from bot.app import serve
from bot.config import Config
from fake_telegram import FakeTelegram
from shared_data import require

FIXTURE_CATALOG = Path(__file__).parent / "fixtures" / "catalog_small.csv"
SONGS_PER_MOOD = 12  # in FIXTURE_CATALOG
TIMEOUT = 20.0


def bot_config(fake: FakeTelegram, tmp_path: Path, **env: str) -> Config:
    return Config.from_env({
        **fake.env(),
        "DATABASE_PATH": str(tmp_path / "data" / "mood.sqlite3"),
        "CATALOG_PATH": str(FIXTURE_CATALOG),
        **env,
    })


@contextlib.asynccontextmanager
async def running_bot(config: Config, pipeline, catalog=None) -> AsyncIterator[object]:
    """The real bot (bot.app.serve, as `python -m bot` runs it) until the block ends."""
    stop = asyncio.Event()
    ready = asyncio.Event()
    apps: list[object] = []

    def on_ready(app: object) -> None:
        apps.append(app)
        ready.set()

    task = asyncio.create_task(serve(config, stop, pipeline=pipeline, catalog=catalog, on_ready=on_ready))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()  # raises the start-up error
        raise AssertionError("the bot stopped before it was ready")
    if not done:
        task.cancel()
        raise AssertionError("the bot did not start in time")
    try:
        yield apps[0]
    finally:
        stop.set()
        await asyncio.wait_for(task, TIMEOUT)


# --- images --------------------------------------------------------------------------------

def encode(array: np.ndarray, fmt: str = "JPEG", **params) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **params)
    return buf.getvalue()


@cache
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@cache
def selfie_jpeg() -> bytes:
    """A smiling face (scikit-image's astronaut), as a phone would send it."""
    return encode(astronaut(), quality=90)


@cache
def no_face_jpeg() -> bytes:
    from skimage import data

    return encode(data.coffee(), quality=90)


@cache
def huge_jpeg() -> bytes:
    """A 4000×4000 photo with the face in it."""
    return encode(np.asarray(Image.fromarray(astronaut()).resize((4000, 4000), Image.BILINEAR)),
                  quality=85)


def group_photo_jpeg() -> bytes:
    """Two faces side by side: the real photos from ../shared/data/photos, the left one larger."""
    photos = sorted(require("photos").glob("happy_*.jpg"))
    left = np.asarray(Image.open(photos[0]).convert("RGB").resize((400, 400)))
    right = np.asarray(Image.open(photos[1]).convert("RGB").resize((300, 300)))
    canvas = np.full((440, 760, 3), 255, np.uint8)
    canvas[20:420, 20:420] = left
    canvas[70:370, 440:740] = right
    return encode(canvas, quality=92)


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims width×height pixels (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)  # a few rows; enough to look real
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
