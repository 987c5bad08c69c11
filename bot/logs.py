"""Logging: one line per handled update, secrets redacted, user ids hashed.

httpx logs every request URL at INFO, and Bot API URLs contain the token, so httpx/httpcore are
held at WARNING and, as a second line of defence, every formatted line (tracebacks included)
has the token and webhook secret replaced.
"""
from __future__ import annotations

import contextvars
import hashlib
import hmac
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

LOG = logging.getLogger("bot")
UPDATES = logging.getLogger("bot.updates")


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text


def configure(level: str, secrets: Iterable[str], stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party loggers are capped whatever LOG_LEVEL says: at DEBUG/INFO they print request
    # URLs (with the token), raw chat ids, message texts and SQL parameters.
    for noisy in ("httpx", "httpcore", "aiosqlite", "tornado.access", "apscheduler", "PIL", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLevelName(level)))


def log_key(token: str) -> bytes:
    """Key for hashing user ids in logs: derived from the token, so stable across restarts and
    unknown to anyone reading the logs, without another secret to configure."""
    return hashlib.sha256(b"mood-bot-log-key:" + token.encode()).digest()


def user_tag(user_id: int | None, key: bytes) -> str:
    """A stable pseudonym for a user in logs: keyed, so it cannot be reversed by brute force."""
    if user_id is None:
        return "-"
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:12]


@dataclass
class UpdateTrace:
    """What happened to one update; handlers fill it in, the processor logs it once."""

    update_id: int
    kind: str
    user: str
    outcome: str = "unhandled"
    flood: str = "allow"  # allow | warn (the handler replies politely instead of working)
    fields: dict[str, object] = field(default_factory=dict)

    def done(self, outcome: str, **fields: object) -> None:
        self.outcome = outcome
        self.fields.update(fields)

    def line(self, latency_ms: float) -> str:
        extra = "".join(f" {k}={v}" for k, v in self.fields.items())
        return (f"update={self.update_id} kind={self.kind} user={self.user} outcome={self.outcome}"
                f"{extra} latency_ms={latency_ms:.0f}")


_current: contextvars.ContextVar[UpdateTrace | None] = contextvars.ContextVar("update_trace", default=None)


def current_trace() -> UpdateTrace:
    """The trace of the update being handled (a throwaway one outside update processing)."""
    trace = _current.get()
    if trace is None:
        trace = UpdateTrace(update_id=-1, kind="?", user="-")
        _current.set(trace)
    return trace


def set_trace(trace: UpdateTrace) -> contextvars.Token:
    return _current.set(trace)
