"""Bot API connections: one HTTP client implementation on aiohttp, and one TLS context for every bot.

PTB's default client (httpx) costs about 0.55 ms more CPU per Bot API call than aiohttp's, measured
against the sandbox: 0.81-0.89 ms against 0.33 ms per sendMessage, the sandbox's share included in both. A
reply is at least one call, so the sender pays it for every answer. `AiohttpRequest` is PTB's `BaseRequest`
on aiohttp. It makes the same request a `HTTPXRequest` makes: form-encoded parameters, multipart when files
go. PTB's base class turns the answer into results and errors. A timeout becomes `TimedOut` and any other
failure to talk to the server becomes `NetworkError`, as with httpx.

httpx built a TLS context (and loaded the whole CA bundle) for each client: about 0.9 MB and 25 ms of
CPU each, measured. Each creator's bot holds four clients (the Application's two, the sender's two). One
context, made once, serves them all (an `ssl.SSLContext` may be shared between clients and threads).
"""

from __future__ import annotations

import ssl
from functools import cache

import aiohttp
import httpx
from telegram import Bot
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

GET_UPDATES_POOL = 1  # one long poll at a time, as PTB's own default
SEND_POOL = 256  # PTB's default for everything else


@cache
def tls_context() -> ssl.SSLContext:
    """The context PTB's httpx client would make (certifi's CA bundle; SSL_CERT_FILE and the like honoured)."""
    return httpx.create_ssl_context()


class AiohttpRequest(BaseRequest):
    """PTB's HTTP client seam on aiohttp. The session is made in `initialize`, in the loop that uses it."""

    def __init__(self, pool: int = SEND_POOL, read_timeout: float | None = 5.0, write_timeout: float | None = 5.0,
                 connect_timeout: float | None = 5.0, media_write_timeout: float | None = 20.0) -> None:
        self._pool = pool
        self._read, self._write, self._connect = read_timeout, write_timeout, connect_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool, ssl=tls_context()),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        data: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            data = request_data.json_parameters
            if files:
                form = aiohttp.FormData()
                for name, value in data.items():
                    form.add_field(name, value)
                for name, (file_name, content, mime) in files.items():
                    form.add_field(name, content, filename=file_name, content_type=mime)
                data = form
        write = self._write if not files else self._media_write
        if not isinstance(write_timeout, DefaultValue):
            write = write_timeout
        # aiohttp has no write timeout of its own: a whole request is bounded by the sum
        total = None if read is None or write is None or connect is None else read + write + connect
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err


def request(pool: int = SEND_POOL) -> AiohttpRequest:
    return AiohttpRequest(pool)


def bot(token: str, root: str) -> Bot:
    """A Bot for `token` at the Bot API root `root` (no trailing slash)."""
    return Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot", request=request(),
               get_updates_request=request(GET_UPDATES_POOL))
