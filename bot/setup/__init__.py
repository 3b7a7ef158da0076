"""Setup: the creator's checklist (/start, /setup), chats the bot is added to, settings changed in
the chat (/timezone), and the dashboard button.

`register` hands the runtime its commands, the bot-membership handler and its buttons.
"""

from __future__ import annotations

from telegram.ext import ChatMemberHandler

from bot.kernel.registry import Registry
from bot.setup import checklist, handlers


def register(reg: Registry) -> None:
    reg.creator_start = handlers.checklist
    for name, handler in {"setup": handlers.checklist, "timezone": handlers.timezone,
                          "dashboard": handlers.dashboard}.items():
        reg.command(name, handler)
    reg.handler(lambda f: ChatMemberHandler(handlers.bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    reg.callback(checklist.SETUP_PREFIX, handlers.button)
