"""The durable update path.

Telegram redelivers only updates that were not confirmed, and an update is confirmed by the next
`getUpdates` offset. So the poller commits every fetched update to the database before it asks
for more, and the processor handles updates from the database, marking each one done in the same
transaction as the handler's own writes. A crash at any point loses nothing; a redelivered update
is ignored by its unique `update_id`. In webhook mode the update is stored before the 200 answer.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import warnings
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.error import Conflict, NetworkError, TelegramError
from telegram.warnings import PTBUserWarning

from bot.store.updates import next_offset, store_raw_updates

log = logging.getLogger(__name__)
# We call the Bot API through do_api_request on purpose: raw JSON in and out, no re-encoding.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

ALLOWED_UPDATES = [
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
    "message_reaction_count", "chat_member", "my_chat_member",
]


def _store(sessions: sessionmaker[Session], payloads: list[dict[str, Any]]) -> int:
    with sessions() as session, session.begin():
        return store_raw_updates(session, payloads)


class Poller:
    """Long-polls getUpdates; every batch is committed before the next call confirms it."""

    def __init__(self, bot: Bot, sessions: sessionmaker[Session], on_stored: Callable[[list[dict[str, Any]]], None],
                 timeout: int = 30) -> None:
        self.bot = bot
        self.sessions = sessions
        self.on_stored = on_stored
        self.timeout = timeout

    def _offset(self) -> int:
        with self.sessions() as session:
            return next_offset(session)

    async def run(self) -> None:
        offset = await asyncio.to_thread(self._offset)
        delay = 1.0
        while True:
            try:
                batch = await self.bot.do_api_request(
                    "getUpdates",
                    api_kwargs={"offset": offset, "timeout": self.timeout, "allowed_updates": ALLOWED_UPDATES},
                    read_timeout=self.timeout + 10,
                )
            except Conflict as exc:
                log.error("another poller or a webhook is active (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            except (NetworkError, TelegramError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            delay = 1.0
            if not batch:
                continue
            await asyncio.to_thread(_store, self.sessions, batch)
            ids = [u["update_id"] for u in batch if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
            if ids:
                offset = max(offset, max(ids) + 1)
            self.on_stored(batch)


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def secret_matches(got: str, secret: str) -> bool:
    """Constant-time comparison of the header with the configured secret; any header that is not
    ASCII (or an empty secret) simply does not match."""
    if not secret:
        return False
    return hmac.compare_digest(got.encode("utf-8", "surrogateescape"), secret.encode())


class WebhookServer:
    """Receives updates over HTTPS (behind a proxy): store, then answer 200."""

    def __init__(self, sessions: sessionmaker[Session], on_stored: Callable[[list[dict[str, Any]]], None], secret: str,
                 listen: str, port: int, path: str = "/telegram",
                 subapps: dict[str, web.Application] | None = None) -> None:
        self.subapps = subapps or {}  # mounted next to the webhook (the dashboard)
        self.sessions = sessions
        self.on_stored = on_stored
        self.secret = secret
        self.listen = listen
        self.port = port
        self.path = path
        self._runner: web.AppRunner | None = None

    async def _receive(self, request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER, ""), self.secret):
            return web.Response(status=403, text="bad secret token")
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400, text="body is not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        await asyncio.to_thread(_store, self.sessions, [payload])
        self.on_stored([payload])
        return web.Response(status=200)

    async def start(self) -> int:
        app = web.Application()
        app.router.add_post(self.path, self._receive)
        for prefix, sub in self.subapps.items():
            app.add_subapp(prefix, sub)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else self.port

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
