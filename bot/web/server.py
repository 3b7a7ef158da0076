"""Serving the dashboard: the sub-application the runtime mounts and the bot's menu button that opens it."""

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



async def set_dashboard_menu_button(bot: Bot, settings: Settings) -> None:
    """The menu button of each creator's chat opens the dashboard (followers keep the default)."""
    url = settings.web.public_url
    if not url:
        return
    for user_id in settings.creator.user_ids:
        with suppress(Exception):
            await bot.set_chat_menu_button(chat_id=user_id, menu_button=MenuButtonWebApp(
                texts.DASHBOARD_BUTTON, WebAppInfo(url)))
