"""Fixtures shared by the test modules; helper functions live in bot_harness.py."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from fake_telegram import FakeTelegram
from pg_server import PostgresServer


@pytest.fixture(scope="session")
def pipeline():
    """The shipped models, loaded once: loading is the slow part and the pipeline is thread-safe."""
    from recommender.pipeline import Pipeline

    return Pipeline.load()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on loopback for the whole run; each test creates its own database."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        with contextlib.suppress(RuntimeError):  # a test may have stopped it
            server.stop()
        server.remove()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The loopback Bot API, fresh per test."""
    server = await FakeTelegram().start()
    try:
        yield server
    finally:
        await server.stop()
