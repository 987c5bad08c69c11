"""The deployment files agree with the code: what .env.example documents, what the image contains.

The image itself is built and run by .ci/run (it needs a Docker engine); these checks catch the
drift that would only show up there, or on a self-hoster's server.
"""
from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from bot.config import Config
from fake_telegram import TOKEN

ROOT = Path(__file__).resolve().parent.parent


class RecordingEnv(dict):
    """An environment that notes every variable the code asks for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)


def documented_env_vars() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))


def test_env_example_documents_every_variable_the_bot_reads():
    env = RecordingEnv(TELEGRAM_BOT_TOKEN=TOKEN)
    Config.from_env(env)
    assert "TELEGRAM_BOT_TOKEN" in env.asked and len(env.asked) > 5
    # Stand-in URLs for the tests' fake Spotify are not for self-hosters.
    missing = env.asked - documented_env_vars() - {"SPOTIFY_API_URL", "SPOTIFY_TOKEN_URL"}
    assert not missing, f"read by bot/config.py but not in .env.example: {sorted(missing)}"
    token = re.search(r"^TELEGRAM_BOT_TOKEN=(.*)$", (ROOT / ".env.example").read_text(), re.MULTILINE)
    assert token and not token.group(1).strip()  # no token filled in


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_base_image_can_be_swapped_and_the_image_runs_unprivileged():
    lines = [line for line in _dockerfile().splitlines() if line.strip() and not line.startswith("#")]
    # The smoke build passes --build-arg BASE_IMAGE=…: the arg must be declared before FROM uses it.
    base = re.fullmatch(r"ARG\s+BASE_IMAGE=(\S+)", lines[0])
    assert base and base.group(1).startswith("python:3")
    assert re.fullmatch(r"FROM\s+\$\{?BASE_IMAGE\}?(\s+AS\s+\S+)?", lines[1], re.IGNORECASE)
    users = re.findall(r"^USER\s+(\S+)", _dockerfile(), re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^HEALTHCHECK .*CMD \["python", "-m", "bot", "--health"\]', _dockerfile(),
                     re.MULTILINE | re.DOTALL)
    assert re.search(r"^ENV DATABASE_PATH=/data/", _dockerfile(), re.MULTILINE)
    assert re.search(r'^VOLUME\s+(\[\s*"/data"\s*\]|/data)\s*$', _dockerfile(), re.MULTILINE)
    # serving dependencies only: no extras (train/dev pull TensorFlow) and no secrets baked in
    assert "[train]" not in _dockerfile() and "[dev]" not in _dockerfile()
    assert not re.search(r"TOKEN|SECRET", _dockerfile())


def _ignored(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def test_dockerignore_keeps_secrets_and_bulk_out_but_not_what_the_image_copies():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in (".env", ".git", ".venv", "runs", ".devdata", ".whl", "tests", "models/emotion.keras",
                 "models/emotion_teacher_probs.npz"):
        assert _ignored(path, patterns), f"{path} would be sent to the Docker build"
    copied = re.findall(r"^COPY\s+(\S+)", _dockerfile(), re.MULTILINE)
    assert {"pyproject.toml", "bot", "recommender", "models", "data"} <= set(copied)
    for path in copied + ["models/emotion.tflite", "data/catalog.csv"]:
        assert not _ignored(path, patterns), f"the Dockerfile copies {path} but .dockerignore drops it"
        assert (ROOT / path).exists(), path


def test_compose_restarts_reads_env_file_and_keeps_history_on_a_named_volume():
    text = (ROOT / "compose.yaml").read_text()
    assert re.search(r"^\s+restart: unless-stopped$", text, re.MULTILINE)
    assert re.search(r"^\s+env_file: \.env$", text, re.MULTILINE)
    mount = re.search(r"^\s+- (\w[\w-]*):/data$", text, re.MULTILINE)
    assert mount, "no named volume mounted at /data"
    assert re.search(rf"^volumes:\n\s+{mount.group(1)}:", text, re.MULTILINE)
