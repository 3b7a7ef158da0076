"""The one place that builds the PTB Application and wires handlers to it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    TypeHandler,
    filters,
)

from bot.channel import handlers as channel
from bot.channel import sentiment_handlers as sentiment
from bot.config import Settings
from bot.faq import authoring as faq_chat
from bot.faq import followers
from bot.faq import handlers as faq
from bot.kernel import buttons, gate
from bot.kernel import error_handler as errors
from bot.kernel.context import BotContext, attach_services
from bot.kernel.services import Services
from bot.reports import creator
from bot.reports import handlers as reports
from bot.setup import checklist as setup_service
from bot.setup import handlers as setup
from bot.topics import handlers as topics

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]

# Creator commands: name -> handler (gated to the creator ids; others get a polite refusal).
CREATOR_COMMANDS: dict[str, Handler] = {
    "stats": creator.stats,
    "retrain": faq.retrain,
    "close": faq.close,
    "suggest": topics.suggest,
    "besttime": topics.besttime,
    "remind": topics.remind,
    "reminders": topics.list_reminders,
    "abtest": topics.abtest,
    "sentiment": sentiment.mood,
    "report": reports.report,
    "export": reports.export,
    "dashboard": creator.dashboard,
    "setup": setup.checklist,
    "faq": faq.faq_command,
    "cancel": faq.cancel,
    "timezone": setup.timezone,
}
GATE_GROUP = -100  # the gate runs before every other handler group
# Inline-button presses: callback-data prefix -> handler.
CALLBACKS: dict[str, Handler] = {
    buttons.FEEDBACK: faq.feedback,
    buttons.REMINDER_CANCEL: topics.cancel_reminder,
    buttons.RELABEL: sentiment.relabel,
    faq_chat.FAQ_PREFIX: faq.faq_button,
    setup_service.SETUP_PREFIX: setup.button,
}


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


def build_application(settings: Settings, services: Services) -> AnyApplication:
    """A PTB Application with every handler; updates reach it through bot.runtime, not an Updater.

    Jobs are scheduled by the runtime (bot/runtime/jobs.py), which knows which worker leads."""
    root = api_root(settings)
    application: AnyApplication = (
        ApplicationBuilder()
        .token(settings.telegram.token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .updater(None)
        .context_types(ContextTypes(context=BotContext))
        .build()
    )
    attach_services(application, services)
    run_late_jobs(application)
    add_handlers(application, services)
    return application


def add_handlers(application: AnyApplication, services: Services) -> None:
    """Every update passes the gate first (foreign chats, malformed updates, follower rate limits).
    Commands run only from new messages, never from edits; creator commands only in the creator's
    private chat or the inbox group."""
    settings = services.settings
    application.add_handler(TypeHandler(Update, gate.gate), group=GATE_GROUP)
    new_message = filters.UpdateType.MESSAGE
    private = filters.ChatType.PRIVATE
    creators = filters.User(user_id=list(settings.creator.user_ids), allow_empty=False)
    inbox = ConfiguredChat(services, lambda s: s.creator.inbox_chat_id, zero_is_any=False)
    creator_chats = private | inbox
    application.add_handler(CommandHandler("start", setup.checklist, filters=creators & private & new_message))
    for name, handler in CREATOR_COMMANDS.items():
        application.add_handler(CommandHandler(name, handler, filters=creators & creator_chats & new_message))
    application.add_handler(CommandHandler(list(CREATOR_COMMANDS), creator.refuse, filters=new_message))

    application.add_handler(CommandHandler("start", followers.start, filters=private & new_message))
    application.add_handler(CommandHandler("help", followers.help_command, filters=private & new_message))
    application.add_handler(CommandHandler("forgetme", reports.forgetme, filters=private & new_message))
    # before the group handler, so a reply in the inbox group is never taken for a comment
    application.add_handler(MessageHandler(
        creators & creator_chats & filters.REPLY & new_message & ~filters.COMMAND, faq.creator_reply))

    channel_filter = filters.UpdateType.CHANNEL_POSTS & ConfiguredChat(services, lambda s: s.channel.id)
    application.add_handler(MessageHandler(channel_filter, channel.channel_post))
    group_filter = (filters.ChatType.GROUPS & filters.UpdateType.MESSAGES & ~inbox
                    & ConfiguredChat(services, lambda s: s.channel.discussion_group_id))
    application.add_handler(MessageHandler(group_filter, channel.group_message))

    application.add_handler(MessageReactionHandler(
        channel.reaction_count, message_reaction_types=MessageReactionHandler.MESSAGE_REACTION_COUNT_UPDATED))
    application.add_handler(ChatMemberHandler(channel.chat_member, ChatMemberHandler.CHAT_MEMBER))
    application.add_handler(ChatMemberHandler(setup.bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    for prefix, handler in CALLBACKS.items():
        application.add_handler(CallbackQueryHandler(handler, pattern=f"^{prefix}:"))
    application.add_handler(CallbackQueryHandler(faq.expired_button))
    application.add_handler(MessageHandler(
        creators & private & new_message & filters.Document.ALL, faq.faq_file))
    application.add_handler(MessageHandler(private & new_message & filters.COMMAND, followers.unknown_command))
    application.add_handler(MessageHandler(private & new_message, followers.private_message))
    application.add_error_handler(errors.on_error)


def run_late_jobs(application: AnyApplication) -> None:
    """A job the loop could not start on time (a busy second) runs late instead of being skipped
    with an APScheduler "was missed by" warning."""
    jq = application.job_queue
    if jq is not None:
        jq.scheduler.configure(job_defaults={"misfire_grace_time": None, "coalesce": True},
                               **jq.scheduler_configuration)
