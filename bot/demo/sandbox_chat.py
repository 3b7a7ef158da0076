"""The browser sandbox's chat page: pick a follower or the creator and talk to the real bot.

Messages go into the local Bot API sandbox as updates, exactly as Telegram would deliver them;
the page shows the private chat from the sandbox's records (what the user sent, what the bot sent),
with the inline buttons. A Mini App button opens its URL with `initData` signed for that user,
which is what Telegram does. Text is shown with `textContent` in the page, never as HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.web.auth import sign_init_data
from botapi_sandbox.server import BotApiSandbox, JSONDict

HERE = Path(__file__).parent


def chat_messages(sandbox: BotApiSandbox, chat_id: int) -> list[JSONDict]:
    """The private chat with `chat_id` in order: what the user sent and what the bot sent."""
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


class SandboxChat:
    def __init__(self, sandbox: BotApiSandbox, personas: list[JSONDict], creator_ids: set[int]) -> None:
        self.sandbox = sandbox
        self.personas = personas
        self.creator_ids = creator_ids

    def _user(self, user_id: Any) -> JSONDict:
        try:
            user = self.sandbox.users.get(int(user_id))
        except (TypeError, ValueError):
            user = None
        if user is None:
            raise web.HTTPNotFound(text="no such user in the sandbox")
        return user

    def _message(self, chat_id: int, message_id: Any) -> JSONDict | None:
        if message_id in (None, ""):
            return None
        for m in self.sandbox.sent.get(chat_id, []) + self.sandbox.received.get(chat_id, []):
            if m["message_id"] == int(message_id):
                return m
        raise web.HTTPNotFound(text="no such message")

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(HERE.parent / "web" / "static" / "sandbox.html")  # bot/web/static

    async def people(self, request: web.Request) -> web.Response:
        return web.json_response([{"id": p["id"], "name": p["first_name"],
                                   "role": "creator" if p["id"] in self.creator_ids else "follower"}
                                  for p in self.personas])

    async def chat(self, request: web.Request) -> web.Response:
        user = self._user(request.match_info["user_id"])
        return web.json_response(chat_messages(self.sandbox, user["id"]))

    async def send(self, request: web.Request) -> web.Response:
        body = await request.json()
        user = self._user(body.get("user_id"))
        text = str(body.get("text", "")).strip()
        if not text:
            raise web.HTTPBadRequest(text="empty message")
        reply_to = self._message(user["id"], body.get("reply_to"))
        msg = self.sandbox.send_private(user, text[:4096], reply_to=reply_to)
        return web.json_response({"id": msg["message_id"]})

    async def press(self, request: web.Request) -> web.Response:
        body = await request.json()
        user = self._user(body.get("user_id"))
        message = self._message(user["id"], body.get("message_id"))
        if message is None:
            raise web.HTTPBadRequest(text="which message?")
        self.sandbox.press(user, message, str(body.get("data", "")))
        return web.json_response({"ok": True})

    async def open_web_app(self, request: web.Request) -> web.Response:
        """What Telegram does for a Mini App button: open its URL with signed initData for the user."""
        user = self._user(request.query.get("user_id"))
        url = request.query.get("url", "")
        if not url.startswith(("http://127.0.0.1", "http://localhost", "/")):
            raise web.HTTPBadRequest(text="the sandbox opens local Mini Apps only")
        init = sign_init_data({k: user[k] for k in ("id", "first_name", "username", "language_code") if k in user},
                              self.sandbox.token)
        # a raw Location header: yarl would decode the %26 inside the fragment
        return web.Response(status=302, headers={
            "Location": f"{url.split('#')[0]}#tgWebAppData={quote(init, safe='')}&tgWebAppPlatform=web"})


def make_sandbox_chat_app(sandbox: BotApiSandbox, personas: list[JSONDict], creator_ids: set[int]) -> web.Application:
    chat = SandboxChat(sandbox, personas, creator_ids)
    app = web.Application()
    app.router.add_get("/", chat.page)
    app.router.add_get("/api/people", chat.people)
    app.router.add_get("/api/chat/{user_id}", chat.chat)
    app.router.add_post("/api/send", chat.send)
    app.router.add_post("/api/press", chat.press)
    app.router.add_get("/open", chat.open_web_app)
    return app
