"""The webhook server: Telegram POSTs updates here (behind the operator's TLS reverse proxy).

PTB's built-in server reads a whole body (up to tornado's 100 MB default) before it checks the
secret, answers malformed JSON with 500 (which Telegram retries) and logs payloads. This one:
- checks `X-Telegram-Bot-Api-Secret-Token` in `prepare()`, before any of the body is read;
- caps the body at MAX_BODY_BYTES (Telegram's updates are a few KiB), by Content-Length up front
  and by counting streamed bytes;
- answers malformed JSON with 400, and a valid-JSON update the library cannot parse with 200
  (skipped and logged once; anything else and Telegram would resend it forever);
- answers JSON nested too deeply to parse (RecursionError) with 400 and one log line;
- never logs a payload; a GET with the secret is a liveness probe (the heartbeat uses it);
- out of file descriptors (EMFILE), stops accepting and retries with back-off instead of
  spinning on the readable listening socket, logging one line when it stops and one when it
  accepts again (tornado's own accept loop logs a traceback per try, ~6,500 a second).
"""
from __future__ import annotations

import errno
import os
import resource
import hmac
import json
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.routing
import tornado.web
from telegram.ext import Application

from .updates import parse_update

LOG = logging.getLogger("bot.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024
# accept() failures that mean "no resource for another connection now", not a broken socket.
_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
BACKOFF_S = (0.05, 2.0)  # first and longest pause of the accept loop when out of descriptors


@tornado.web.stream_request_body
class _UpdateHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("POST", "GET")  # type: ignore[assignment]

    def initialize(self, server: WebhookServer) -> None:
        self.server = server
        self._body = bytearray()

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.server.secret.encode()):
            self._refuse(403)
            return
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            self._refuse(413)

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        if len(self._body) + len(chunk) > MAX_BODY_BYTES:  # chunked bodies have no length up front
            self._body.clear()
            self._refuse(413)
            return
        self._body += chunk

    def get(self) -> None:
        self.finish(b'{"ok":true}')

    async def post(self) -> None:
        if self._finished:
            return
        try:
            data: Any = json.loads(self._body)
            update = parse_update(data, self.server.app.bot)  # type: ignore[arg-type]
        except ValueError:
            self._refuse(400)
            return
        except RecursionError:  # e.g. 200,000 nested arrays: a client's mistake, not a 5xx to retry
            LOG.warning("webhook: refused an update nested too deeply to parse (%d bytes)", len(self._body))
            self._refuse(400)
            return
        if update is None:
            self._refuse(400)  # not an update at all
            return
        self.server.on_update()
        if await self.server.first_delivery(update.update_id):
            await self.server.app.update_queue.put(update)
        self.finish(b'{"ok":true}')

    def _refuse(self, status: int) -> None:
        self.set_status(status)
        self.finish(json.dumps({"ok": False, "error_code": status}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, tornado.web.HTTPError):  # a client's mistake (e.g. a PUT): no log line
            return
        # tornado's default would print the request; one line with the error type is enough.
        LOG.error("webhook request failed: %s", typ.__name__ if typ else "?")


class _BackoffHTTPServer(tornado.httpserver.HTTPServer):
    """tornado's HTTPServer with an accept loop that backs off when out of descriptors."""

    def add_sockets(self, sockets: Any) -> None:
        for sock in sockets:  # what TCPServer.add_sockets does, with our accept handler
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = accept_with_backoff(sock, self._handle_connection)


def has_headroom(spare: int = 16) -> bool:
    """Whether `spare` more descriptors could be opened: one freed descriptor is not a recovery,
    so a limit hovering at the edge keeps one outage episode (one line), not a line per flap."""
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc (not Linux): take the accept as the recovery
        return True
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return soft == resource.RLIM_INFINITY or used + spare <= soft


def accept_with_backoff(sock: socket.socket, callback: Callable[[socket.socket, Any], None]) -> Callable[[], None]:
    """Like tornado.netutil.add_accept_handler, but when accept() fails for want of descriptors
    (or memory), stop watching the socket and try again after a pause that doubles up to
    BACKOFF_S[1]; pending clients wait in the kernel's backlog. Returns the remover."""
    loop = tornado.ioloop.IOLoop.current()
    state: dict[str, Any] = {"removed": False, "watching": True, "timer": None, "delay": BACKOFF_S[0],
                             "since": None, "tries": 0}

    def accept(fd: Any, events: int) -> None:
        for _ in range(128):  # tornado's _DEFAULT_BACKLOG: bounded work per wake-up
            if state["removed"]:
                return
            try:
                connection, address = sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno not in _EXHAUSTED:
                    raise
                pause(exc)
                return
            if state["since"] is not None and has_headroom():
                LOG.warning("webhook server accepting connections again after %.1f s (%d tries refused)",
                            time.monotonic() - state["since"], state["tries"])
                state.update(since=None, tries=0, delay=BACKOFF_S[0])
            callback(connection, address)

    def pause(exc: OSError) -> None:
        state["tries"] += 1
        if state["since"] is None:
            state["since"] = time.monotonic()
            LOG.error("webhook server out of %s (%s): not accepting connections, retrying with back-off "
                      "(raise the open-files limit, ulimit -n)",
                      "file descriptors" if exc.errno in (errno.EMFILE, errno.ENFILE) else "memory",
                      errno.errorcode.get(exc.errno or 0, "?"))
        loop.remove_handler(sock)
        state["watching"] = False
        state["timer"] = loop.call_later(state["delay"], resume)
        state["delay"] = min(state["delay"] * 2, BACKOFF_S[1])

    def resume() -> None:
        state["timer"] = None
        if not state["removed"]:
            loop.add_handler(sock, accept, tornado.ioloop.IOLoop.READ)
            state["watching"] = True

    def remove() -> None:
        state["removed"] = True
        if state["timer"] is not None:
            loop.remove_timeout(state["timer"])
        if state["watching"]:
            loop.remove_handler(sock)

    loop.add_handler(sock, accept, tornado.ioloop.IOLoop.READ)
    return remove


class ListenError(RuntimeError):
    """The webhook server cannot listen where configured; the message says what to change."""


class WebhookServer:
    """Owns the listening socket and hands parsed updates to `app.update_queue`."""

    def __init__(self, app: Application, *, listen: str, port: int, path: str, secret: str,
                 on_update: Callable[[], None] = lambda: None,
                 claim: Callable[[int], Awaitable[bool]] | None = None) -> None:
        self.app = app
        self.claim = claim
        self.listen = listen
        self.port = port
        self.path = "/" + path.strip("/")
        self.secret = secret
        self.on_update = on_update
        self._server: tornado.httpserver.HTTPServer | None = None

    async def first_delivery(self, update_id: int) -> bool:
        """False for an update another delivery (to this or another replica) already took.

        Telegram resends an update it thinks was lost; the shared database decides who keeps it.
        If the database cannot answer, the update is handled (its handler reports the trouble)."""
        if self.claim is None:
            return True
        try:
            first = await self.claim(update_id)
        except Exception as exc:
            LOG.warning("update %d: repeat check failed (%s), handling it", update_id, type(exc).__name__)
            return True
        if not first:
            LOG.info("update %d: repeated delivery skipped", update_id)
        return first

    async def start(self) -> None:
        route = tornado.routing.PathMatches(re.escape(self.path.rstrip("/")) + "/?")
        web = tornado.web.Application([(route, _UpdateHandler, {"server": self})],
                                      log_function=lambda handler: None)  # no access log lines
        # Bounds for misbehaving clients: body size, and how long headers and bodies may dawdle.
        self._server = _BackoffHTTPServer(
            web, max_body_size=MAX_BODY_BYTES, max_header_size=16 * 1024, body_timeout=30,
            idle_connection_timeout=60)
        try:
            sockets = tornado.netutil.bind_sockets(self.port, self.listen)
        except OSError as exc:
            raise ListenError(f"the webhook server cannot listen on {self.listen}:{self.port} "
                              f"({exc.strerror}): free the port or change PORT / WEBHOOK_LISTEN") from None
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    @property
    def probe_url(self) -> str:
        host = self.listen
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{self.path}"

    async def probe(self, timeout: float = 5.0) -> bool:
        """True if the server answers a request over its socket (it accepts and serves)."""
        try:
            async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
                response = await client.get(self.probe_url, headers={SECRET_HEADER: self.secret})
        except (httpx.HTTPError, OSError, socket.gaierror):
            return False
        return response.status_code == 200
