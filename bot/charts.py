"""Diary charts drawn apart from the selfies: their own one-thread pool, one chart per user at a
time, and each user's last chart reused for a few minutes while their moods are unchanged.

A chart costs ~110 ms of CPU; drawn in the analysis pool, a burst of /diary queued every selfie
behind it (issue 29). Waiting for the pool is parked (bot.processing.parked): a queue of charts
holds no processing slot either.
"""
from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .processing import parked

TTL_S = 300.0  # a 30-day chart drawn five minutes ago looks the same
MAX_KEPT = 256  # users whose last chart is kept (~40 KB each)


class Charts:
    def __init__(self, *, ttl_s: float = TTL_S, max_kept: int = MAX_KEPT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")
        self._ttl_s = ttl_s
        self._max_kept = max_kept
        self._clock = clock
        self._kept: OrderedDict[int, tuple[Hashable, float, bytes]] = OrderedDict()
        self._drawing: dict[int, asyncio.Future[bytes]] = {}

    async def draw(self, user_id: int, key: Hashable, render: Callable[..., bytes], *args: Any) -> bytes:
        """render(*args) in the chart pool, unless this user's last chart had the same `key` (the
        inputs that change the picture) and is fresh. Exceptions from render propagate."""
        async with parked():
            drawing = self._drawing.get(user_id)
            if drawing is not None:  # one chart per user at a time, even if its asker gave up
                await asyncio.wait([drawing])
            kept = self._kept.get(user_id)
            if kept is not None and kept[0] == key and self._clock() - kept[1] < self._ttl_s:
                self._kept.move_to_end(user_id)
                return kept[2]
            future = asyncio.get_running_loop().run_in_executor(self._pool, render, *args)
            self._drawing[user_id] = future
            future.add_done_callback(lambda f: self._done(user_id, key, f))
            return await asyncio.shield(future)  # a cancelled asker leaves the drawing to finish

    def _done(self, user_id: int, key: Hashable, future: asyncio.Future[bytes]) -> None:
        if self._drawing.get(user_id) is future:
            del self._drawing[user_id]
        if future.cancelled() or future.exception() is not None:
            return
        self._kept[user_id] = (key, self._clock(), future.result())
        self._kept.move_to_end(user_id)
        while len(self._kept) > self._max_kept:
            self._kept.popitem(last=False)

    def close(self) -> None:
        """Let a chart being drawn finish; blocking, so call it off the event loop."""
        self._pool.shutdown(wait=True, cancel_futures=True)
