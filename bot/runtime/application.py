"""Builds the PTB Application from what the features registered (`bot.kernel.registry.Registry`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
    filters,
)

from bot import texts
from bot.config import Settings
from bot.kernel import error_handler, gate
from bot.kernel.context import BotContext, attach_services
from bot.kernel.outbox import answer_callback, send_text
from bot.kernel.registry import Filters
from bot.kernel.services import Services
from bot.runtime import connections

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
GATE_GROUP = -100  # the gate runs before every other handler group


class ConfiguredChat(filters.MessageFilter):
    """Messages in the chat a setting names, read from the live settings (they may change in the chat).

    A setting of 0 matches any chat when `zero_is_any`, else none.
    """

    def __init__(self, services: Services, pick: Callable[[Settings], int], zero_is_any: bool = True) -> None:
        super().__init__(name="ConfiguredChat")
        self.services, self.pick, self.zero_is_any = services, pick, zero_is_any

    def filter(self, message: Message) -> bool:
        wanted = self.pick(self.services.settings)
        return message.chat.id == wanted if wanted else self.zero_is_any


def api_root(settings: Settings) -> str:
    return settings.telegram.base_url.rstrip("/")


def build_application(services: Services) -> AnyApplication:
    """A PTB Application with every registered handler; updates reach it through bot.runtime, not an
    Updater. Jobs are scheduled by the runtime (bot/runtime/jobs.py), which knows which worker leads."""
    root = api_root(services.settings)
    application: AnyApplication = (
        ApplicationBuilder()
        .token(services.settings.telegram.token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .request(connections.request())
        .get_updates_request(connections.request(connections.GET_UPDATES_POOL))
        .updater(None)
        .context_types(ContextTypes(context=BotContext))
        .build()
    )
    attach_services(application, services)
    run_late_jobs(application)
    add_handlers(application, services)
    return application


def chat_filters(services: Services) -> Filters:
    settings = services.settings
    inbox = ConfiguredChat(services, lambda s: s.creator.inbox_chat_id, zero_is_any=False)
    return Filters(
        creators=filters.User(user_id=list(settings.creator.user_ids), allow_empty=False),
        private=filters.ChatType.PRIVATE,
        new_message=filters.UpdateType.MESSAGE,
        creator_chats=filters.ChatType.PRIVATE | inbox,
        inbox=inbox,
        channel=filters.UpdateType.CHANNEL_POSTS & ConfiguredChat(services, lambda s: s.channel.id),
        discussion_group=(filters.ChatType.GROUPS & filters.UpdateType.MESSAGES & ~inbox
                          & ConfiguredChat(services, lambda s: s.channel.discussion_group_id)),
    )


def add_handlers(application: AnyApplication, services: Services) -> None:
    """Every update passes the gate first (foreign chats, malformed updates, follower rate limits).
    Commands run only from new messages, never from edits; creator commands only in the creator's
    private chat or the inbox group. Then each feature's handlers in the order the features were
    registered (bot/app.py), button presses by prefix, and the fallbacks last."""
    registry = services.registry
    f = chat_filters(services)
    application.add_handler(TypeHandler(Update, gate.gate), group=GATE_GROUP)
    if registry.creator_start is not None:
        application.add_handler(CommandHandler("start", registry.creator_start,
                                               filters=f.creators & f.private & f.new_message))
    for name, handler in registry.creator_commands.items():
        application.add_handler(CommandHandler(name, handler, filters=f.creators & f.creator_chats & f.new_message))
    if registry.creator_commands:
        application.add_handler(CommandHandler(list(registry.creator_commands), refuse, filters=f.new_message))
    for name, handler in registry.private_commands.items():
        application.add_handler(CommandHandler(name, handler, filters=f.private & f.new_message))
    for make in registry.handlers:
        application.add_handler(make(f))
    for prefix, handler in registry.callbacks.items():
        application.add_handler(CallbackQueryHandler(handler, pattern=f"^{prefix}:"))
    application.add_handler(CallbackQueryHandler(expired_button))
    for make in registry.fallbacks:
        application.add_handler(make(f))
    application.add_error_handler(error_handler.on_error)


async def refuse(update: Update, context: BotContext) -> None:
    """A creator command from someone else, or from the creator in another chat.

    Followers get a polite refusal in private (never a word in a group); the creator is told in
    private where creator commands work, so the answer never lands in a public chat."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    if context.services.settings.is_creator(user.id):
        send_text(context.session, user.id, texts.CREATOR_CHAT_ONLY)
    elif message.chat.type == "private":
        send_text(context.session, message.chat_id, texts.CREATOR_ONLY)


async def expired_button(update: Update, context: BotContext) -> None:
    """Any button press no other handler took (forged or stale data): "expired", never a traceback."""
    query = update.callback_query
    assert query is not None
    answer_callback(context.session, query.id, query.from_user.id, texts.FEEDBACK_UNKNOWN)


def run_late_jobs(application: AnyApplication) -> None:
    """A job the loop could not start on time (a busy second) runs late instead of being skipped
    with an APScheduler "was missed by" warning."""
    jq = application.job_queue
    if jq is not None:
        jq.scheduler.configure(job_defaults={"misfire_grace_time": None, "coalesce": True},
                               **jq.scheduler_configuration)
