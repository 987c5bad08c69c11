"""What some tests need from outside the project (the third-party data in ../shared/data or
MML_DATA_DIR, a PostgreSQL server): present, or a one-line skip.

On a laptop without the data a test that needs it is skipped with the path it looked for; in CI
(CI=true) the data must be there, so its absence fails the test instead.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

from recommender.paths import shared_data_dir


def require(*parts: str) -> Path:
    path = shared_data_dir().joinpath(*parts)
    if path.exists():
        return path
    unavailable(f"third-party data not found: {path} (set MML_DATA_DIR to the shared data folder; README, Tests)")


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason on a developer's machine; fail under CI=true, where it must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
