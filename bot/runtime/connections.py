"""Bot API connections: every bot of the process shares one TLS context.

httpx builds a TLS context (and loads the whole CA bundle) for each client it makes: about 0.9 MB and 25 ms of
CPU each, measured. Each creator's bot holds four clients (the Application's two, the sender's two), so a
hundred creators paid some 360 MB and 10 s of start-up for a hundred copies of the same certificates. One
context, made once, serves them all (an `ssl.SSLContext` may be shared between clients and threads).
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx
from telegram import Bot
from telegram.request import HTTPXRequest

GET_UPDATES_POOL = 1  # one long poll at a time, as PTB's own default
SEND_POOL = 256  # PTB's default for everything else


@cache
def tls_context() -> ssl.SSLContext:
    """The context httpx would make for each client (its CA bundle, SSL_CERT_FILE and the like honoured)."""
    return httpx.create_ssl_context()


def request(pool: int = SEND_POOL, **timeouts: float) -> HTTPXRequest:
    return HTTPXRequest(connection_pool_size=pool, httpx_kwargs={"verify": tls_context()}, **timeouts)  # type: ignore[arg-type]


def bot(token: str, root: str) -> Bot:
    """A Bot for `token` at the Bot API root `root` (no trailing slash)."""
    return Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot", request=request(),
               get_updates_request=request(GET_UPDATES_POOL))
