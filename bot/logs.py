"""Logging: one line per handled update (outcomes, not content), secrets redacted, user ids hashed.

httpx logs every request URL at INFO, and Bot API URLs contain the token, so httpx/httpcore are
held at WARNING and, as a second line of defence, every formatted line (tracebacks included)
has the token and webhook secret replaced.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from telegram import Update

from recommender.store.base import REQUEST_STARTED

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
    # PTB logs a server answer that is not JSON with a traceback and the raw body, then raises
    # the same error, which the bot reports in one line.
    logging.getLogger("telegram.request").setLevel(logging.CRITICAL)


def log_key(token: str) -> bytes:
    """Key for hashing user ids in logs: derived from the token, so stable across restarts and
    unknown to anyone reading the logs, without another secret to configure."""
    return hashlib.sha256(b"mood-bot-log-key:" + token.encode()).digest()


def user_tag(user_id: int | None, key: bytes) -> str:
    """A stable pseudonym for a user in logs: keyed, so it cannot be reversed by brute force."""
    if user_id is None:
        return "-"
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:12]


def update_kind(update: object) -> str:
    if not isinstance(update, Update):
        return "other"
    if update.callback_query:
        return "callback"
    msg = update.effective_message
    if msg is None:
        return "other"
    if msg.photo:
        return "photo"
    if msg.document:
        return "document"
    if msg.text:
        return "command" if msg.text.startswith("/") else "text"
    for kind in ("sticker", "video", "video_note", "voice", "audio", "animation"):
        if getattr(msg, kind, None):
            return kind
    return "other"


@dataclass
class UpdateTrace:
    """What happened to one update; handlers record the outcome, `logged_update` logs it once.

    Outcomes and counts only: never what a photo showed, a message said or a button carried."""

    update_id: int
    kind: str
    user: str
    outcome: str = "unhandled"
    fields: dict[str, object] = field(default_factory=dict)
    language: str | None = None  # the reply language, once a handler has read it

    def done(self, outcome: str, **fields: object) -> None:
        self.outcome = outcome
        self.fields.update(fields)

    def line(self, latency_ms: float) -> str:
        extra = "".join(f" {k}={v}" for k, v in self.fields.items())
        if self.language is not None:
            extra += f" lang={self.language}"
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


@contextlib.contextmanager
def logged_update(update: object, key: bytes) -> Iterator[UpdateTrace]:
    """The trace of one update for the code handling it, logged as one line when it is done
    (dropped, answered or failed), with the latency since it arrived."""
    started = time.perf_counter()
    user = update.effective_user if isinstance(update, Update) else None
    trace = UpdateTrace(update_id=getattr(update, "update_id", -1), kind=update_kind(update),
                        user=user_tag(user.id if user else None, key))
    token = _current.set(trace)
    begun = REQUEST_STARTED.set(time.time())  # a /forget after this moment wins over this update's writes
    try:
        yield trace
    finally:
        UPDATES.info(trace.line((time.perf_counter() - started) * 1000))
        REQUEST_STARTED.reset(begun)
        _current.reset(token)
