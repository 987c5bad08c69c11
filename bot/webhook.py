"""The webhook server: Telegram POSTs updates here (behind the operator's TLS reverse proxy).

PTB's built-in server reads a whole body (up to tornado's 100 MB default) before it checks the
secret, answers malformed JSON with 500 (which Telegram retries) and logs payloads. This one:
- checks `X-Telegram-Bot-Api-Secret-Token` in `prepare()`, before any of the body is read;
- caps the body at MAX_BODY_BYTES (Telegram's updates are a few KiB), by Content-Length up front
  and by counting streamed bytes;
- answers malformed JSON with 400, and a valid-JSON update the library cannot parse with 200
  (skipped and logged once; anything else and Telegram would resend it forever);
- never logs a payload; a GET with the secret is a liveness probe (the heartbeat uses it).
"""
from __future__ import annotations

import hmac
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import tornado.httpserver
import tornado.netutil
import tornado.routing
import tornado.web
from telegram.ext import Application

from .updates import parse_update

LOG = logging.getLogger("bot.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024


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
        except ValueError:
            self._refuse(400)
            return
        update = parse_update(data, self.server.app.bot)  # type: ignore[arg-type]
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
        self._server = tornado.httpserver.HTTPServer(
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
