"""What the bot owes somebody goes into the outbox in the handler's transaction; the sender
delivers it (bot/delivery.py), so a failed or rate-limited send is retried, never dropped."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.store.models import OutboxMessage
from bot.texts import PARSE_MODE

FORGETME_PURPOSE = "forgetme"  # the confirmation of /forgetme: deleted once sent, never recorded
OUTBOX_NEW = "outbox_new"  # session.info key: rows queued in this transaction (handed to the sender)


def _queue(session: Session, row: OutboxMessage) -> OutboxMessage:
    session.add(row)
    session.flush()
    session.info.setdefault(OUTBOX_NEW, []).append(row)
    return row


def send_text(
    session: Session,
    chat_id: int,
    text: str,
    *,
    buttons: list[list[tuple[str, str]]] | None = None,
    reply_to: int | None = None,
    purpose: str = "reply",
) -> OutboxMessage:
    """Queue an HTML message. `buttons` are rows of (label, callback data)."""
    params: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": PARSE_MODE,
                              "link_preview_options": {"is_disabled": True}}
    if buttons:
        params["reply_markup"] = {"inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in buttons
        ]}
    if reply_to is not None:
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return _queue(session, OutboxMessage(chat_id=chat_id, method="sendMessage", params=params, purpose=purpose))


def send_file(
    session: Session,
    chat_id: int,
    data: bytes,
    file_name: str,
    *,
    caption: str = "",
    as_photo: bool = False,
    purpose: str = "file",
) -> OutboxMessage:
    """Queue a photo or a document (its bytes travel in the outbox row)."""
    method, field = ("sendPhoto", "photo") if as_photo else ("sendDocument", "document")
    params: dict[str, Any] = {"chat_id": chat_id, "caption": caption, "parse_mode": PARSE_MODE}
    return _queue(session, OutboxMessage(chat_id=chat_id, method=method, params=params, purpose=purpose,
                                         file_field=field, file_name=file_name, file_data=data))


def edit_buttons(session: Session, chat_id: int, message_id: int) -> OutboxMessage:
    """Queue removing the inline keyboard of a message we sent."""
    return _queue(session, OutboxMessage(chat_id=chat_id, method="editMessageReplyMarkup",
                                         params={"chat_id": chat_id, "message_id": message_id}, purpose="edit"))


def answer_callback(session: Session, callback_query_id: str, user_id: int, text: str) -> OutboxMessage:
    """Queue the answer to a button press (the little toast the user sees)."""
    return _queue(session, OutboxMessage(chat_id=user_id, method="answerCallbackQuery",
                                         params={"callback_query_id": callback_query_id, "text": text},
                                         purpose="callback"))


def leave_chat(session: Session, chat_id: int) -> OutboxMessage:
    """Queue leaving a group or channel the bot does not belong in."""
    return _queue(session, OutboxMessage(chat_id=chat_id, method="leaveChat", params={"chat_id": chat_id},
                                         purpose="leave"))
