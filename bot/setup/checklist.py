"""The creator's setup: settings changed in the chat, chats the bot was added to, and the checklist.

Telegram-free: the handler asks Telegram about the chats and passes what it learned as `ChatProbe`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel.buttons import RETRAIN_BUTTONS
from bot.kernel.chats import PRESENT
from bot.kernel.live_settings import change_settings, overrides, report_schedule_text
from bot.kernel.services import Services
from bot.store.models import KnownChat, SettingOverride

SETUP_PREFIX = "setup"
ADMIN = {"administrator", "creator"}


# --- chats the bot was added to -------------------------------------------------------------

def record_bot_membership(session: Session, chat_id: int, chat_type: str, title: str, status: str) -> KnownChat:
    row = session.get(KnownChat, chat_id)
    if row is None:
        row = KnownChat(chat_id=chat_id, type=chat_type, title=title, bot_status=status)
        session.add(row)
    else:
        row.type, row.title, row.bot_status = chat_type, title, status
    session.flush()
    return row


def known_title(session: Session, chat_id: int) -> str:
    row = session.get(KnownChat, chat_id)
    return (row.title if row is not None else "") or str(chat_id)


def known_chats(session: Session, kind: str) -> list[KnownChat]:
    """Chats of `kind` ("channel" or "group") the bot is currently in, newest first."""
    types = ("channel",) if kind == "channel" else ("group", "supergroup")
    return list(session.scalars(select(KnownChat).where(KnownChat.type.in_(types), KnownChat.bot_status.in_(PRESENT))
                                .order_by(KnownChat.updated_at.desc())))


def offer_for_new_chat(settings: Settings, chat: KnownChat) -> tuple[str, list[list[tuple[str, str]]]] | None:
    """What to tell the creator when the bot was added somewhere (None: nothing to offer)."""
    title = texts.esc(chat.title or str(chat.chat_id))
    if chat.bot_status not in PRESENT:  # removed: say so when it was one of the configured chats
        configured = (settings.channel.id, settings.channel.discussion_group_id, settings.creator.inbox_chat_id)
        return (texts.SETUP_REMOVED.format(title=title), []) if chat.chat_id in configured else None
    if chat.type == "channel":
        if settings.channel.id == chat.chat_id:
            return None
        return (texts.SETUP_ADDED_CHANNEL.format(title=title),
                [[(texts.SETUP_USE_BUTTON.format(title=chat.title), f"{SETUP_PREFIX}:channel:{chat.chat_id}")]])
    if settings.channel.discussion_group_id == chat.chat_id:
        return None
    if settings.creator.inbox_chat_id == chat.chat_id:
        return None
    note = "" if chat.bot_status in ADMIN else texts.SETUP_GROUP_NOT_ADMIN
    return (texts.SETUP_ADDED_GROUP.format(title=title) + note,
            [[(texts.SETUP_USE_BUTTON.format(title=chat.title), f"{SETUP_PREFIX}:group:{chat.chat_id}")],
             [(texts.SETUP_INBOX_BUTTON.format(title=chat.title), f"{SETUP_PREFIX}:inbox:{chat.chat_id}")]])


def use_known_chat(services: Services, session: Session, kind: str, chat_id: int) -> bool:
    """A "use it" button: store the chat as the channel or the discussion group (only chats the bot is in)."""
    chat = session.get(KnownChat, chat_id)
    if chat is None or chat.bot_status not in PRESENT:
        return False
    if kind == "channel" and chat.type == "channel":
        change_settings(services, session, {"channel.id": chat_id})
        return True
    keys = {"group": "channel.discussion_group_id", "inbox": "creator.inbox_chat_id"}
    if kind in keys and chat.type in ("group", "supergroup"):
        change_settings(services, session, {keys[kind]: chat_id})
        return True
    return False


# --- the checklist ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ChatProbe:
    """What Telegram says about a configured chat (from getChat and getChatMember)."""

    chat_id: int
    title: str = ""
    bot_status: str | None = None  # None: the bot could not look (not a member, or no such chat)
    linked_chat_id: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class FaqState:
    entries: int
    version: str | None
    training: bool = False


@dataclass
class Item:
    ok: bool | None  # None: optional and not used
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)


def _chat_title(probe: ChatProbe) -> str:
    return texts.esc(probe.title or str(probe.chat_id))


def _channel_item(session: Session, settings: Settings, channel: ChatProbe | None) -> Item:
    offers = [(texts.SETUP_USE_BUTTON.format(title=c.title), f"{SETUP_PREFIX}:channel:{c.chat_id}")
              for c in known_chats(session, "channel")[:3] if c.chat_id != settings.channel.id]
    if channel is None:
        return Item(False, texts.SETUP_CHANNEL_UNSET, offers)
    if channel.bot_status in ADMIN:
        return Item(True, texts.SETUP_CHANNEL_OK.format(title=_chat_title(channel), id=channel.chat_id))
    return Item(False, texts.SETUP_CHANNEL_NOT_ADMIN.format(title=_chat_title(channel), id=channel.chat_id), offers)


def _group_item(session: Session, settings: Settings, channel: ChatProbe | None, group: ChatProbe | None) -> Item:
    linked = channel.linked_chat_id if channel is not None else None
    offers = [(texts.SETUP_USE_BUTTON.format(title=c.title), f"{SETUP_PREFIX}:group:{c.chat_id}")
              for c in known_chats(session, "group")[:3] if c.chat_id != settings.channel.discussion_group_id]
    if linked:  # the channel's own discussion group first
        offers.sort(key=lambda o: o[1] != f"{SETUP_PREFIX}:group:{linked}")
    if group is None:
        return Item(False, texts.SETUP_GROUP_UNSET, offers)
    if channel is not None and linked is not None and linked != group.chat_id:
        return Item(False, texts.SETUP_GROUP_NOT_LINKED.format(title=_chat_title(group)), offers)
    if group.bot_status in ADMIN:
        return Item(True, texts.SETUP_GROUP_OK.format(title=_chat_title(group), id=group.chat_id))
    return Item(False, texts.SETUP_GROUP_NOT_ADMIN.format(title=_chat_title(group), id=group.chat_id), offers)


def _inbox_item(session: Session, settings: Settings, inbox: ChatProbe | None) -> Item:
    if inbox is None:
        offers = [(texts.SETUP_INBOX_BUTTON.format(title=c.title), f"{SETUP_PREFIX}:inbox:{c.chat_id}")
                  for c in known_chats(session, "group")[:2] if c.chat_id != settings.channel.discussion_group_id]
        return Item(None, texts.SETUP_INBOX_UNSET, offers)
    if inbox.bot_status in PRESENT:
        return Item(True, texts.SETUP_INBOX_OK.format(title=_chat_title(inbox)))
    return Item(False, texts.SETUP_INBOX_MISSING.format(id=inbox.chat_id))


def _faq_item(faq: FaqState) -> Item:
    if faq.entries == 0:
        return Item(False, texts.SETUP_FAQ_NONE)
    if faq.version is None:
        if faq.training:
            return Item(False, texts.SETUP_FAQ_TRAINING.format(entries=faq.entries))
        return Item(False, texts.SETUP_FAQ_UNTRAINED.format(entries=faq.entries), RETRAIN_BUTTONS[0])
    return Item(True, texts.SETUP_FAQ_OK.format(entries=faq.entries, version=faq.version))


def _schedule_item(session: Session, settings: Settings) -> Item:
    sched = settings.schedule
    when = report_schedule_text(settings)
    if sched.timezone == "UTC" and session.get(SettingOverride, "schedule.timezone") is None:  # UTC by default
        return Item(False, texts.SETUP_SCHEDULE_UTC.format(when=when))
    return Item(True, texts.SETUP_SCHEDULE_OK.format(when=when, tz=texts.esc(sched.timezone)))


def checklist(session: Session, settings: Settings, bot_name: str, channel: ChatProbe | None,
              group: ChatProbe | None, inbox: ChatProbe | None, faq: FaqState) -> list[Item]:
    return [
        Item(True, texts.SETUP_TOKEN_OK.format(bot=texts.esc(bot_name))),
        _channel_item(session, settings, channel),
        _group_item(session, settings, channel, group),
        _inbox_item(session, settings, inbox),
        _faq_item(faq),
        _schedule_item(session, settings),
    ]


def render_checklist(items: list[Item]) -> tuple[str, list[list[tuple[str, str]]]]:
    """The checklist as HTML text and its button rows."""
    marks = {True: "✅", False: "❌", None: "➖"}
    lines = [texts.SETUP_HEADER] + [f"{marks[i.ok]} {i.text}" for i in items]
    done = all(i.ok is not False for i in items)
    lines.append(texts.SETUP_ALL_DONE if done else texts.SETUP_FOOTER)
    buttons = [[b] for i in items for b in i.buttons]
    return "\n".join(lines), buttons


def chat_settings_report(file_settings: Settings) -> list[str]:
    """Lines for `check-config`: each setting changed in the chat, with what the file says (empty: none).

    Reads the database without migrating it; a database that is missing or not yet set up has none.
    """
    from pathlib import Path

    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.creators import UnknownCreator, creator_id_of
    from bot.store.db import make_engine, make_sessionmaker

    url = file_settings.database.url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine, creator_id_of(engine, file_settings.creator_name))() as session:
            stored = overrides(session)
    except (SQLAlchemyError, UnknownCreator):
        return []
    finally:
        engine.dispose()
    lines = []
    for key, value in stored.items():
        section, _, name = key.partition(".")
        in_file = getattr(getattr(file_settings, section, None), name, None)
        lines.append(f"  {key} = {value!r} (changed in the chat; the file says {in_file!r})")
    return lines
