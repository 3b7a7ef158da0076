"""Serving the dashboard: the sub-applications to mount, a plain HTTP site for polling mode, and the
bot's menu button that opens it."""

from __future__ import annotations

from contextlib import suppress

from aiohttp import web
from telegram import Bot, MenuButtonWebApp, WebAppInfo

from bot import texts
from bot.config import Settings
from bot.kernel.services import Services
from bot.web.app import make_dashboard_app

DASHBOARD_PATH = "/dashboard/"


def web_subapps(services: Services) -> dict[str, web.Application]:
    """What the bot's HTTP server mounts: the dashboard when it is configured."""
    web_cfg = services.settings.web
    if not (web_cfg.public_url or web_cfg.port):
        return {}
    return {DASHBOARD_PATH: make_dashboard_app(services)}


def mount(app: web.Application, subapps: dict[str, web.Application]) -> None:
    for prefix, sub in subapps.items():
        app.add_subapp(prefix, sub)


class WebServer:
    """A plain HTTP site for the sub-applications (polling mode; put a TLS proxy in front)."""

    def __init__(self, listen: str, port: int, subapps: dict[str, web.Application]) -> None:
        self.listen, self.port, self.subapps = listen, port, subapps
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        app = web.Application()
        mount(app, self.subapps)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.port
        return self.port

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()


async def set_dashboard_menu_button(bot: Bot, settings: Settings) -> None:
    """The menu button of each creator's chat opens the dashboard (followers keep the default)."""
    url = settings.web.public_url
    if not url:
        return
    for user_id in settings.creator.user_ids:
        with suppress(Exception):
            await bot.set_chat_menu_button(chat_id=user_id, menu_button=MenuButtonWebApp(
                texts.DASHBOARD_BUTTON, WebAppInfo(url)))
