"""Logging: one line per handled update (outcomes, not content), secrets redacted, user ids hashed.

httpx logs every request URL at INFO, and Bot API URLs contain the token, so httpx/httpcore are
held at WARNING and, as a second line of defence, every formatted line (tracebacks included)
has the token and webhook secret replaced.

tornado (the webhook server) logs what clients send it, e.g. a malformed header's whole value at
INFO for every request: those lines pass `ClientLogGate`, which cuts them at the first quoted
value, to one line, at most once per client per minute and a bounded number a minute overall.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import logging
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
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


class ClientLogGate(logging.Filter):
    """Bounds what clients can make a logger write: each line is cut before its first quoted value
    (a header, a path, a body) and at 160 characters; one line per client per `interval_s`, at most
    `per_interval` lines in all per interval, and a count of what was dropped with the next line let
    through."""

    _CLIENT = re.compile(r"\bfrom (\S+?):? ")

    def __init__(self, interval_s: float = 60.0, per_interval: int = 20, clients: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s, self.per_interval, self._clock = interval_s, per_interval, clock
        self._last: OrderedDict[str, float] = OrderedDict()  # client → when it last got a line
        self._clients = clients
        self._window = (0.0, 0)  # start of the interval, lines let through in it
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001  (a malformed record: keep only its template)
            text = str(record.msg)
        now = self._clock()
        found = self._CLIENT.search(text)
        client = found.group(1) if found else f"{record.name}:{record.msg}"
        start, count = self._window
        if now - start >= self.interval_s:
            start, count = now, 0
        last = self._last.get(client)
        if count >= self.per_interval or (last is not None and now - last < self.interval_s):
            self.dropped += 1
            self._window = (start, count)
            return False
        self._last[client] = now
        self._last.move_to_end(client)
        while len(self._last) > self._clients:
            self._last.popitem(last=False)
        self._window = (start, count + 1)
        cut = re.split(r"['\"]", text, maxsplit=1)[0].rstrip(" :(")
        cut = " ".join(cut.split())[:160]  # one line, whatever the client sent
        if self.dropped:
            cut += f" ({self.dropped} more such lines dropped)"
            self.dropped = 0
        record.msg, record.args, record.exc_info, record.exc_text = cut, None, None, None
        return True


# tornado's loggers that write what clients send (tornado.access is off: see bot.webhook).
CLIENT_LOGGERS = ("tornado.general", "tornado.application", "tornado.access")


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
    gate = ClientLogGate()
    for name in CLIENT_LOGGERS:
        client_logger = logging.getLogger(name)
        for old_gate in [f for f in client_logger.filters if isinstance(f, ClientLogGate)]:
            client_logger.removeFilter(old_gate)
        client_logger.addFilter(gate)


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
