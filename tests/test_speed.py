"""Issue 28 (speed): the faster paths give the same answers as the plain ones, and the bot reports
its event-loop lag."""
from __future__ import annotations

import asyncio
import io
import logging
import random
import time
from collections import Counter, deque

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from recommender.music.catalog import Catalog, _order_for_user, _spread_order
from bot.looplag import watch_loop_lag
from shared_data import require
from recommender.pipeline import Pipeline
from recommender.vision import imageio


def _spread_reference(artists: list[int], gap: int) -> list[int]:
    """The artist spacing as first written (before issue 28): every waiting song listed per step."""
    n = len(artists)
    out: list[int] = []
    recent: deque[int] = deque()
    blocked: Counter[int] = Counter()
    last_used: dict[int, int] = {}
    start = 0
    taken = [False] * n
    while start < n:
        if taken[start]:
            start += 1
            continue
        pick = start
        if blocked[artists[start]]:
            waiting = [i for i in range(start, n) if not taken[i]]
            pick = next((i for i in waiting if not blocked[artists[i]]), None)
            if pick is None:
                pick = min(waiting, key=lambda i: (last_used[artists[i]], i))
        taken[pick] = True
        out.append(pick)
        last_used[artists[pick]] = len(out)
        recent.append(artists[pick])
        blocked[artists[pick]] += 1
        if len(recent) >= gap:
            blocked[recent.popleft()] -= 1
    return out


@pytest.mark.parametrize("seed", range(40))
def test_spread_order_is_the_same_order_as_before(seed: int) -> None:
    rnd = random.Random(seed)
    n = rnd.randint(0, 300)
    artists = [rnd.randint(0, rnd.choice((1, 3, 8, 40))) for _ in range(n)]
    gap = rnd.randint(1, 12)
    assert _spread_order(artists, gap) == _spread_reference(artists, gap)


def test_a_new_users_order_of_the_largest_mood_is_cheap() -> None:
    """Read whole (a user who has heard most of a mood), a new user's order of the shipped catalog's
    largest mood (happy, ~6,000 songs) took ~14 ms of CPU; the lazy scan ~1.6 ms; computed as
    far as it is read (a photo reads a few songs: tests/test_song_choice_speed.py), ~3 ms."""
    catalog = Catalog.load()
    mood = max(catalog.moods, key=lambda m: len(catalog.songs(m)))
    spent = []
    for user_id in range(900_001, 900_004):  # fresh users: the order cache never has them
        started = time.process_time()
        order = list(_order_for_user(catalog, mood, user_id))
        spent.append(time.process_time() - started)
        assert sorted(s.track_id for s in order) == sorted(s.track_id for s in catalog.songs(mood))
    assert min(spent) < 0.006, f"{min(spent) * 1000:.1f} ms of CPU for one user's order"


async def test_a_blocked_event_loop_is_reported() -> None:
    seen: list[str] = []
    reported = asyncio.Event()

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())
            reported.set()

    logger = logging.getLogger("bot.looplag")
    handler = Catch()
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    watch = asyncio.create_task(watch_loop_lag(tick_s=0.005, window_s=0.05, report_ms=30))
    try:
        await asyncio.sleep(0)  # the watcher starts and asks to wake in 5 ms
        time.sleep(0.08)  # a callback that blocks the loop for 80 ms
        await asyncio.wait_for(reported.wait(), 5)
    finally:
        watch.cancel()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    fields = dict(part.split("=") for part in seen[0].split()[1:])
    assert seen[0].startswith("loop_lag ")
    assert float(fields["max_ms"]) >= 60
    assert int(fields["over_20ms"]) >= 1


async def test_a_healthy_loop_logs_nothing() -> None:
    seen: list[logging.LogRecord] = []
    logger = logging.getLogger("bot.looplag")
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    watch = asyncio.create_task(watch_loop_lag(tick_s=0.005, window_s=0.03, report_ms=1000))
    try:
        for _ in range(20):
            await asyncio.sleep(0.005)
    finally:
        watch.cancel()
        logger.removeHandler(handler)
    assert seen == []


