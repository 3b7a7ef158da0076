"""What the bot owes somebody goes into the outbox in the handler's transaction; the sender
delivers it (bot/runtime/sender.py), so a failed or rate-limited send is retried, never dropped.

Rows say what to deliver in plain terms (a kind and its fields); the sender turns them into Bot API
calls (bot/runtime/bot_api.py), so nothing here depends on Telegram's wire format.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.kernel.messages import BOT_CHAT, TEXT_LIMIT, ReplyTarget
from bot.store.models import OutboxMessage, OutboxPerson
from bot.store.scope import insert_row

FORGETME_PURPOSE = "forgetme"  # the confirmation of /forgetme: deleted once sent, never recorded
HANDOFF_PURPOSE = "handoff"  # a note to the creator about one handoff (`handoff_id`)
RELAY_PURPOSE = "relay"  # the creator's answer on its way to the follower (`handoff_id`)
DIGEST_PURPOSE = "handoff-digest"  # a digest of waiting follower questions, sent to the creator
ALERT_PURPOSE = "sentiment-alert"  # a sentiment alert: /forgetme redacts it rather than deleting it

# Outbox kinds (OutboxMessage.method)
TEXT = "text"
PHOTO = "photo"
DOCUMENT = "document"
REMOVE_BUTTONS = "remove_buttons"
CALLBACK_ANSWER = "callback_answer"
LEAVE_CHAT = "leave_chat"
PIN = "pin"


@dataclass(frozen=True)
class Queued:
    """An outbox row just written: its id (the row itself is changed by statements, never through this)."""

    id: int
    chat_id: int


def _queue(session: Session, chat_id: int, method: str, params: dict[str, Any], purpose: str,
           **columns: Any) -> Queued:
    """Write an outbox row (one Core INSERT: most updates write one, bot/store/scope.py `insert_row`)."""
    return Queued(insert_row(session, OutboxMessage, {"chat_id": chat_id, "method": method, "params": params,
                                                      "purpose": purpose, **columns}), chat_id)


def send_text(
    session: Session,
    chat_id: int,
    text: str,
    *,
    buttons: list[list[tuple[str, str]]] | None = None,
    web_app: tuple[str, str] | None = None,
    reply_to: int | None = None,
    purpose: str = "reply",
    handoff_id: int | None = None,
    about: Iterable[int] = (),
    target: ReplyTarget | None = None,
) -> Queued:
    """Queue a message (text in the bot's parse mode). `buttons` are rows of (label, callback data);
    `web_app` is (label, URL) of a button that opens a Mini App; `handoff_id`: the handoff it is about.
    `about`: the followers whose words or names the text quotes, when it goes to somebody else (the
    creator): /forgetme finds the row, the copy recorded once it is sent and stored replies to it by
    their ids (`outbox_people`). `target` says which inbox of `chat_id` it goes to (a Business
    connection, a topic of the channel's direct messages)."""
    parts = split_text(text)
    for part in parts[:-1]:  # a long reply goes as several messages, in order; the buttons go under the last
        _text_row(session, chat_id, part, None, None, reply_to, purpose, handoff_id, about, target)
    return _text_row(session, chat_id, parts[-1], buttons, web_app, reply_to, purpose, handoff_id, about, target)


def _text_row(session: Session, chat_id: int, text: str, buttons: list[list[tuple[str, str]]] | None,
              web_app: tuple[str, str] | None, reply_to: int | None, purpose: str, handoff_id: int | None,
              about: Iterable[int], target: ReplyTarget | None) -> Queued:
    params: dict[str, Any] = {"text": text}
    if target is not None and target.business_connection_id:
        params["business_connection_id"] = target.business_connection_id
    if target is not None and target.direct_messages_topic_id is not None:
        params["direct_messages_topic_id"] = target.direct_messages_topic_id
    if buttons:
        params["buttons"] = [[[label, data] for label, data in row] for row in buttons]
    if web_app:
        params["web_app"] = list(web_app)
    if reply_to is not None:
        params["reply_to"] = reply_to
    row = _queue(session, chat_id, TEXT, params, purpose, handoff_id=handoff_id)
    for user_id in sorted(set(about) - {chat_id}):
        session.add(OutboxPerson(outbox_id=row.id, user_id=user_id))
    return row


_TAG = re.compile(r"<[^>]*>")


def _units(text: str) -> int:
    """The length Telegram limits: UTF-16 code units of the text as shown (HTML tags and entities parsed)."""
    return len(html.unescape(_TAG.sub("", text)).encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` (HTML) in parts of at most `limit` UTF-16 units as shown, cut between lines (our HTML never
    spans a line), a line longer than the limit cut between characters."""
    if _units(text) <= limit:
        return [text]
    parts: list[str] = []
    current, size = "", 0  # the part being filled and its length as shown
    for line in text.split("\n"):
        while _units(line) > limit:  # one line alone is too long: cut it
            cut = limit
            while _units(line[:cut]) > limit:
                cut -= 1
            if current:
                parts.append(current)
                current, size = "", 0
            parts.append(line[:cut])
            line = line[cut:]
        units = _units(line)
        if current and size + 1 + units > limit:
            parts.append(current)
            current, size = line, units
        else:
            current, size = (f"{current}\n{line}", size + 1 + units) if current else (line, units)
    if current or not parts:
        parts.append(current)
    return parts


def target_of(params: dict[str, Any] | None) -> ReplyTarget:
    """The reply target an outbox row's params name (the bot's own chat when none)."""
    p = params or {}
    topic = p.get("direct_messages_topic_id")
    return ReplyTarget(p.get("business_connection_id") or None, int(topic) if topic is not None else None)


def inbox_of(params: dict[str, Any] | None) -> str:
    """The inbox a sent message belongs to (for the record of direct messages)."""
    return target_of(params).inbox if params else BOT_CHAT


def send_file(
    session: Session,
    chat_id: int,
    data: bytes,
    file_name: str,
    *,
    caption: str = "",
    as_photo: bool = False,
    purpose: str = "file",
) -> Queued:
    """Queue a photo or a document (its bytes travel in the outbox row)."""
    return _queue(session, chat_id, PHOTO if as_photo else DOCUMENT, {"caption": caption}, purpose,
                  file_name=file_name, file_data=data)


def edit_buttons(session: Session, chat_id: int, message_id: int,
                 buttons: list[list[tuple[str, str]]] | None = None) -> Queued:
    """Queue removing the inline keyboard of a message we sent (or replacing it with `buttons`)."""
    params: dict[str, Any] = {"message_id": message_id}
    if buttons:
        params["buttons"] = [[[label, data] for label, data in row] for row in buttons]
    return _queue(session, chat_id, REMOVE_BUTTONS, params, "edit")


def answer_callback(session: Session, callback_query_id: str, user_id: int, text: str) -> Queued:
    """Queue the answer to a button press (the little toast the user sees)."""
    return _queue(session, user_id, CALLBACK_ANSWER, {"callback_query_id": callback_query_id, "text": text},
                  "callback")


def pin_message(session: Session, chat_id: int, message_id: int, purpose: str = "pin") -> Queued:
    """Queue pinning a message the bot sent (`message_id` in `chat_id`), without a notification."""
    return _queue(session, chat_id, PIN, {"message_id": message_id}, purpose)


def leave_chat(session: Session, chat_id: int) -> Queued:
    """Queue leaving a group or channel the bot does not belong in."""
    return _queue(session, chat_id, LEAVE_CHAT, {}, "leave")
