"""The creator's setup in the chat: the /start and /setup checklist, chats the bot is added to, /timezone."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot import texts
from bot.config import ConfigError
from bot.kernel.context import BotContext
from bot.kernel.live_settings import change_settings
from bot.kernel.outbox import answer_callback, send_text
from bot.kernel.stats import faq_entry_count
from bot.setup import checklist as setup


async def _api(context: BotContext, method: str, **params: Any) -> Any:
    return await context.bot.do_api_request(method, api_kwargs=params)


async def probe(context: BotContext, chat_id: int) -> setup.ChatProbe | None:
    """Ask Telegram what the chat is and whether the bot is an admin there (None: not configured)."""
    if not chat_id:
        return None
    try:
        chat = await _api(context, "getChat", chat_id=chat_id)
        member = await _api(context, "getChatMember", chat_id=chat_id, user_id=context.bot.id)
    except TelegramError as exc:
        return setup.ChatProbe(chat_id, error=str(exc))
    title = str(chat.get("title") or chat.get("username") or chat_id)
    return setup.ChatProbe(chat_id, title, str(member.get("status")), chat.get("linked_chat_id"))


async def send_checklist(context: BotContext, chat_id: int) -> None:
    session, services = context.session, context.services
    settings = services.settings
    model = services.faq_model
    faq = setup.FaqState(faq_entry_count(session), model.version if model is not None else None,
                         model is not None and model.training.locked())
    items = setup.checklist(
        session, settings, context.bot.username,
        await probe(context, settings.channel.id), await probe(context, settings.channel.discussion_group_id),
        await probe(context, settings.creator.inbox_chat_id), faq)
    text, buttons = setup.render_checklist(items)
    send_text(session, chat_id, text, buttons=buttons)


async def checklist(update: Update, context: BotContext) -> None:
    """/start and /setup from the creator: what is set up, and what to do next."""
    message = update.effective_message
    assert message is not None
    await send_checklist(context, message.chat_id)


async def bot_membership(update: Update, context: BotContext) -> None:
    """The bot was added to (or removed from) a chat: remember it and offer it to the creator."""
    change = update.my_chat_member
    assert change is not None
    chat = change.chat
    if chat.type == "private":
        return
    row = setup.record_bot_membership(context.session, chat.id, chat.type, chat.title or chat.username or "",
                                      str(change.new_chat_member.status))
    settings = context.services.settings
    offer = setup.offer_for_new_chat(settings, row)
    creator_chat = settings.creator_chat_id
    if offer is not None and creator_chat is not None:
        send_text(context.session, creator_chat, offer[0], buttons=offer[1])


async def button(update: Update, context: BotContext) -> None:
    """A setup button: use a chat the bot was added to as the channel, the discussion group or the inbox."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    chat_id = query.message.chat.id if query.message else query.from_user.id
    session, services = context.session, context.services
    if len(parts) != 3 or not parts[2].lstrip("-").isdigit() or not services.settings.is_creator(query.from_user.id):
        answer_callback(session, query.id, query.from_user.id, texts.FEEDBACK_UNKNOWN)
        return
    kind, target = parts[1], int(parts[2])
    if not setup.use_known_chat(services, session, kind, target):
        answer_callback(session, query.id, query.from_user.id, texts.SETUP_BUTTON_GONE)
        return
    title = texts.esc(setup.known_title(session, target))
    answer_callback(session, query.id, query.from_user.id, "✅")
    saved = {"channel": texts.SETUP_SAVED_CHANNEL, "group": texts.SETUP_SAVED_GROUP, "inbox": texts.SETUP_SAVED_INBOX}
    send_text(session, chat_id, saved[kind].format(title=title))
    await send_checklist(context, chat_id)


async def timezone(update: Update, context: BotContext) -> None:
    """/timezone Europe/Berlin: the zone for reports, reminders and best times."""
    message = update.effective_message
    assert message is not None
    session, services = context.session, context.services
    args = list(context.args or [])
    if len(args) != 1:
        send_text(session, message.chat_id, texts.TIMEZONE_USAGE.format(tz=texts.esc(services.settings.schedule.timezone)))
        return
    try:
        change_settings(services, session, {"schedule.timezone": args[0]})
    except ConfigError:
        send_text(session, message.chat_id, texts.TIMEZONE_BAD.format(tz=texts.esc(args[0])))
        return
    send_text(session, message.chat_id, texts.TIMEZONE_SET.format(tz=texts.esc(args[0])))


async def dashboard(update: Update, context: BotContext) -> None:
    """A button that opens the dashboard Mini App (Telegram signs who opens it)."""
    message = update.effective_message
    assert message is not None
    url = context.services.settings.web.public_url
    if not url:
        send_text(context.session, message.chat_id, texts.DASHBOARD_OFF)
        return
    send_text(context.session, message.chat_id, texts.DASHBOARD_OPEN, web_app=(texts.DASHBOARD_BUTTON, url))
