"""Intake: updates from Telegram into the database, the only queue.

Telegram redelivers only updates that were not confirmed, and an update is confirmed by the next
`getUpdates` offset. So the poller commits every fetched update to the database before it asks
for more; in webhook mode an update is stored before the 200 answer (any number of receivers can
sit behind one load balancer). The processor (bot/runtime/processor.py) claims them from there.
A redelivered update is recognised by its content and ignored. After storing, `on_stored` only
wakes this process's processor up: it carries no work.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import warnings
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.error import Conflict, EndPointNotFound, InvalidToken, NetworkError, TelegramError
from telegram.warnings import PTBUserWarning

from bot.kernel.waiting import off_loop
from bot.store.db import in_process
from bot.store.updates import next_offset, store_raw_updates

log = logging.getLogger(__name__)
# We call the Bot API through do_api_request on purpose: raw JSON in and out, no re-encoding.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

ALLOWED_UPDATES = [
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
    "message_reaction_count", "chat_member", "my_chat_member",
    "business_connection", "business_message", "edited_business_message", "deleted_business_messages",
]


Linked = Callable[[], Mapping[int, int]]  # chats ordered with another one (see `chat_key`)


def _store(sessions: sessionmaker[Session], payloads: list[dict[str, Any]], linked: Linked) -> int:
    with sessions() as session, session.begin():
        return store_raw_updates(session, payloads, linked())


class Poller:
    """Long-polls getUpdates; every batch is committed before the next call confirms it."""

    def __init__(self, bot: Bot, sessions: sessionmaker[Session], on_stored: Callable[[int], None],
                 timeout: int = 30, heartbeat: Callable[[], None] = lambda: None,
                 linked: Linked = dict, lock: Any = None) -> None:
        self.bot = bot
        self.lock = lock  # the loop's write lock, taken before a store on the loop (bot/kernel/waiting.py)
        self.linked = linked
        self.sessions = sessions
        self.on_stored = on_stored
        self.timeout = timeout
        self.heartbeat = heartbeat
        self._in_process = in_process(sessions)

    def _offset(self) -> int:
        with self.sessions() as session:
            return next_offset(session)

    async def run(self) -> None:
        offset = await asyncio.to_thread(self._offset)
        delay = 1.0
        while True:
            self.heartbeat()
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
            except (InvalidToken, EndPointNotFound) as exc:  # do_api_request reports a 401 as "endpoint not found"
                # revoked or wrong: the deployment marks this creator down and tries again later
                raise InvalidToken(str(exc)) from exc
            except (NetworkError, TelegramError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            delay = 1.0
            if not batch:
                continue
            stored = await off_loop(self._in_process, partial(_store, self.sessions, batch, self.linked), self.lock)
            ids = [u["update_id"] for u in batch if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
            if ids:
                offset = max(ids) + 1  # not max(offset, ...): ids may restart lower after a quiet week
            self.on_stored(stored)


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def secret_matches(got: str, secret: str) -> bool:
    """Constant-time comparison of the header with the configured secret; any header that is not
    ASCII (or an empty secret) simply does not match."""
    if not secret:
        return False
    return hmac.compare_digest(got.encode("utf-8", "surrogateescape"), secret.encode())


class WebhookServer:
    """Receives updates over HTTPS (behind a proxy): store, then answer 200."""

    def __init__(self, sessions: sessionmaker[Session], on_stored: Callable[[int], None], secret: str,
                 listen: str, port: int, path: str = "/telegram",
                 extra_routes: Callable[[web.Application], None] | None = None,
                 subapps: dict[str, web.Application] | None = None, linked: Linked = dict) -> None:
        self.linked = linked
        self.subapps = subapps or {}  # mounted next to the webhook (the dashboard)
        self.sessions = sessions
        self.on_stored = on_stored
        self.secret = secret
        self.listen = listen
        self.port = port
        self.path = path
        self.extra_routes = extra_routes
        self._runner: web.AppRunner | None = None

    async def receive(self, request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER, ""), self.secret):
            return web.Response(status=403, text="bad secret token")
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400, text="body is not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            stored = await asyncio.to_thread(_store, self.sessions, [payload], self.linked)
        except Exception as exc:  # not stored: Telegram (or the load balancer) must deliver it again
            log.warning("could not store update %s: %s", payload["update_id"], exc)
            return web.Response(status=503, text="storage unavailable")
        self.on_stored(stored)
        return web.Response(status=200)

    async def start(self) -> int:
        app = web.Application()
        app.router.add_post(self.path, self.receive)
        if self.extra_routes:
            self.extra_routes(app)
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
