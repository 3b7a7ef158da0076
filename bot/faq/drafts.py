"""Drafts: in an inbox in draft mode the bot never sends on its own. The creator gets the FAQ's
suggested answer with Send / Edit / Skip; Send confirms the question as an example of that answer,
Edit relays (and learns) the creator's own text, Skip closes it. Nothing reaches the follower before."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.faq.authoring import DIALOG_EXPIRES
from bot.faq.handoffs import _display_name, relay_creator_answer, target_of
from bot.kernel import buttons
from bot.kernel.inboxes import inbox_label, target_open
from bot.kernel.messages import BUSINESS, IncomingMessage
from bot.kernel.outbox import HANDOFF_PURPOSE, RELAY_PURPOSE, send_text
from bot.kernel.services import Services
from bot.store.models import ChatDialog, FaqEntryRow, FaqExample, Handoff, utcnow

EDIT_DIALOG = "draft-edit"


def start_draft(services: Services, session: Session, message: IncomingMessage, suggestion: str | None,
                entry_id: str | None, reason: str, confidence: float | None) -> Handoff | None:
    """Store a draft (a handoff that carries the FAQ's suggestion) and show it to the creator with its
    buttons. The follower gets nothing."""
    assert message.from_user is not None and message.text is not None
    creator_chat = services.settings.creator_chat_id
    if creator_chat is None:
        return None
    target = message.reply_target
    draft = Handoff(user_id=message.from_user.id, chat_id=message.chat_id, question=message.text,
                    reason=reason[:40], confidence=confidence, inbox=target.inbox, kind="draft",
                    business_connection_id=target.business_connection_id,
                    topic_id=target.direct_messages_topic_id,
                    suggested_answer=suggestion, suggested_entry_id=entry_id if suggestion else None)
    session.add(draft)
    session.flush()
    name = texts.esc(_display_name(message.from_user))
    question = texts.esc(texts.clip(message.text, 2000))
    inbox = texts.esc(inbox_label(target.inbox))
    row: list[tuple[str, str]] = []
    if suggestion:
        note = texts.DRAFT_TO_CREATOR.format(name=name, id=draft.id, inbox=inbox, question=question,
                                             answer=texts.esc(texts.clip(suggestion, 1500)))
        row.append((texts.DRAFT_SEND_BUTTON, buttons.make(buttons.DRAFT, draft.id, "send")))
    else:
        note = texts.DRAFT_NO_SUGGESTION.format(name=name, id=draft.id, inbox=inbox, question=question,
                                                reason=texts.esc(reason))
    row += [(texts.DRAFT_EDIT_BUTTON, buttons.make(buttons.DRAFT, draft.id, "edit")),
            (texts.DRAFT_SKIP_BUTTON, buttons.make(buttons.DRAFT, draft.id, "skip"))]
    rows = [row]
    if target.inbox == BUSINESS:
        rows.append([(texts.NEVER_ANSWER_BUTTON, buttons.make(buttons.NEVER_ANSWER, draft.id))])
    if target.inbox != "bot":
        rows.append([(texts.FORGET_PERSON_BUTTON, buttons.make(buttons.FORGET_PERSON, draft.id))])
    out = send_text(session, creator_chat, note, purpose=HANDOFF_PURPOSE, handoff_id=draft.id,
                    about=[draft.user_id], buttons=rows)
    draft.creator_outbox_id = out.id
    return draft


def send_draft(services: Services, session: Session, draft: Handoff, creator_chat_id: int) -> str:
    """The creator approved the suggestion: send it to the follower and confirm the question as an
    example of that answer. Returns the toast."""
    if draft.kind != "draft" or draft.status != "open":
        return texts.DRAFT_DONE.format(status=draft.status)
    if not draft.suggested_answer:
        return texts.DRAFT_NO_SUGGESTION_TOAST
    target = target_of(draft)
    if not target_open(session, target):
        send_text(session, creator_chat_id, texts.INBOX_CLOSED)
        return texts.INBOX_CLOSED
    text = texts.esc(draft.suggested_answer)
    send_text(session, draft.chat_id, text, purpose=RELAY_PURPOSE, handoff_id=draft.id, target=target)
    draft.status, draft.answer, draft.answered_at = "answered", draft.suggested_answer, utcnow()
    accepted = services.settings.faq.auto_accept_answers
    entry = session.get(FaqEntryRow, draft.suggested_entry_id) if draft.suggested_entry_id else None
    question = (draft.question or "").strip()
    if entry is not None and question:
        draft.learned_entry_id = entry.id
        known = session.scalar(select(FaqExample).where(FaqExample.entry_id == entry.id,
                                                        FaqExample.question == question))
        if known is None:
            session.add(FaqExample(entry_id=entry.id, question=question, source="handoff",
                                   status="accepted" if accepted else "pending"))
    send_text(session, creator_chat_id, texts.DRAFT_SENT if accepted else texts.DRAFT_SENT_PENDING)
    return texts.DRAFT_SENT if accepted else texts.DRAFT_SENT_PENDING


def start_edit(session: Session, draft: Handoff, creator_chat_id: int, name: str) -> str:
    """The creator will write the answer: their next message in their chat (or a reply to the draft)."""
    if draft.status != "open":
        return texts.DRAFT_DONE.format(status=draft.status)
    dialog = session.get(ChatDialog, creator_chat_id)
    if dialog is None:
        dialog = ChatDialog(chat_id=creator_chat_id, kind=EDIT_DIALOG, data={})
        session.add(dialog)
    dialog.kind, dialog.data, dialog.updated_at = EDIT_DIALOG, {"handoff": draft.id}, utcnow()
    # in the inbox group the creator answers by replying to the draft; in their own chat, any next message
    template = texts.DRAFT_EDIT_PROMPT if creator_chat_id > 0 else texts.DRAFT_EDIT_REPLY
    prompt = template.format(id=draft.id, name=texts.esc(name))
    send_text(session, creator_chat_id, prompt)
    return prompt


def continue_edit(services: Services, session: Session, chat_id: int, text: str) -> bool:
    """The creator's message after Edit is the answer: relayed to the follower and learned."""
    dialog = session.get(ChatDialog, chat_id)
    if dialog is None or dialog.kind != EDIT_DIALOG:
        return False
    session.delete(dialog)
    if utcnow() - dialog.updated_at > DIALOG_EXPIRES:  # an Edit long forgotten: this is a new message
        return False
    draft = session.get(Handoff, int(dialog.data.get("handoff") or 0))
    if draft is None or draft.status != "open":
        send_text(session, chat_id, texts.DRAFT_DONE.format(status=draft.status if draft else "gone"))
        return True
    relay_creator_answer(services, session, draft, text.strip(), chat_id)
    return True


def skip_draft(session: Session, draft: Handoff) -> str:
    if draft.status != "open":
        return texts.DRAFT_DONE.format(status=draft.status)
    draft.status, draft.closed_at = "closed", utcnow()
    return texts.DRAFT_SKIPPED
