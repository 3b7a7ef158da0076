"""A local stand-in for the Telegram Bot API that speaks the real wire format.

It serves `/bot<token>/<method>` on 127.0.0.1 with form, JSON and multipart requests, long-polls
`getUpdates` with `offset`/`timeout`/`limit`, answers 409 for a second poller or while a webhook is
set, delivers to a webhook with the secret-token header, and records every call. A method it does
not implement answers 404 and is listed in `unimplemented`, which tests assert is empty.

Scenario helpers (`send_private`, `channel_post`, `comment`, ...) queue updates the way Telegram
would: a channel post is followed by its automatic forward into the linked discussion group, and
comments reply to that forward.

One server serves several bots, as Telegram's API does: `add_bot(token, bot_id=..., ...)` returns
another sandbox with its own complete state on the same port, routed by the token in the URL. A
token the server does not know, or one `revoke`d, answers 401 Unauthorized; `hub_calls` records
every request to the server with its token.
"""

from __future__ import annotations

import asyncio
import contextlib
import html.parser
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from aiohttp import BodyPartReader, ClientSession, ClientTimeout, web

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
DEFAULT_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}
_ALLOWED_HTML = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                 "span", "tg-spoiler", "tg-emoji", "blockquote"}


MAX_WEBHOOK_CONNECTIONS = 8


def _chat_of(update: JSONDict) -> Any:
    """The chat an update belongs to (None: no chat), to deliver a chat's updates one at a time."""
    body = next((v for k, v in update.items() if k != "update_id"), None)
    if not isinstance(body, dict):
        return None
    for holder in (body, body.get("message")):
        chat = holder.get("chat") if isinstance(holder, dict) else None
        if isinstance(chat, dict):
            return chat.get("id")
    sender = body.get("from")
    return ("user", sender.get("id")) if isinstance(sender, dict) else None



async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Until `event` is set or `timeout` seconds pass (`asyncio.timeout` keeps a cancellation, unlike
    `wait_for` on 3.11)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()

class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class Call:
    method: str
    params: JSONDict
    at: float
    ok: bool = True
    result: Any = None
    received: float = 0.0  # perf_counter when the request arrived
    files: dict[str, bytes] = field(default_factory=dict)


