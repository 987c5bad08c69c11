"""Fixtures shared by the test modules; helper functions live in bot_harness.py."""
from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from fake_telegram import FakeTelegram
from pg_server import PostgresServer

# No test reads the user's .env: with a real token, a bot under test would talk to real Telegram
# (deleting a webhook, stealing updates). Every process started from here inherits this.
os.environ["MML_ENV_FILE"] = os.devnull
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _loopback_only(address: object) -> None:
    """Refuse, in the test process, any connection that would leave the machine."""
    if not isinstance(address, tuple):
        return  # a Unix socket (PostgreSQL's) is local by definition
    host = str(address[0]).split("%")[0]
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local:
        raise ConnectionRefusedError(f"a test tried to reach {host}: tests talk to loopback only")


def _guarded_connect(self, address):
    _loopback_only(address)
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    _loopback_only(address)
    return _connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


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
