"""Third-party data the tests read from ../shared/data (MML_DATA_DIR): present, or a one-line skip.

On a laptop without the data a test that needs it is skipped with the path it looked for; in CI
(CI=true) the data must be there, so its absence fails the test instead.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from recommender.paths import shared_data_dir


def require(*parts: str) -> Path:
    path = shared_data_dir().joinpath(*parts)
    if path.exists():
        return path
    reason = f"third-party data not found: {path} (set MML_DATA_DIR to the shared data folder; README, Tests)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
