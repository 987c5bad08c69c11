"""Bounded downloads of the files people send: streamed, counted, stopped at the size limit.

PTB's File.download_as_bytearray reads a whole response into memory whatever its size, so a
file whose size Telegram does not tell would be read to its end. Here the body is streamed with
a running byte count and the download stops as soon as it passes the limit. The overall time
bound is the caller's (it also covers getFile).
"""
from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from .tls import client_tls

CHUNK = 64 * 1024


class DownloadError(Exception):
    """A download that did not give us the file; the message names no URL (it holds the token)."""


class TooLarge(DownloadError):
    def __init__(self, size: int | None) -> None:
        super().__init__("too large")
        self.size = size  # None: only known to be over the limit


class DownloadFailed(DownloadError):
    pass


class Downloader:
    def __init__(self, max_bytes: int, *, connections: int = 64) -> None:
        self.max_bytes = max_bytes
        self._limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # created on first use, inside the running event loop
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=10.0), limits=self._limits,
                                             headers={"Accept-Encoding": "identity"}, verify=client_tls())
        return self._client

    async def fetch(self, url: str) -> bytes:
        """The file at `url` (a Bot API file URL), in memory; TooLarge past max_bytes."""
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(path=quote(parts.path)))
        try:
            async with self._http().stream("GET", url) as response:
                if response.status_code != 200:
                    raise DownloadFailed(f"HTTP {response.status_code}")
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                    raise TooLarge(int(declared))
                data = bytearray()
                async for chunk in response.aiter_raw(CHUNK):
                    data += chunk
                    if len(data) > self.max_bytes:
                        raise TooLarge(None)
                return bytes(data)
        except httpx.HTTPError as exc:
            raise DownloadFailed(type(exc).__name__) from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
