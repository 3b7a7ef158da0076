"""The typed CallbackContext every handler receives."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.orm import Session
from telegram.ext import Application, CallbackContext, ExtBot

from bot.kernel.services import Services

SERVICES_KEY = "services"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> Services:
        return cast(Services, self.application.bot_data[SERVICES_KEY])

    @property
    def session(self) -> Session:
        return self.services.session


def attach_services(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    application.bot_data[SERVICES_KEY] = services
