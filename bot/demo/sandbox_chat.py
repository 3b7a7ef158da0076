"""The browser sandbox's chat page: pick a creator, then one of their followers or the creator, and talk
to the real bot.

One sandbox server may serve several creators' bots (`BotApiSandbox.add_bot`); the page's creator picker
chooses one (`ChatBot`, `?bot=<name>`), and everything it sends goes to that bot. Messages go into the
local Bot API sandbox as updates, exactly as Telegram would deliver them; the page shows the private chat
from that bot's records in the sandbox (what the user sent, what the bot sent), with the inline buttons.
A Mini App button (and the dashboard link) opens its URL with `initData` signed for that user with that
bot's token, which is what Telegram does. Text is shown with `textContent` in the page, never as HTML.

It drives the bot as anyone, the creator included, so it answers this machine's browser only: a
request whose Host is not a loopback name (DNS rebinding) or whose Origin is another site (a page
elsewhere posting `text/plain`) gets 403, a POST that is not JSON 415, and `/open` redirects only
to a path on this server (never `//host` or an absolute URL: the redirect carries signed initData).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot.web.auth import sign_init_data
from botapi_sandbox.server import BotApiSandbox, JSONDict

HERE = Path(__file__).parent
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _host_name(host: str) -> str:
    """The name in a Host header or an Origin's netloc, without the port."""
    if host.startswith("["):
        return host[:host.find("]") + 1].lower()
    return host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()


@web.middleware
async def loopback_host(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Requests to a loopback name only (a page whose own name was rebound to 127.0.0.1 is refused)."""
    if _host_name(request.headers.get("Host", "")) not in LOCAL_HOSTS:
        return web.Response(status=403, text="the sandbox answers requests to 127.0.0.1 or localhost only")
    return await handler(request)


@web.middleware
async def same_origin_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A POST from this server's own page only: same Origin (when the browser names one) and a JSON
    body, which no other site can send without a CORS preflight that this server never allows."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"http://{request.headers.get('Host', '')}":
            return web.Response(status=403, text="cross-site request refused")
        if request.content_type != "application/json":
            return web.Response(status=415, text="send JSON (Content-Type: application/json)")
    return await handler(request)


def local_path(url: str) -> str | None:
    """`url` when it is a path on this server ("/dashboard/"), else None: no scheme, no host, none of
    the forms a browser reads as another host ("//h", "/\\h", control characters), ASCII only."""
    if not url.startswith("/") or "\\" in url or any(not 0x21 <= ord(c) <= 0x7E for c in url):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("//"):
        return None
    return url


INBOXES = ("bot", "channel", "business")  # write to the bot, to the channel (direct messages), to the creator


def chat_messages(sandbox: BotApiSandbox, chat_id: int, to: str = "bot") -> list[JSONDict]:
    """The chat of `chat_id` in order: what the user sent and what came back. `to`: the bot's own chat,
    their topic of the channel's direct messages, or their chat with the creator's personal account
    (Business: the creator's own messages and the bot's answers in the creator's name come back)."""
    if to == "channel":
        mine = [{**m, "from": "user"} for m in sandbox.dm_received.get(chat_id, [])]
        bots = [{**m, "from": "bot"} for m in sandbox.dm_sent_to(chat_id)]
    elif to == "business":
        written = sandbox.business_received.get(chat_id, [])
        mine = [{**m, "from": "user" if m["from"]["id"] == chat_id else "bot"} for m in written]
        bots = [{**m, "from": "bot"} for m in sandbox.business_sent.get(chat_id, [])]
    else:
        mine = [{**m, "from": "user"} for m in sandbox.received.get(chat_id, [])]
        bots = [{**m, "from": "bot"} for m in sandbox.sent.get(chat_id, [])]
    out = []
    for m in sorted(mine + bots, key=lambda m: m["message_id"]):
        buttons = [[{k: b[k] for k in ("text", "callback_data", "web_app", "url") if k in b} for b in row]
                   for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])]
        kind = "text" if "text" in m else "photo" if "photo" in m else "document" if "document" in m else "other"
        out.append({"id": m["message_id"], "from": m["from"], "kind": kind,
                    "text": m.get("text") or m.get("caption") or "", "buttons": buttons,
                    "reply_to": (m.get("reply_to_message") or {}).get("message_id")})
    return out


DEFAULT_BOT = "default"  # the key of the first bot: the page without ?bot=


@dataclass(frozen=True)
class ChatBot:
    """One creator's bot as the chat page offers it. `key`: its name in the page (`?bot=`; the creator's
    name in the config); `personas`: who the page may talk as (followers and the creator); `dashboard`:
    the creator's dashboard on this server, opened with initData signed by this bot's token."""

    key: str
    title: str
    sandbox: BotApiSandbox
    personas: Sequence[JSONDict]
    creator_ids: frozenset[int]
    dashboard: str = "/dashboard/"

    def inboxes(self) -> list[str]:
        """Where a follower can write to this creator now: the bot, the channel's direct messages (once
        turned on), the creator's own account (once connected through Telegram Business)."""
        out = ["bot"]
        if self.sandbox.direct_messages is not None:
            out.append("channel")
        if self.business_owner() is not None:
            out.append("business")
        return out

    def business_owner(self) -> int | None:
        return next((i for i in sorted(self.creator_ids) if self.sandbox.business_connection_of(i) is not None), None)


