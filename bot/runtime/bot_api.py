"""Outbox rows into Bot API calls: the one place that knows Telegram's wire format for sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.kernel import outbox
from bot.store.models import OutboxMessage
from bot.texts import PARSE_MODE


def never_sendable(exc: TelegramError) -> bool:
    """400 and 403 (and 413, which PTB reports as a NetworkError) will fail the same way again."""
    if isinstance(exc, BadRequest | Forbidden):
        return True
    text = str(exc).lower()
    return isinstance(exc, NetworkError) and ("413" in text or "too large" in text)


def retry_after_seconds(exc: RetryAfter) -> float:
    """A 429's `retry_after` in seconds (PTB gives a timedelta or a number)."""
    after = exc.retry_after
    return after.total_seconds() if isinstance(after, timedelta) else float(after)


def passing_failure(exc: BaseException) -> bool:
    """Telegram failed for now (the network, a 5xx, a 429), not for good: the same call may work later."""
    return isinstance(exc, RetryAfter) or (isinstance(exc, NetworkError) and not never_sendable(exc))


class NotSendable(ValueError):
    """The row cannot become a Bot API call (unknown kind, fields erased)."""


@dataclass(frozen=True)
class BotApiCall:
    method: str
    kwargs: dict[str, Any]

    @property
    def sends_message(self) -> bool:
        return self.method.startswith("send")


def _file(row: OutboxMessage) -> InputFile:
    if row.file_data is None:
        raise NotSendable("the file's bytes are gone")
    return InputFile(row.file_data, filename=row.file_name or "file")


def bot_api_call(row: OutboxMessage) -> BotApiCall:
    """The Bot API method and arguments that deliver `row` to `row.chat_id`."""
    p, chat_id = row.params or {}, row.chat_id
    if row.method == outbox.TEXT:
        if "text" not in p:
            raise NotSendable("the text is gone")
        kwargs: dict[str, Any] = {"chat_id": chat_id, "text": p["text"], "parse_mode": PARSE_MODE,
                                  "link_preview_options": {"is_disabled": True}}
        keyboard = [[{"text": label, "callback_data": data} for label, data in line] for line in p.get("buttons", [])]
        if p.get("web_app"):
            keyboard.append([{"text": p["web_app"][0], "web_app": {"url": p["web_app"][1]}}])
        if keyboard:
            kwargs["reply_markup"] = {"inline_keyboard": keyboard}
        if p.get("reply_to") is not None:
            kwargs["reply_parameters"] = {"message_id": p["reply_to"], "allow_sending_without_reply": True}
        if p.get("business_connection_id"):  # the creator's own chat, as the creator (Telegram Business)
            kwargs["business_connection_id"] = p["business_connection_id"]
        if p.get("direct_messages_topic_id") is not None:  # a follower's topic of the channel's direct messages
            kwargs["direct_messages_topic_id"] = p["direct_messages_topic_id"]
        return BotApiCall("sendMessage", kwargs)
    if row.method in (outbox.PHOTO, outbox.DOCUMENT):
        field, method = ("photo", "sendPhoto") if row.method == outbox.PHOTO else ("document", "sendDocument")
        return BotApiCall(method, {"chat_id": chat_id, "caption": p.get("caption", ""), "parse_mode": PARSE_MODE,
                                   field: _file(row)})
    if row.method == outbox.REMOVE_BUTTONS:
        edit: dict[str, Any] = {"chat_id": chat_id, "message_id": p["message_id"]}
        if p.get("buttons"):  # a smaller keyboard instead of none
            edit["reply_markup"] = {"inline_keyboard": [[{"text": label, "callback_data": data} for label, data in line]
                                                        for line in p["buttons"]]}
        return BotApiCall("editMessageReplyMarkup", edit)
    if row.method == outbox.CALLBACK_ANSWER:
        return BotApiCall("answerCallbackQuery", {"callback_query_id": p["callback_query_id"],
                                                  "text": p.get("text", "")})
    if row.method == outbox.PIN:
        return BotApiCall("pinChatMessage", {"chat_id": chat_id, "message_id": p["message_id"],
                                             "disable_notification": True})
    if row.method == outbox.LEAVE_CHAT:
        return BotApiCall("leaveChat", {"chat_id": chat_id})
    raise NotSendable(f"unknown outbox kind {row.method!r}")
