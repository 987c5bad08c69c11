"""Fixtures shared by the test modules; helper functions live in bot_harness.py."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fake_telegram import FakeTelegram


@pytest.fixture(scope="session")
def pipeline():
    """The shipped models, loaded once: loading is the slow part and the pipeline is thread-safe."""
    from recommender.pipeline import Pipeline

    return Pipeline.load()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The loopback Bot API, fresh per test."""
    server = await FakeTelegram().start()
    try:
        yield server
    finally:
        await server.stop()
