"""The dashboard as an aiohttp sub-application (mounted under /dashboard/ by the bot's HTTP server).

The shell page and its static files carry no data. Everything under `api/` needs the Mini App's
`initData` in `Authorization: tma <initData>`, valid for the bot's token, fresh, and of a
configured creator; anything else gets 401. Reads run in a worker thread on their own session;
writes go through `services.unit()` like every other write of the bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from bot import texts
from bot.channel import sentiment
from bot.config import Settings
from bot.faq import drafts
from bot.faq.authoring import add_example, edit_answer, remove_example
from bot.faq.entries import import_entries
from bot.faq.handoffs import close_handoff, relay_creator_answer
from bot.faq.model import live_model
from bot.faq.training import start_retrain
from bot.inbox import queue
from bot.kernel.services import Services
from bot.store.models import Handoff, utcnow
from bot.topics import reminding
from bot.topics.reminding import ReminderRefused, set_reminder
from bot.web import views
from bot.web.auth import AuthError, WebAppUser, validate_init_data
from nlp.faq_data import FaqEntry, entry_id_for

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
USER_KEY = web.RequestKey("dashboard-user", WebAppUser)
Action = Callable[[Session, "DashboardApp", WebAppUser, dict[str, str]], str | None]


class DashboardApp:
    def __init__(self, services: Services, now: Callable[[], datetime] = utcnow) -> None:
        self.services = services
        self.now = now
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))

    @property
    def settings(self) -> Settings:
        """The bot's live settings (the creator may change some in the chat)."""
        return self.services.settings

    # ------------------------------------------------------------------ auth
    def authenticate(self, request: web.Request) -> WebAppUser:
        header = request.headers.get("Authorization", "")
        scheme, _, init_data = header.partition(" ")
        if scheme.lower() != "tma":
            raise AuthError("no initData")
        user = validate_init_data(init_data.strip(), self.settings.telegram.token,
                                  self.settings.web.auth_max_age_minutes * 60)
        if not self.settings.is_creator(user.id):
            raise AuthError("not a creator of this bot")
        return user

    @web.middleware
    async def auth_middleware(self, request: web.Request,
                              handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if "/api/" not in request.path:
            return await handler(request)
        try:
            user = self.authenticate(request)
        except AuthError as exc:
            return web.Response(status=401, text=f"401 Unauthorized: {exc}")
        request[USER_KEY] = user
        return await handler(request)

    # ------------------------------------------------------------------ pages
    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    def page_html(self, session: Session, page: str, user: WebAppUser, query: dict[str, str],
                  error: str | None = None) -> str:
        settings, now = self.settings, self.now()
        if page == "overview":
            ctx = views.overview_page(session, settings, now, query.get("period", "week"))
        elif page == "sentiment":
            ctx = views.sentiment_page(session, settings, now)
        elif page == "topics":
            ctx = views.topics_page(session, settings, now, query.get("a", ""), query.get("b", ""))
        elif page == "besttime":
            ctx = views.besttime_page(session, settings, now)
        elif page == "inbox":
            ctx = views.inbox_page(session, settings, now)
        elif page == "faq":
            ctx = views.faq_page(session, settings, now, live_model(self.services))
        elif page == "reminders":
            ctx = views.reminders_page(session, settings, user.id)
        elif page == "asks":
            ctx = views.asks_page(session, settings, now, self.services.models)
        elif page == "plan":
            ctx = views.plan_page(session, settings, now)
        else:
            raise web.HTTPNotFound(text="no such page")
        return self.render(f"{page}.html", error=error, **ctx)

    def _read_page(self, page: str, user: WebAppUser, query: dict[str, str], error: str | None = None) -> str:
        with self.services.sessions() as session:
            return self.page_html(session, page, user, query, error)

    async def shell(self, request: web.Request) -> web.Response:
        html = self.render("shell.html", pages=views.PAGES, titles=views.TITLES)
        return web.Response(text=html, content_type="text/html")

    async def page(self, request: web.Request) -> web.Response:
        user: WebAppUser = request[USER_KEY]
        html = await asyncio.to_thread(self._read_page, request.match_info["name"], user, dict(request.query))
        return web.Response(text=html, content_type="text/html")

    async def action(self, request: web.Request) -> web.Response:
        user: WebAppUser = request[USER_KEY]
        name = request.match_info["action"]
        act = ACTIONS.get(name)
        if act is None:
            raise web.HTTPNotFound(text="no such action")
        page, handler = act
        form = {k: str(v) for k, v in (await request.post()).items()}
        async with self.services.unit() as session:
            error = handler(session, self, user, form)
        html = await asyncio.to_thread(self._read_page, page, user, {}, error)
        return web.Response(text=html, content_type="text/html")


# ---------------------------------------------------------------------- actions (one transaction each)
def _int(form: dict[str, str], key: str) -> int:
    value = form.get(key, "")
    if not value.isdigit():
        raise web.HTTPBadRequest(text=f"{key} must be a number")
    return int(value)


def _edit_answer(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    return edit_answer(session, form.get("entry_id", ""), form.get("answer", ""))


def _add_example(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    # from a follower's question: the example remembers whose (for /forgetme)
    handoff_id = _int(form, "handoff_id") if "handoff_id" in form else None
    answer_id = _int(form, "answer_id") if "answer_id" in form else None
    ok = add_example(session, form.get("entry_id", ""), form.get("question", ""), handoff_id, answer_id)
    return None if ok else "Example not added."


def _remove_example(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    remove_example(session, _int(form, "example_id"))
    return None


def _retrain(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    # after the transaction commits: the training reads the edits just saved
    asyncio.get_running_loop().call_soon(start_retrain, app.services, user.id)
    return None


def _relabel(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    ok = sentiment.relabel(session, _int(form, "comment_id"), form.get("label", ""))
    return None if ok else "That comment is gone."


def _create_reminder(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    try:
        when, extra = reminding.parse_when(form.get("when", "").split(), app.now(), app.settings.tz)
    except reminding.WhenError as exc:
        return str(exc)
    if extra:
        return texts.REMIND_EXTRA_WORDS.format(words=" ".join(extra))
    try:  # the same limits as /remind in the chat
        set_reminder(session, user.id, when, form.get("text", ""))
    except ReminderRefused as exc:
        return str(exc)
    return None


def _cancel_reminder(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    return None if reminding.cancel(session, user.id, _int(form, "reminder_id")) else "That reminder is already gone."


def _open_item(session: Session, form: dict[str, str]) -> Handoff | None:
    row = session.get(Handoff, _int(form, "handoff_id"))
    return row if row is not None and row.status == "open" else None


def _send_draft(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    draft = _open_item(session, form)
    if draft is None or draft.kind != "draft" or not draft.suggested_answer:
        return "That draft is already done."
    toast = drafts.send_draft(app.services, session, draft, user.id)
    return toast if toast == texts.INBOX_CLOSED else None


def _answer_item(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    item, answer = _open_item(session, form), form.get("answer", "").strip()
    if item is None:
        return "That question is already done."
    if not answer:
        return "Write the answer first."
    return None if relay_creator_answer(app.services, session, item, answer, user.id) else texts.INBOX_CLOSED


def _skip_item(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    item = _open_item(session, form)
    if item is None:
        return "That question is already done."
    if item.kind == "draft":
        drafts.skip_draft(session, item)
    else:
        close_handoff(session, item, user.id)
    return None


def _set_mode(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    try:
        queue.set_mode(app.services, session, form.get("inbox", ""), form.get("mode", ""))
    except ValueError:
        return "Pick an inbox and a mode."
    return None


def _faq_from_theme(session: Session, app: DashboardApp, user: WebAppUser, form: dict[str, str]) -> str | None:
    """"Add an FAQ answer" on the Asks page: the theme's questions (as edited) and the creator's answer."""
    questions = [q.strip() for q in form.get("questions", "").splitlines() if q.strip()]
    answer = form.get("answer", "").strip()
    if not questions or not answer:
        return "Give at least one question and the answer."
    import_entries(session, [FaqEntry(entry_id_for(answer), answer, questions)])
    return None


ACTIONS: dict[str, tuple[str, Action]] = {
    "inbox/send": ("inbox", _send_draft),
    "inbox/answer": ("inbox", _answer_item),
    "inbox/skip": ("inbox", _skip_item),
    "inbox/mode": ("inbox", _set_mode),
    "faq/entry": ("faq", _edit_answer),
    "faq/example": ("faq", _add_example),
    "faq/example/delete": ("faq", _remove_example),
    "faq/retrain": ("faq", _retrain),
    "sentiment/relabel": ("sentiment", _relabel),
    "reminders/create": ("reminders", _create_reminder),
    "reminders/cancel": ("reminders", _cancel_reminder),
    "asks/faq": ("asks", _faq_from_theme),
}


def make_dashboard_app(services: Services, now: Callable[[], datetime] = utcnow) -> web.Application:
    """The dashboard sub-application; mount it with `app.add_subapp("/dashboard/", ...)`."""
    dash = DashboardApp(services, now)
    app = web.Application(middlewares=[dash.auth_middleware])
    app.router.add_get("/", dash.shell)
    app.router.add_static("/static/", HERE / "static")
    app.router.add_get("/api/page/{name}", dash.page)
    app.router.add_post("/api/{action:.+}", dash.action)
    return app
