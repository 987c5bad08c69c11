"""A small round-robin HTTP proxy on loopback, standing in for the TLS proxy in front of replicas.

Each request goes to the next backend in turn; a backend that refuses the connection is skipped
(as Caddy's lb_try_duration does), so killing a replica moves its share to the others.
"""
from __future__ import annotations

import itertools

import tornado.httpclient
import tornado.httpserver
import tornado.netutil
import tornado.web


class RoundRobinProxy:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self.forwarded: list[str] = []  # the backend of each forwarded request
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    async def start(self) -> RoundRobinProxy:
        app = tornado.web.Application([(r"/.*", _Forward, {"proxy": self})], log_function=lambda h: None)
        self._server = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class _Forward(tornado.web.RequestHandler):
    def initialize(self, proxy: RoundRobinProxy) -> None:
        self.proxy = proxy

    async def post(self) -> None:
        client = tornado.httpclient.AsyncHTTPClient()
        headers = {k: v for k, v in self.request.headers.items() if k.lower() not in ("host", "content-length")}
        for _ in range(len(self.proxy.backends)):
            backend = self.proxy.backends[next(self.proxy._next)]
            try:
                response = await client.fetch(backend + self.request.uri, method="POST", headers=headers,
                                              body=self.request.body, raise_error=False, request_timeout=30)
            except OSError:  # connection refused: that replica is down, try the next
                continue
            if response.code == 599:  # tornado's code for a failed connection
                continue
            self.proxy.forwarded.append(backend)
            self.set_status(response.code)
            self.finish(response.body)
            return
        self.set_status(502)
        self.finish(b"no backend")
