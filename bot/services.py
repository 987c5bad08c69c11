"""What the handlers need at run time, created once at start-up and closed at shutdown."""
from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from telegram.ext import ContextTypes

from recommender.history import HistoryStore

from .config import Config

KEY = "services"
ENRICH_TIMEOUT_S = 1.5


@dataclass
class Services:
    config: Config
    pipeline: Any  # recommender.pipeline.Pipeline (imported lazily: it loads OpenCV and LiteRT)
    catalog: Any  # recommender.catalog.Catalog
    store: HistoryStore
    executor: ThreadPoolExecutor
    bot_username: str | None = None
    enricher: Any = None  # recommender.spotify.Enricher when Spotify credentials are set

    async def enrich(self, song: Any) -> Any:
        """Album/cover/preview from Spotify, or None: never more than ENRICH_TIMEOUT_S late."""
        if self.enricher is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.enricher.enrich, song), ENRICH_TIMEOUT_S)
        except Exception:  # timeout or any Spotify trouble: answer from the catalog alone
            return None

    async def analyze(self, data: bytes) -> Any:
        """Decode + detect + classify in the bounded worker pool, never on the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.pipeline.analyze, data)


def log_key(token: str) -> bytes:
    """Key for hashing user ids in logs: derived from the token, so stable across restarts and
    unknown to anyone reading the logs, without another secret to configure."""
    return hashlib.sha256(b"mood-bot-log-key:" + token.encode()).digest()


def get(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data[KEY]