# --- JPEGs decoded at reduced size --------------------------------------------------------------

def _jpeg(img: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_a_selfie_jpeg_decodes_at_half_size_and_a_huge_one_as_before() -> None:
    selfie = _jpeg(Image.new("RGB", (1280, 960), (120, 90, 60)))
    reduced = imageio.decode(selfie, reduced_side=640)
    assert (reduced.size, reduced.reduced, reduced.scale) == ((640, 480), True, 2.0)
    assert imageio.decode(selfie).size == (1280, 960)
    huge = _jpeg(Image.new("RGB", (4000, 3000), (120, 90, 60)), quality=70)
    assert imageio.decode(huge, reduced_side=640).size == imageio.decode(huge).size == (1000, 750)
    assert not imageio.decode(huge, reduced_side=640).reduced  # nothing more to gain: no redo


@pytest.fixture(scope="module")
def full_detail(pipeline):  # the same models, every JPEG decoded at full detail (as before)
    return Pipeline(pipeline.detector, pipeline.model, reduced_side=None)


@pytest.mark.parametrize("name", ["neutral_006.jpg", "neutral_011.jpg"])
def test_a_small_face_is_read_at_full_detail(pipeline, full_detail, name: str) -> None:
    """A dev photo shrunk into a 2560×1920 frame: its face is ~70 px in the 640 px reduced decode,
    under the 224 px patch HSEmotion cuts, so the models read it from the full-detail decode (read
    from the reduced one, these two faces' probabilities moved by 0.04 and 0.07)."""
    face = Image.open(require("photos", name)).convert("RGB")
    canvas = Image.new("RGB", (2560, 1920), (90, 100, 110))
    canvas.paste(face.resize((800, round(800 * face.height / face.width))), (200, 300))
    photo = _jpeg(canvas)
    fast, slow = pipeline.analyze(photo), full_detail.analyze(photo)
    assert len(fast.faces) == len(slow.faces) == 1
    assert fast.emotion == slow.emotion
    assert np.abs(np.subtract(fast.faces[0].scores.probs, slow.faces[0].scores.probs)).max() < 0.01


def test_a_phone_selfie_reads_the_same_from_the_reduced_decode(pipeline, full_detail) -> None:
    astronaut = Image.fromarray(skdata.astronaut()).resize((1280, 1280)).crop((0, 160, 1280, 1120))
    photo = _jpeg(astronaut)
    fast, slow = pipeline.analyze(photo), full_detail.analyze(photo)
    assert fast.emotion == slow.emotion == "happy"
    assert np.abs(np.subtract(fast.faces[0].scores.probs, slow.faces[0].scores.probs)).max() < 0.02


def test_httpcore_tells_asyncio_without_walking_sys_path() -> None:
    """httpcore asks for sniffio several times a request; a failed import scanned sys.path each
    time (~50 µs). The bot marks it absent once (bot.app.spare_sniffio_lookups)."""
    from httpcore._synchronization import current_async_library

    from bot.app import spare_sniffio_lookups

    spare_sniffio_lookups()
    started = time.process_time()
    for _ in range(2000):
        assert current_async_library() == "asyncio"
    spent = time.process_time() - started
    assert spent < 0.04, f"{spent / 2000 * 1e6:.0f} µs a call"


def test_the_analysis_pool_is_sized_to_the_cores_unless_set() -> None:
    import os

    from bot.config import Config

    token = "123456:" + "A" * 35
    cores = len(os.sched_getaffinity(0))
    assert Config.from_env({"TELEGRAM_BOT_TOKEN": token}).workers == min(cores, 6)
    assert Config.from_env({"TELEGRAM_BOT_TOKEN": token, "WORKERS": "3"}).workers == 3