class _HTMLCheck(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_HTML and self.error is None:
            self.error = f"Bad Request: can't parse entities: Unsupported start tag \"{tag}\""

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(text: str) -> str:
    """Return the plain text of Telegram-HTML `text`, or raise ApiError 400 like Telegram."""
    # A bare "&" that starts no entity is rejected by Telegram.
    for i, ch in enumerate(text):
        if ch == "&":
            end = text.find(";", i)
            if end == -1 or end - i > 10 or not text[i + 1 : end].replace("#", "").isalnum():
                raise ApiError(400, "Bad Request: can't parse entities: unsupported entity or bare '&'")
    parser = _HTMLCheck()
    parser.feed(text)
    parser.close()
    if parser.error:
        raise ApiError(400, parser.error)
    if parser.rawdata:  # an unterminated "<..." left behind
        raise ApiError(400, "Bad Request: can't parse entities: unclosed '<'")
    return "".join(parser.text)


class BotApiSandbox:
    """The fake Bot API: state, scenario helpers and the aiohttp app.

    The one constructed and started is the primary: it runs the server. `add_bot(token, ...)` adds
    another bot to that server (a sandbox of its own, same class, same port)."""

    def __init__(
        self,
        token: str = "123456:SANDBOX",
        channel_id: int = -1001000000001,
        group_id: int = -1001000000002,
        bot_id: int = 123456,
        member_count: int = 100,
    ) -> None:
        self.token = token
        self.bot_user: JSONDict = {
            "id": bot_id, "is_bot": True, "first_name": "Creator Bot", "username": "creator_sandbox_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }
        self.channel: JSONDict = {"id": channel_id, "type": "channel", "title": "Creator Channel",
                                  "username": "creator_channel"}
        self.group: JSONDict = {"id": group_id, "type": "supergroup", "title": "Creator Channel Chat"}
        self.member_count = member_count
        self.menu_buttons: dict[int, JSONDict] = {}  # chat id -> the menu button set by the bot
        self.pinned: dict[int, list[int]] = {}  # chat id -> message ids the bot pinned, in order
        self.received: dict[int, list[JSONDict]] = {}  # private chat id -> messages users sent the bot
        self.calls: list[Call] = []
        self.delivered_at: dict[int, float] = {}  # update_id -> when getUpdates handed it out (perf_counter)
        self.unimplemented: list[str] = []
        self.updates: list[JSONDict] = []
        self.confirmed_offset = 0
        self.webhook: JSONDict | None = None
        self.allowed_updates: list[str] | None = None
        self.users: dict[int, JSONDict] = {}
        self.chats: dict[int, JSONDict] = {channel_id: self.channel, group_id: self.group}
        self.sent: dict[int, list[JSONDict]] = {}
        # The bot's status in each chat ("administrator", "member", "left"); a brand-new bot: clear() it.
        self.bot_status: dict[int, str] = {channel_id: "administrator", group_id: "administrator"}
        self.linked_chat: dict[int, int] = {channel_id: group_id, group_id: channel_id}
        self.files: dict[str, bytes] = {}  # file_path -> content, served under /file/bot<token>/
        self.failures: dict[str, list[ApiError]] = {}
        self.failing_words: dict[str, ApiError] = {}  # a send whose text holds the word fails, every time
        self.blocked_chats: set[int] = set()  # sends to these fail with 403 (blocked, never pressed Start)
        self.deliver_all = False  # True: ignore allowed_updates (a type newer than the bot)
        self.per_chat_interval = 0.0  # > 0: answer 429 when a chat is sent to faster than this
        # A load balancer in front of several webhook receivers: deliver round-robin to these URLs
        # instead of the registered one; a receiver that does not answer 200 is skipped for the next.
        self.webhook_targets: list[str] = []
        self.webhook_deliveries: dict[str, int] = {}
        self.webhook_connections = 1  # parallel webhook calls (Telegram: max_connections), one per chat at a time
        self._in_flight: set[int] = set()
        self._in_flight_chats: set[Any] = set()
        self._last_send: dict[int, float] = {}
        # Telegram Business: connections of users' accounts to the bot, and what the bot sent through them
        self.business_connections: dict[str, JSONDict] = {}
        self.business_sent: dict[int, list[JSONDict]] = {}  # chat id (the other person) -> messages sent as the account
        # Telegram's echo of a message the bot sent for a Business account (a business_message update with
        # sender_business_bot); with a delay, the echo is out before the send's response, like a slow reply
        self.echo_business_sends = False
        self.business_reply_delay = 0.0
        self.business_received: dict[int, list[JSONDict]] = {}  # chat id -> messages written in it (either side)
        self._business_ids = itertools.count(1)
        # The channel's direct messages (Bot API 9.2): a supergroup with is_direct_messages, a topic per user
        self.direct_messages: JSONDict | None = None
        self.dm_topics: dict[int, JSONDict] = {}  # user id -> their topic {"topic_id", "user"}
        self.dm_rights = True  # the bot may manage the channel's direct messages
        self.dm_received: dict[int, list[JSONDict]] = {}  # user id -> what they wrote in their topic
        self._update_ids = itertools.count(1)
        self._round_robin = itertools.count()
        self._msg_ids: dict[int, itertools.count[int]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None  # replaced on every notify: no lost wake-ups
        self._poll_generation = 0
        self._poller_active: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._port = 0
        self._serving = False  # between the primary's start() and stop()
        # Several bots on one server: the primary runs it, and every bot shares its lists below.
        self.revoked = False  # True: every call with this token answers 401 Unauthorized (a revoked token)
        self._primary: BotApiSandbox = self  # the bot whose server serves this one (itself, unless added)
        self.hub_bots: list[BotApiSandbox] = [self]  # every bot the server serves, the primary first
        self.hub_calls: list[tuple[str, Call]] = []  # every request to the server, with the token it named
        self.handlers: dict[str, Callable[[JSONDict, dict[str, bytes]], Any]] = {
            "getMe": lambda p, f: self.bot_user,
            "logOut": lambda p, f: True,
            "close": lambda p, f: True,
            "setMyCommands": lambda p, f: True,
            "setChatMenuButton": self._set_menu_button,
            "deleteMyCommands": lambda p, f: True,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": lambda p, f: True,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "answerCallbackQuery": lambda p, f: True,
            "getChatMemberCount": self._member_count,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getFile": self._get_file,
            "deleteMessage": lambda p, f: True,
            "leaveChat": lambda p, f: True,
            "pinChatMessage": self._pin_chat_message,
        }

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        """The server's port, shared by every bot on it (0 until the primary starts)."""
        return self._primary._port

    @port.setter
    def port(self, value: int) -> None:
        self._primary._port = value

    @property
    def base_url(self) -> str:
        """What `ApplicationBuilder().base_url(...)` takes (the token is appended by PTB)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def root_url(self) -> str:
        """What the `telegram.base_url` config key takes."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        """Start the server (on `port`, 0: any free one) for this bot and every bot added to it."""
        if self._primary is not self:
            raise RuntimeError("an added bot is served by its primary's server: start the primary")
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._serving = True
        for bot in self.hub_bots[1:]:
            bot._attach(self._loop)
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._serve_file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._webhook_task = asyncio.create_task(self._deliver_webhooks())

    async def stop(self) -> None:
        """The primary: stop the server and every bot's webhook delivery. An added bot: stop its own
        webhook delivery (the server keeps serving it until the primary stops)."""
        for bot in self.hub_bots if self._primary is self else [self]:
            if bot._webhook_task:
                bot._webhook_task.cancel()
        if self._primary is self:
            self._serving = False
            if self._runner:
                await self._runner.cleanup()

    def serve_bot(self, token: str, *, bot_id: int, channel_id: int, group_id: int,
                  username: str | None = None, first_name: str | None = None,
                  member_count: int = 100) -> BotApiSandbox:
        """Serve another bot on this server (same port, `base_url` and `root_url`), routed by `token`:
        a sandbox of its own with its own complete state, before or after `start()`. `add_bot(token,
        ...)` is the same call."""
        primary = self._primary
        if primary._bot_for(token) is not None:
            raise ValueError(f"the sandbox already serves a bot with token {token!r}")
        bot = BotApiSandbox(token, channel_id=channel_id, group_id=group_id, bot_id=bot_id,
                            member_count=member_count)
        bot.bot_user["username"] = username or f"creator_sandbox_{bot_id}_bot"
        if first_name:
            bot.bot_user["first_name"] = first_name
        bot.channel["username"] = f"creator_channel_{bot_id}"  # usernames are unique on Telegram
        bot._primary = primary
        bot.hub_bots = primary.hub_bots
        bot.hub_calls = primary.hub_calls
        if primary._serving and primary._loop is not None:  # the server runs already
            bot._attach(primary._loop)
        primary.hub_bots.append(bot)
        return bot

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """An added bot joins the primary's event loop: its own wake-ups and webhook delivery."""
        self._loop = loop
        self._changed = asyncio.Event()

        def start_webhooks() -> None:
            self._webhook_task = loop.create_task(self._deliver_webhooks())

        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            start_webhooks()
        else:  # added from another thread (the sandbox runs in a SandboxThread)
            loop.call_soon_threadsafe(start_webhooks)

    def revoke(self, token: str | None = None) -> None:
        """Revoke `token` (None: this bot's), as @BotFather does: every call with it answers 401
        Unauthorized, a long poll in progress included, and its webhook gets nothing more. Setting
        the bot's `revoked` back to False restores it."""
        bot = self if token is None else self._bot_for(token)
        if bot is None:
            raise KeyError(f"the sandbox serves no bot with token {token!r}")
        bot.revoked = True
        bot._wake()

    def _bot_for(self, token: str) -> BotApiSandbox | None:
        """The bot the server serves under `token` (revoked or not), or None."""
        return next((b for b in self._primary.hub_bots if b.token == token), None)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    def _wake(self) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._notify()
        else:
            loop.call_soon_threadsafe(self._notify)

    # ------------------------------------------------------------------ HTTP
    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    @staticmethod
    def _unauthorized() -> web.Response:
        return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)

    async def _serve_file(self, request: web.Request) -> web.Response:
        bot = self._bot_for(request.match_info["token"])
        if bot is not None and bot.revoked:
            return self._unauthorized()
        data = bot.files.get(request.match_info["path"]) if bot is not None else None
        if data is None:  # an unknown token too
            return await self._not_found(request)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _handle(self, request: web.Request) -> web.Response:
        """Route a request to the bot its token names; an unknown or revoked token: 401 Unauthorized."""
        token = request.match_info["token"]
        bot = self._bot_for(token)
        if bot is None or bot.revoked:
            received = time.perf_counter()
            try:
                params, files = await self._read_params(request)
            except ValueError:  # a malformed body: still Unauthorized, as before the body is read
                params, files = {}, {}
            self.hub_calls.append((token, Call(request.match_info["method"], params, time.time(), ok=False,
                                               received=received, files=files)))
            return self._unauthorized()
        return await bot._answer(request)

    async def _answer(self, request: web.Request) -> web.Response:
        """Answer a request addressed to this bot."""
        method = request.match_info["method"]
        params, files = await self._read_params(request)
        call = Call(method, params, time.time(), files=files, received=time.perf_counter())
        self.calls.append(call)
        self.hub_calls.append((self.token, call))
        try:
            if method == "getUpdates":
                result: Any = await self._get_updates(params)
            else:
                handler = self.handlers.get(method)
                if handler is None:
                    self.unimplemented.append(method)
                    log.error("sandbox: method %s is not implemented", method)
                    raise ApiError(404, f"Not Found: method {method} is not implemented by the sandbox")
                self._maybe_fail(method, params)
                result = handler(params, files)
                if isinstance(result, dict) and result.get("business_connection_id") and self.echo_business_sends:
                    self.push_update({"business_message": result})
                    await asyncio.sleep(self.business_reply_delay)
        except ApiError as exc:
            call.ok = False
            body: JSONDict = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            return web.json_response(body, status=exc.code)
        call.result = result
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[JSONDict, dict[str, bytes]]:
        params: JSONDict = dict(request.query)
        files: dict[str, bytes] = {}
        ctype = request.content_type
        if request.can_read_body:
            if ctype == "application/json":
                params.update(await request.json())
                return params, files
            if ctype == "multipart/form-data":
                reader = await request.multipart()
                async for part in reader:
                    if not isinstance(part, BodyPartReader) or part.name is None:
                        continue
                    data = await part.read()
                    if part.filename:
                        files[part.name] = bytes(data)
                        params[part.name] = f"attach://{part.name}"
                    else:
                        params[part.name] = data.decode("utf-8")
            elif ctype == "application/x-www-form-urlencoded":
                params.update(dict(await request.post()))
        return {k: _decode_value(k, v) for k, v in params.items()}, files

    def _maybe_fail(self, method: str, params: JSONDict) -> None:
        queued = self.failures.get(method)
        if queued:
            raise queued.pop(0)
        if self.failing_words and method.startswith("send"):
            text = str(params.get("text") or params.get("caption") or "")
            for word, error in self.failing_words.items():
                if word in text:
                    raise error
        if method.startswith("send") and _as_int(params.get("chat_id")) in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if self.per_chat_interval > 0 and method.startswith("send") and method != "sendChatAction":
            chat_id = int(params.get("chat_id", 0))
            now = time.monotonic()
            last = self._last_send.get(chat_id)
            if last is not None and now - last < self.per_chat_interval:
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            self._last_send[chat_id] = now

    def fail_sends_with(self, word: str, code: int = 502, description: str = "Bad Gateway") -> None:
        """Make every send whose text (or caption) holds `word` fail like this, until `failing_words` is cleared."""
        self.failing_words[word] = ApiError(code, description)

    def fail_next(self, method: str, times: int = 1, code: int = 429, retry_after: int | None = 1,
                  description: str = "Too Many Requests: retry later") -> None:
        """Make the next `times` calls of `method` fail like Telegram would."""
        self.failures.setdefault(method, []).extend(
            ApiError(code, description, retry_after if code == 429 else None) for _ in range(times)
        )

    # ------------------------------------------------------------------ updates
    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        self._poll_generation += 1
        generation = self._poll_generation
        offset = int(params.get("offset", 0) or 0)
        limit = max(1, min(100, int(params.get("limit", 100) or 100)))
        timeout = float(params.get("timeout", 0) or 0)
        if "allowed_updates" in params and params["allowed_updates"] is not None:
            self.allowed_updates = list(params["allowed_updates"])
        self._confirm(offset)
        deadline = time.monotonic() + timeout
        while True:
            if self.revoked:
                raise ApiError(401, "Unauthorized")
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure that "
                                    "only one bot instance is running")
            changed = self._changed
            assert changed is not None
            batch = self._pending(limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                now = time.perf_counter()
                for u in batch:
                    self.delivered_at.setdefault(u["update_id"], now)
                return batch
            await _wait(changed, min(remaining, 0.5))

    def _confirm(self, offset: int) -> None:
        with self._lock:
            if offset > 0:
                self.confirmed_offset = max(self.confirmed_offset, offset)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            elif offset < 0:
                self.updates = self.updates[offset:]

    def _wanted(self, update: JSONDict) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self.deliver_all:
            return True
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in DEFAULT_EXCLUDED

    def _pending(self, limit: int) -> list[JSONDict]:
        with self._lock:
            self.updates = [u for u in self.updates if self._wanted(u)]
            return [dict(u) for u in self.updates[:limit]]

    def push_update(self, body: JSONDict) -> JSONDict:
        """Queue an update of any shape (`body` without `update_id`); returns it."""
        with self._lock:
            update = {"update_id": next(self._update_ids), **body}
            self.updates.append(update)
        self._wake()
        return update

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self.updates)

    # ------------------------------------------------------------------ webhook
    def _set_webhook(self, params: JSONDict, files: dict[str, bytes]) -> bool:
        url = params.get("url", "")
        if not url:
            return self._delete_webhook(params, files)
        self.webhook = {"url": url, "secret_token": params.get("secret_token")}
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"])
        if params.get("drop_pending_updates"):
            with self._lock:
                self.updates.clear()
        self._poll_generation += 1  # a webhook ends any long poll
        self._wake()
        return True

    def _delete_webhook(self, params: JSONDict, files: dict[str, bytes]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            with self._lock:
                self.updates.clear()
        return True

    def _webhook_info(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        return {"url": self.webhook["url"] if self.webhook else "", "has_custom_certificate": False,
                "pending_update_count": self.pending_count}

    async def _deliver_webhooks(self) -> None:
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            await asyncio.gather(*(self._webhook_connection(session, i) for i in range(MAX_WEBHOOK_CONNECTIONS)))

    def _next_delivery(self) -> JSONDict | None:
        """The oldest undelivered update whose chat has nothing in flight (Telegram keeps a chat's order)."""
        with self._lock:
            for u in self.updates:
                if u["update_id"] in self._in_flight or _chat_of(u) in self._in_flight_chats or not self._wanted(u):
                    continue
                self._in_flight.add(u["update_id"])
                self._in_flight_chats.add(_chat_of(u))
                return u
        return None

    async def _webhook_connection(self, session: ClientSession, index: int) -> None:
        while True:
            changed = self._changed
            assert changed is not None
            hook = None if self.revoked else self.webhook
            update = self._next_delivery() if hook and index < self.webhook_connections else None
            if not hook or update is None:
                await _wait(changed, 0.2)
                continue
            delivered = False
            try:
                delivered = await self._post_update(session, hook, update)
            finally:
                with self._lock:
                    self._in_flight.discard(update["update_id"])
                    self._in_flight_chats.discard(_chat_of(update))
                    if delivered:
                        self.updates = [u for u in self.updates if u["update_id"] != update["update_id"]]
            if not delivered:
                await asyncio.sleep(0.2)
            else:
                self._wake()

    async def _post_update(self, session: ClientSession, hook: JSONDict, update: JSONDict) -> bool:
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        targets = list(self.webhook_targets) or [hook["url"]]
        for _ in range(len(targets)):
            url = targets[next(self._round_robin) % len(targets)]
            try:
                async with session.post(url, json=update, headers=headers) as resp:
                    delivered = resp.status == 200
            except Exception:
                delivered = False
            if delivered:
                self.webhook_deliveries[url] = self.webhook_deliveries.get(url, 0) + 1
                return True
        return False

    # ------------------------------------------------------------------ sending
    def _chat(self, chat_id: Any) -> JSONDict:
        try:
            chat = self.chats.get(int(chat_id))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _new_message(self, chat: JSONDict, **fields: Any) -> JSONDict:
        ids = self._msg_ids.setdefault(chat["id"], itertools.count(1000))
        return {"message_id": next(ids), "date": int(time.time()), "chat": chat, **fields}

    def _business_chat(self, params: JSONDict) -> tuple[JSONDict, JSONDict]:
        """The connection and chat a send through `business_connection_id` goes to, as Telegram checks them."""
        connection = self.business_connections.get(str(params.get("business_connection_id")))
        if connection is None:
            raise ApiError(400, "Bad Request: BUSINESS_CONNECTION_INVALID")
        if not connection["is_enabled"]:
            raise ApiError(400, "Bad Request: BUSINESS_CONNECTION_NOT_ALLOWED")
        if not connection.get("rights", {}).get("can_reply"):
            raise ApiError(403, "Forbidden: not enough rights to send messages in the business chat")
        chat = self._chat(params.get("chat_id"))
        if chat["type"] != "private":
            raise ApiError(400, "Bad Request: BUSINESS_PEER_INVALID")
        return connection, chat

    def _topic_of(self, chat: JSONDict, params: JSONDict) -> JSONDict | None:
        """The direct-messages topic a send names; a send to the direct-messages chat must name a known one."""
        topic_id = params.get("direct_messages_topic_id")
        is_dm = bool(chat.get("is_direct_messages"))
        if topic_id is None:
            if is_dm:
                raise ApiError(400, "Bad Request: direct messages topic must be specified")
            return None
        if not is_dm:
            raise ApiError(400, "Bad Request: direct messages topic can't be specified in this chat")
        if not self.dm_rights or self.bot_status.get(self.channel["id"]) != "administrator":
            raise ApiError(400, "Bad Request: not enough rights to manage direct messages")
        topic = next((t for t in self.dm_topics.values() if t["topic_id"] == _as_int(topic_id)), None)
        if topic is None:
            raise ApiError(400, "Bad Request: DIRECT_MESSAGES_TOPIC_INVALID")
        return topic

    @staticmethod
    def _check_markup(params: JSONDict) -> None:
        """Telegram refuses a button whose callback data is empty or longer than 64 bytes."""
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in (markup or {}).get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                data = button.get("callback_data") if isinstance(button, dict) else None
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _outgoing(self, params: JSONDict, **fields: Any) -> JSONDict:
        self._check_markup(params)
        if params.get("business_connection_id"):
            connection, chat = self._business_chat(params)
            if params.get("reply_markup") is not None:
                fields["reply_markup"] = params["reply_markup"]
            owner = self.users.get(connection["user"]["id"], connection["user"])
            msg = self._new_message(chat, **{"from": owner}, business_connection_id=connection["id"],
                                    sender_business_bot=self.bot_user, **fields)
            msg["message_id"] = self._business_message_id(connection, chat["id"])
            self.business_sent.setdefault(chat["id"], []).append(msg)
            return msg
        chat = self._chat(params.get("chat_id"))
        topic = self._topic_of(chat, params)
        if topic is not None:
            fields["direct_messages_topic"] = topic
        if params.get("reply_markup") is not None:
            fields["reply_markup"] = params["reply_markup"]
        msg = self._new_message(chat, **{"from": self.bot_user}, **fields)
        self.sent.setdefault(chat["id"], []).append(msg)
        return msg

    def _text(self, params: JSONDict, key: str) -> str:
        text = str(params.get(key, ""))
        if params.get("parse_mode") == "HTML":
            text = check_html(text)
        if len(text.encode("utf-16-le")) // 2 > (4096 if key == "text" else 1024):  # Telegram counts UTF-16
            raise ApiError(400, f"Bad Request: {'message' if key == 'text' else 'caption'} is too long")
        return text

    def _send_message(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        text = self._text(params, "text")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        return self._outgoing(params, text=text, raw_text=params.get("text"))

    def _send_photo(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        data = files.get("photo", b"")
        size = {"file_id": f"photo{len(self.calls)}", "file_unique_id": f"u{len(self.calls)}",
                "width": 800, "height": 600, "file_size": len(data)}
        return self._outgoing(params, photo=[size], caption=self._text(params, "caption"))

    def _send_document(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        data = files.get("document", b"")
        doc = {"file_id": f"doc{len(self.calls)}", "file_unique_id": f"d{len(self.calls)}",
               "file_size": len(data), "file_name": params.get("file_name", "file")}
        return self._outgoing(params, document=doc, caption=self._text(params, "caption"))

    def _find_sent(self, params: JSONDict) -> JSONDict:
        chat = self._chat(params.get("chat_id"))
        mid = int(params.get("message_id", 0))
        for msg in self.sent.get(chat["id"], []):
            if msg["message_id"] == mid:
                return msg
        raise ApiError(400, "Bad Request: message to edit not found")

    def _edit_message_text(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        msg = self._find_sent(params)
        msg["text"] = self._text(params, "text")
        msg["edit_date"] = int(time.time())
        if params.get("reply_markup") is not None:
            msg["reply_markup"] = params["reply_markup"]
        else:
            msg.pop("reply_markup", None)
        return msg

    def _edit_reply_markup(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        self._check_markup(params)
        msg = self._find_sent(params)
        if params.get("reply_markup") is not None:
            msg["reply_markup"] = params["reply_markup"]
        else:
            msg.pop("reply_markup", None)
        return msg

    def _pin_chat_message(self, params: JSONDict, files: dict[str, bytes]) -> bool:
        msg = self._find_sent(params)
        self.pinned.setdefault(int(params.get("chat_id", 0) or 0), []).append(msg["message_id"])
        return True

    def _set_menu_button(self, params: JSONDict, files: dict[str, bytes]) -> bool:
        self.menu_buttons[int(params.get("chat_id", 0) or 0)] = params.get("menu_button") or {}
        return True

    def _member_count(self, params: JSONDict, files: dict[str, bytes]) -> int:
        self._chat(params.get("chat_id"))
        return self.member_count

    def _visible_chat(self, params: JSONDict) -> JSONDict:
        """A chat the bot may look at: private chats, and groups and channels it is in (a channel's
        direct messages: while it is an admin of the channel)."""
        chat = self._chat(params.get("chat_id"))
        status_of = self.channel["id"] if chat.get("is_direct_messages") else chat["id"]
        if chat["type"] != "private" and self.bot_status.get(status_of, "left") in ("left", "kicked"):
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _get_chat(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        chat = self._visible_chat(params)
        info: JSONDict = {**chat, "accent_color_id": 0, "max_reaction_count": 11,
                          "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                                  "unique_gifts": False, "premium_subscription": False,
                                                  "gifts_from_channels": False}}
        if chat["id"] in self.linked_chat:
            info["linked_chat_id"] = self.linked_chat[chat["id"]]
        if chat.get("is_direct_messages"):
            info["parent_chat"] = self.channel
        return info

    def member_object(self, user: JSONDict, status: str, chat_type: str = "supergroup") -> JSONDict:
        """A ChatMember as Telegram sends it."""
        if status == "administrator":
            rights = {"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                      "can_delete_messages": True, "can_manage_video_chats": True, "can_restrict_members": True,
                      "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
                      "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False}
            if chat_type == "channel":
                rights |= {"can_post_messages": True, "can_edit_messages": True,
                           "can_manage_direct_messages": self.dm_rights}
            else:
                rights |= {"can_pin_messages": True}
            return {"status": status, "user": user, **rights}
        if status == "creator":
            return {"status": status, "user": user, "is_anonymous": False}
        if status == "kicked":
            return {"status": status, "user": user, "until_date": 0}
        return {"status": status, "user": user}

    def _get_chat_member(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        chat = self._visible_chat(params)
        user_id = int(params.get("user_id", 0))
        if user_id == self.bot_user["id"]:
            return self.member_object(self.bot_user, self.bot_status.get(chat["id"], "left"), chat["type"])
        user = self.users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        return self.member_object(user, "member", chat["type"])

    def _get_chat_administrators(self, params: JSONDict, files: dict[str, bytes]) -> list[JSONDict]:
        chat = self._visible_chat(params)
        if self.bot_status.get(chat["id"]) == "administrator":
            return [self.member_object(self.bot_user, "administrator", chat["type"])]
        return []

    def _get_file(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        file_id = str(params.get("file_id", ""))
        path = f"documents/{file_id}"
        if path not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(self.files[path]),
                "file_path": path}

    # ------------------------------------------------------------------ scenario helpers
    def user(self, user_id: int, first_name: str, username: str | None = None,
             language_code: str = "en") -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name,
                          "language_code": language_code}
        if username:
            user["username"] = username
        self.users[user_id] = user
        self.chats[user_id] = {"id": user_id, "type": "private", "first_name": first_name}
        return user

    def send_private(self, user: JSONDict, text: str | None = None, reply_to: JSONDict | None = None,
                     **content: Any) -> JSONDict:
        """A follower writes to the bot. `content` may carry sticker, photo, voice, ..."""
        chat = self.chats[user["id"]]
        fields: JSONDict = {"from": user, **content}
        if text is not None:
            fields["text"] = text
            if text.startswith("/"):
                fields["entities"] = [{"type": "bot_command", "offset": 0,
                                       "length": len(text.split()[0])}]
        if reply_to is not None:
            fields["reply_to_message"] = reply_to
        msg = self._new_message(chat, **fields)
        self.received.setdefault(chat["id"], []).append(msg)
        self.push_update({"message": msg})
        return msg

    def send_document(self, user: JSONDict, file_name: str, data: bytes, mime_type: str = "text/csv",
                      caption: str | None = None) -> JSONDict:
        """A user sends the bot a file; `getFile` and the file URL serve it back."""
        file_id = f"doc{len(self.files) + 1}"
        self.files[f"documents/{file_id}"] = data
        doc = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name,
               "mime_type": mime_type, "file_size": len(data)}
        extra: JSONDict = {"caption": caption} if caption else {}
        return self.send_private(user, document=doc, **extra)

    @overload
    def add_bot(self, chat: JSONDict, /, by: JSONDict, status: str = "administrator") -> JSONDict: ...

    @overload
    def add_bot(self, token: str, /, *, bot_id: int, channel_id: int, group_id: int,
                username: str | None = None, first_name: str | None = None,
                member_count: int = 100) -> BotApiSandbox: ...

    def add_bot(self, target: JSONDict | str, /, by: JSONDict | None = None, status: str = "administrator",
                *, bot_id: int | None = None, channel_id: int | None = None, group_id: int | None = None,
                username: str | None = None, first_name: str | None = None,
                member_count: int = 100) -> JSONDict | BotApiSandbox:
        """Two calls under one name. `add_bot(chat, by=user, status=...)`: someone adds the bot to a
        channel or group (or changes its status), a my_chat_member update. `add_bot(token, bot_id=...,
        channel_id=..., group_id=...)`: the server serves another bot (see `serve_bot`)."""
        if isinstance(target, str):
            if bot_id is None or channel_id is None or group_id is None:
                raise TypeError("add_bot(token, ...) needs bot_id, channel_id and group_id")
            return self.serve_bot(target, bot_id=bot_id, channel_id=channel_id, group_id=group_id,
                                  username=username, first_name=first_name, member_count=member_count)
        if by is None:
            raise TypeError("add_bot(chat, ...) needs by: the user who adds the bot")
        chat = target
        old = self.bot_status.get(chat["id"], "left")
        self.bot_status[chat["id"]] = status
        return self.push_update({"my_chat_member": {
            "chat": chat, "from": by, "date": int(time.time()),
            "old_chat_member": self.member_object(self.bot_user, old, chat["type"]),
            "new_chat_member": self.member_object(self.bot_user, status, chat["type"]),
        }})

    def channel_post(self, text: str, date: int | None = None) -> tuple[JSONDict, JSONDict]:
        """The creator posts in the channel; Telegram forwards it into the discussion group."""
        post = self._new_message(self.channel, sender_chat=self.channel, text=text)
        if date is not None:
            post["date"] = date
        self.push_update({"channel_post": post})
        forward = self._new_message(
            self.group, sender_chat=self.channel, text=text, is_automatic_forward=True,
            forward_origin={"type": "channel", "chat": self.channel, "message_id": post["message_id"],
                            "date": post["date"]},
            **{"from": {"id": 777000, "is_bot": False, "first_name": "Telegram"}},
        )
        self.push_update({"message": forward})
        return post, forward

    def comment(self, forward: JSONDict, user: JSONDict, text: str, date: int | None = None) -> JSONDict:
        """A follower comments under a channel post (a reply to its automatic forward)."""
        msg = self._new_message(self.group, text=text, message_thread_id=forward["message_id"],
                                reply_to_message=forward, **{"from": user})
        if date is not None:
            msg["date"] = date
        self.push_update({"message": msg})
        return msg

    def reactions(self, post: JSONDict, counts: dict[str, int], date: int | None = None) -> JSONDict:
        return self.push_update({"message_reaction_count": {
            "chat": self.channel, "message_id": post["message_id"], "date": date or int(time.time()),
            "reactions": [{"type": {"type": "emoji", "emoji": e}, "total_count": n}
                          for e, n in counts.items()],
        }})

    def member(self, user: JSONDict, joined: bool, date: int | None = None) -> JSONDict:
        old, new = ("left", "member") if joined else ("member", "left")
        if joined:
            self.member_count += 1
        else:
            self.member_count -= 1
        return self.push_update({"chat_member": {
            "chat": self.channel, "from": user, "date": date or int(time.time()),
            "old_chat_member": {"status": old, "user": user},
            "new_chat_member": {"status": new, "user": user},
        }})

    def press(self, user: JSONDict, message: JSONDict, data: str) -> JSONDict:
        """A user presses an inline button under `message`."""
        return self.push_update({"callback_query": {
            "id": str(next(self._update_ids)), "from": user, "chat_instance": "1",
            "message": message, "data": data,
        }})

    # ------------------------------------------------------------------ Telegram Business
    def connect_business(self, user: JSONDict, *, can_reply: bool = True, enabled: bool = True,
                         connection_id: str | None = None) -> JSONDict:
        """`user` connects the bot to their account (Business → Chatbots), or changes or ends the
        connection (same `connection_id`): a business_connection update."""
        cid = connection_id or f"biz{next(self._business_ids)}"
        old = self.business_connections.get(cid)
        connection = {"id": cid, "user": user, "user_chat_id": user["id"],
                      "date": old["date"] if old else int(time.time()), "is_enabled": enabled,
                      "rights": {"can_reply": True, "can_read_messages": True} if can_reply
                      else {"can_read_messages": True}}
        self.business_connections[cid] = connection
        self.push_update({"business_connection": connection})
        return connection

    def business_message(self, connection: JSONDict, peer: JSONDict, text: str, *, outgoing: bool = False,
                         **content: Any) -> JSONDict:
        """A message in the account's private chat with `peer`: from `peer` (incoming) or written by the
        account's owner themselves (`outgoing`)."""
        chat = {"id": peer["id"], "type": "private", "first_name": peer["first_name"]}
        if peer.get("username"):
            chat["username"] = peer["username"]
        sender = connection["user"] if outgoing else peer
        msg = self._new_message({**chat, "id": peer["id"]}, **{"from": sender}, text=text,
                                business_connection_id=connection["id"], **content)
        msg["message_id"] = self._business_message_id(connection, peer["id"])
        self.business_received.setdefault(peer["id"], []).append(msg)
        self.push_update({"business_message": msg})
        return msg

    def _business_message_id(self, connection: JSONDict, peer_id: int) -> int:
        ids = self._msg_ids.setdefault(hash((connection["id"], peer_id)) % (10 ** 9) + 10 ** 12, itertools.count(5000))
        return next(ids)

    def edit_business_message(self, message: JSONDict, text: str) -> JSONDict:
        edited = {**message, "text": text, "edit_date": int(time.time())}
        self.push_update({"edited_business_message": edited})
        return edited

    def delete_business_messages(self, connection: JSONDict, peer: JSONDict, message_ids: list[int]) -> JSONDict:
        return self.push_update({"deleted_business_messages": {
            "business_connection_id": connection["id"],
            "chat": {"id": peer["id"], "type": "private", "first_name": peer["first_name"]},
            "message_ids": list(message_ids)}})

    def business_texts_to(self, chat_id: int) -> list[str]:
        return [m.get("text") or "" for m in self.business_sent.get(chat_id, [])]

    # ------------------------------------------------------------------ the channel's direct messages
    def enable_direct_messages(self, chat_id: int = -1001000000009) -> JSONDict:
        """The creator turns on direct messages for the channel (a chat of their own, a topic per follower)."""
        if self.direct_messages is None:
            self.direct_messages = {"id": chat_id, "type": "supergroup", "title": f"{self.channel['title']} Messages",
                                    "is_direct_messages": True}
            self.chats[chat_id] = self.direct_messages
        return self.direct_messages

    def channel_dm(self, user: JSONDict, text: str, writer: JSONDict | None = None, **content: Any) -> JSONDict:
        """A follower taps "Message" on the channel and writes: a message in their topic (`writer`: somebody
        else, an admin of the channel, writing in that follower's topic)."""
        chat = self.enable_direct_messages() if self.direct_messages is None else self.direct_messages
        topic = self.dm_topics.get(user["id"])
        if topic is None:
            topic = self.dm_topics[user["id"]] = {"topic_id": len(self.dm_topics) + 1, "user": user}
        msg = self._new_message(chat, **{"from": writer or user}, text=text, direct_messages_topic=topic, **content)
        self.dm_received.setdefault(user["id"], []).append(msg)
        self.push_update({"message": msg})
        return msg

    def dm_sent_to(self, user_id: int) -> list[JSONDict]:
        """What was sent into `user_id`'s topic of the channel's direct messages."""
        topic = self.dm_topics.get(user_id)
        if self.direct_messages is None or topic is None:
            return []
        return [m for m in self.sent.get(self.direct_messages["id"], [])
                if m.get("direct_messages_topic", {}).get("topic_id") == topic["topic_id"]]

    def dm_texts_to(self, user_id: int) -> list[str]:
        return [m.get("text") or "" for m in self.dm_sent_to(user_id)]

    def business_connection_of(self, user_id: int) -> JSONDict | None:
        """The enabled connection of `user_id`'s account, if they connected the bot."""
        return next((c for c in self.business_connections.values()
                     if c["user"]["id"] == user_id and c["is_enabled"]), None)

    # ------------------------------------------------------------------ inspection
    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.ok]

    def texts_to(self, chat_id: int) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.sent.get(chat_id, [])]


_NUMERIC = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "message_thread_id",
            "from_chat_id", "max_connections", "direct_messages_topic_id"}
_TEXTUAL = {"text", "caption", "data", "url", "secret_token", "parse_mode", "callback_query_id",
            "business_connection_id"}


def _decode_value(key: str, value: Any) -> Any:
    """Form values are strings; objects and numbers arrive JSON-encoded as PTB sends them."""
    if not isinstance(value, str) or key in _TEXTUAL:
        return value
    if key in _NUMERIC and value.lstrip("-").isdigit():
        return int(value)
    if value[:1] in "{[" or value in ("true", "false", "null"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SandboxThread:
    """Run a sandbox on its own event loop in a thread (for tests that drive a subprocess)."""

    def __init__(self, sandbox: BotApiSandbox) -> None:
        self.sandbox = sandbox
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> BotApiSandbox:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.sandbox.start(), self._loop).result(10)
        return self.sandbox

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.sandbox.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
