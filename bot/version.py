"""The installed version, for --version and the start-up log line."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed


def version() -> str:
    try:
        return _installed("music-mood-lifter")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"
