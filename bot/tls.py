"""One TLS context for every HTTP client of the bot.

Each httpx client otherwise builds its own and loads the CA bundle again (~20 ms of CPU each; the
bot has three: two for the Bot API and one for file downloads, the last on the first photo's path).
An SSLContext is safe to share between clients, threads and event loops.
"""
from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def client_tls() -> ssl.SSLContext:
    """httpx's own default (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), built once."""
    return httpx.create_ssl_context()
