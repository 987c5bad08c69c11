"""What a self-hoster meets around the bot: the Makefile's interpreter check and where .env is read."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.paths import PROJECT_ROOT



def _old_python() -> str | None:
    """A working Python 3.10 to play the wrong interpreter (a pyenv shim may exist but not run)."""
    candidates = [shutil.which("python3.10"), *map(str, Path.home().glob(".pyenv/versions/3.10*/bin/python3.10"))]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True, timeout=30).returncode == 0:
            return candidate
    return None


OLD_PYTHON = _old_python()


def make(*args: str, cwd=PROJECT_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(PROJECT_ROOT), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(OLD_PYTHON is None, reason="no python3.10 on this machine to play the wrong interpreter")
def test_too_old_python_fails_in_one_line_before_making_a_venv(tmp_path):
    venv = tmp_path / "venv"
    proc = make("run", f"PYTHON={OLD_PYTHON}", f"VENV={venv}")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[0] == (
        f"error: {OLD_PYTHON} is Python 3.10 but the bot needs 3.11 or newer: run make PYTHON=python3.11 run")
    assert not venv.exists()


@pytest.mark.skipif(OLD_PYTHON is None, reason="no python3.10 on this machine to make a stale venv")
def test_a_venv_made_by_another_python_is_rebuilt(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([OLD_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    proc = make("venv", f"PYTHON={sys.executable}", f"VENV={venv}")
    assert proc.returncode == 0, proc.stderr
    version = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == str(tuple(sys.version_info[:2]))


def test_make_help_lists_clean_and_the_python_option():
    out = make("help").stdout
    assert "make clean" in out and "PYTHON=" in out and "make test-slow" in out


@pytest.fixture
def env_beside_the_code():
    path = PROJECT_ROOT / ".env"
    if path.exists():
        pytest.skip("a real .env sits beside the code; not touching it")
    path.write_text("TELEGRAM_BOT_TOKEN=123456:from-the-dotenv-file-0123456789\n")
    try:
        yield path
    finally:
        path.unlink()


def test_dotenv_beside_the_code_is_read_from_any_directory(env_beside_the_code, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_PATH"] = str(tmp_path / "h.sqlite3")
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    proc = subprocess.run([sys.executable, "-m", "bot", "--health"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    # With the token read, --health gets as far as the database (no heartbeat yet).
    assert "TELEGRAM_BOT_TOKEN is not set" not in proc.stderr
    assert "no heartbeat" in proc.stderr and proc.returncode == 1