class SandboxChat:
    def __init__(self, bots: Sequence[ChatBot]) -> None:
        if not bots:
            raise ValueError("the chat page needs at least one bot")
        self.bots = {b.key: b for b in bots}
        self.first = bots[0]

    def _bot(self, key: Any) -> ChatBot:
        if key in (None, ""):
            return self.first
        bot = self.bots.get(str(key))
        if bot is None:
            raise web.HTTPNotFound(text="no such bot in the sandbox")
        return bot

    def _user(self, bot: ChatBot, user_id: Any) -> JSONDict:
        try:
            user = bot.sandbox.users.get(int(user_id))
        except (TypeError, ValueError):
            user = None
        if user is None:
            raise web.HTTPNotFound(text="no such user in the sandbox")
        return user

    def _message(self, bot: ChatBot, chat_id: int, message_id: Any) -> JSONDict | None:
        if message_id in (None, ""):
            return None
        for m in bot.sandbox.sent.get(chat_id, []) + bot.sandbox.received.get(chat_id, []):
            if m["message_id"] == int(message_id):
                return m
        raise web.HTTPNotFound(text="no such message")

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(HERE / "static" / "sandbox.html")  # the page has no data of its own

    async def list_bots(self, request: web.Request) -> web.Response:
        return web.json_response([{"key": b.key, "title": b.title, "username": b.sandbox.bot_user.get("username", ""),
                                   "creator_id": min(b.creator_ids) if b.creator_ids else None,
                                   "dashboard": b.dashboard, "inboxes": b.inboxes()}
                                  for b in self.bots.values()])

    async def people(self, request: web.Request) -> web.Response:
        bot = self._bot(request.query.get("bot"))
        return web.json_response([{"id": p["id"], "name": p["first_name"],
                                   "role": "creator" if p["id"] in bot.creator_ids else "follower"}
                                  for p in bot.personas])

    async def chat(self, request: web.Request) -> web.Response:
        bot = self._bot(request.query.get("bot"))
        user = self._user(bot, request.match_info["user_id"])
        to = request.query.get("to", "bot")
        return web.json_response(chat_messages(bot.sandbox, user["id"], to if to in INBOXES else "bot"))

    async def send(self, request: web.Request) -> web.Response:
        body = await request.json()
        bot = self._bot(body.get("bot"))
        user = self._user(bot, body.get("user_id"))
        text = str(body.get("text", "")).strip()
        if not text:
            raise web.HTTPBadRequest(text="empty message")
        to = str(body.get("to") or "bot")
        if to == "channel":  # the follower taps "Message" on the channel
            if bot.sandbox.direct_messages is None:
                raise web.HTTPBadRequest(text="the creator has not turned on the channel's direct messages")
            msg = bot.sandbox.channel_dm(user, text[:4096])
            return web.json_response({"id": msg["message_id"]})
        if to == "business":  # the follower writes to the creator's personal account
            owner = bot.business_owner()
            connection = bot.sandbox.business_connection_of(owner) if owner is not None else None
            if connection is None:
                raise web.HTTPBadRequest(text="the creator has not connected the bot to their account")
            msg = bot.sandbox.business_message(connection, user, text[:4096])
            return web.json_response({"id": msg["message_id"]})
        reply_to = self._message(bot, user["id"], body.get("reply_to"))
        msg = bot.sandbox.send_private(user, text[:4096], reply_to=reply_to)
        return web.json_response({"id": msg["message_id"]})

    async def press(self, request: web.Request) -> web.Response:
        body = await request.json()
        bot = self._bot(body.get("bot"))
        user = self._user(bot, body.get("user_id"))
        message = self._message(bot, user["id"], body.get("message_id"))
        if message is None:
            raise web.HTTPBadRequest(text="which message?")
        bot.sandbox.press(user, message, str(body.get("data", "")))
        return web.json_response({"ok": True})

    async def open_web_app(self, request: web.Request) -> web.Response:
        """What Telegram does for a Mini App button: open its URL with initData for the user, signed with
        the token of the bot whose button it is (`?bot=`)."""
        bot = self._bot(request.query.get("bot"))
        user = self._user(bot, request.query.get("user_id"))
        url = local_path(request.query.get("url", ""))
        if url is None:
            raise web.HTTPBadRequest(text="the sandbox opens Mini Apps on this server only: give a path such as "
                                          "/dashboard/")
        init = sign_init_data({k: user[k] for k in ("id", "first_name", "username", "language_code") if k in user},
                              bot.sandbox.token)
        # a raw Location header: yarl would decode the %26 inside the fragment
        return web.Response(status=302, headers={
            "Location": f"{url.split('#')[0]}#tgWebAppData={quote(init, safe='')}&tgWebAppPlatform=web"})


def make_sandbox_chat_app(sandbox: BotApiSandbox, personas: Sequence[JSONDict], creator_ids: set[int] | frozenset[int],
                          *, title: str = "", more: Sequence[ChatBot] = ()) -> web.Application:
    """The chat page for the bot `sandbox` (key "default", its dashboard at /dashboard/) and, in the creator
    picker, `more`: other creators' bots on the same sandbox server."""
    ids = frozenset(creator_ids)
    if not title:
        title = " & ".join(p["first_name"] for p in personas if p["id"] in ids) or "the creator"
    return chat_app([ChatBot(DEFAULT_BOT, title, sandbox, list(personas), ids), *more])


def chat_app(bots: Sequence[ChatBot]) -> web.Application:
    chat = SandboxChat(bots)
    app = web.Application(middlewares=[loopback_host, same_origin_json])
    app.router.add_get("/", chat.page)
    app.router.add_get("/api/bots", chat.list_bots)
    app.router.add_get("/api/people", chat.people)
    app.router.add_get("/api/chat/{user_id}", chat.chat)
    app.router.add_post("/api/send", chat.send)
    app.router.add_post("/api/press", chat.press)
    app.router.add_get("/open", chat.open_web_app)
    return app
