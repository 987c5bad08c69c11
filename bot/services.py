"""What the handlers need at run time, created once at start-up and closed at shutdown."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram.ext import ContextTypes

from recommender.music.service import SongService
from recommender.store.base import HistoryStore
from recommender.vision.calibration import Calibration, shipped

from .charts import Charts
from .config import BOT_API_CONNECTIONS, Config
from .downloads import Downloader
from .i18n import Languages
from .limits import Floods

if TYPE_CHECKING:  # loads OpenCV and LiteRT: imported when serving starts, not by --health
    from recommender.pipeline import Analysis, Pipeline

KEY = "services"


@dataclass
class Services:
    config: Config
    pipeline: Pipeline
    songs: SongService
    executor: ThreadPoolExecutor
    bot_username: str | None = None
    calibration: Calibration = field(default_factory=shipped)  # read once, at start-up
    languages: Languages = field(default_factory=Languages.load)  # the catalogs, read once
    floods: Floods = field(init=False)
    downloads: Downloader = field(init=False)
    charts: Charts = field(init=False)  # the diary's own pool: charts never queue before selfies
    photo_turns: asyncio.Semaphore = field(init=False)  # photos downloaded or being read (PHOTOS_IN_FLIGHT)

    def __post_init__(self) -> None:
        c = self.config
        self.floods = Floods(c.photos_per_minute, c.texts_per_minute, c.presses_per_minute)
        self.downloads = Downloader(c.max_download_bytes, connections=min(c.max_concurrent_updates, BOT_API_CONNECTIONS))
        self.charts = Charts()
        self.photo_turns = asyncio.Semaphore(c.photos_in_flight)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.charts.close)
        await self.downloads.aclose()
        await self.store.close()

    @property
    def store(self) -> HistoryStore:
        return self.songs.store

    async def analyze(self, data: bytes) -> Analysis:
        """Decode + detect + classify in the bounded worker pool, never on the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.pipeline.analyze, data)


def get(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data[KEY]
