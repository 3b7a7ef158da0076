"""/forgetme and retention: a follower's data leaves the database; aggregate counts stay.

Forgetting selects by the follower's ids only (their user id, their rows' keys, the index of persons
in each raw update), never by matching text, so it cannot touch another person's rows. Every query
is bounded by an indexed id; the caller runs it off the event loop.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, or_, select, tuple_, update
from sqlalchemy.orm import Session

from bot import texts
from bot.kernel.export import export_names, export_zip, recorded_exports
from bot.kernel.outbox import ALERT_PURPOSE, DIGEST_PURPOSE
from bot.privacy.copies import forget_copies
from bot.store import live_models
from bot.store.models import (
    Comment,
    DirectMessage,
    ExportFile,
    FaqAnswer,
    FaqExample,
    FaqExamplePerson,
    Follower,
    Handoff,
    InboxChat,
    MembershipEvent,
    OutboxMessage,
    OutboxPerson,
    RawUpdate,
    SentimentCorrection,
    UpdatePerson,
    utcnow,
)
from bot.store.outbox_queue import forget_pace
from bot.store.updates import lock_person

# Keys under which an update quotes another message (whose text and author are not the sender's).
_QUOTING_KEYS = ("reply_to_message", "quote", "external_reply", "pinned_message")
FORGOTTEN_USER = {"id": 0, "is_bot": False, "first_name": "(forgotten)"}
CHUNK = 500


def _main_object(payload: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in payload.items() if k != "update_id" and isinstance(v, dict)), {})


def is_own_update(payload: dict[str, Any], user_id: int) -> bool:
    """Is this the follower's own update (they sent it, it is their private chat, they joined or left)?"""
    main = _main_object(payload)
    member = _field(main, "new_chat_member")
    return user_id in (_field(main, "from").get("id"), _field(main, "chat").get("id"),
                       _field(member, "user").get("id"))


def _field(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def scrub(value: Any, user_id: int) -> Any:
    """Another person's update with everything of this follower taken out: messages they wrote
    and anything quoted are dropped, their user objects replaced by a placeholder."""
    if isinstance(value, list):
        return [scrub(v, user_id) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("id") == user_id and ("first_name" in value or value.get("type") == "private"):
        return dict(FORGOTTEN_USER)
    # a button press carries the whole message the button was under (a list quoting followers)
    dropped = (*_QUOTING_KEYS, "message") if "chat_instance" in value else _QUOTING_KEYS
    return {k: scrub(v, user_id) for k, v in value.items() if k not in dropped}


def _chunks(ids: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _forget_outbox(session: Session, user_id: int, handoffs: list[Handoff],
                   review_rows: list[int] | None = None) -> tuple[int, list[tuple[int, int]]]:
    """Delete what was sent to the follower or about them (notes, follow-ups, digests listing them:
    the others in such a digest are listed again in the next one; daily review lists and prompts
    quoting them; /asks, reports and drafts quoting them); redact the alerts quoting their comments.
    Returns (rows touched, (chat id, message id) of copies recorded as direct messages)."""
    about = [h.id for h in handoffs]
    digests = [h.creator_outbox_id for h in handoffs if h.creator_outbox_id is not None]
    # rows recorded as carrying their words or name when written (`send_text(about=...)`)
    carrying = list(session.scalars(select(OutboxPerson.outbox_id).where(OutboxPerson.user_id == user_id)))
    copies: list[tuple[int, int]] = []
    touched = 0
    if carrying:  # an alert stays, redacted: the creator still learns that comments surged
        for alert in session.scalars(select(OutboxMessage).where(
                OutboxMessage.id.in_(carrying), OutboxMessage.purpose == ALERT_PURPOSE)):
            alert.params = {"text": texts.ALERT_FORGOTTEN}
            if alert.sent_message_id is not None:
                copies.append((alert.chat_id, alert.sent_message_id))
            carrying.remove(alert.id)
            touched += 1
    if carrying:
        digests += list(session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.id.in_(carrying), OutboxMessage.purpose == DIGEST_PURPOSE)))
    condition = OutboxMessage.chat_id == user_id
    if review_rows:
        condition = or_(condition, OutboxMessage.id.in_(review_rows))
    if about:
        condition = or_(condition, OutboxMessage.handoff_id.in_(about))
    if digests:
        condition = or_(condition, and_(OutboxMessage.id.in_(digests), OutboxMessage.purpose == DIGEST_PURPOSE))
        session.execute(update(Handoff).where(Handoff.user_id != user_id, Handoff.creator_outbox_id.in_(digests))
                        .values(creator_outbox_id=None))
    if carrying:
        condition = or_(condition, OutboxMessage.id.in_(carrying))
    rows = list(session.execute(delete(OutboxMessage).where(condition)
                                .returning(OutboxMessage.chat_id, OutboxMessage.sent_message_id)).all())
    session.execute(delete(OutboxPerson).where(OutboxPerson.user_id == user_id))
    copies += [(int(c), int(m)) for c, m in rows if m is not None]
    return touched + len(rows), copies


def _forget_raw_updates(session: Session, user_id: int) -> tuple[int, int]:
    """Delete the follower's own raw updates; scrub others' updates that mention or quote them."""
    ids = list(session.scalars(select(UpdatePerson.raw_id).where(UpdatePerson.user_id == user_id)))
    deleted = scrubbed = 0
    for chunk in _chunks(ids):
        for raw in session.scalars(select(RawUpdate).where(RawUpdate.id.in_(chunk))):
            if is_own_update(raw.payload, user_id):
                session.delete(raw)
                deleted += 1
            else:
                raw.payload = scrub(raw.payload, user_id)
                raw.error = None
                scrubbed += 1
        session.execute(delete(UpdatePerson).where(UpdatePerson.user_id == user_id,
                                                   UpdatePerson.raw_id.in_(chunk)))
    return deleted, scrubbed


def _forget_learned_examples(session: Session, user_id: int, handoffs: list[Handoff]) -> int:
    """FAQ examples that are this follower's question: learned from their handoffs, or added from the
    dashboard out of their question (recorded in `faq_example_people` when written). An example
    another follower also asked stays (it is their question too), only this follower's link goes."""
    candidates = set(session.scalars(select(FaqExamplePerson.example_id).where(FaqExamplePerson.user_id == user_id)))
    for h in handoffs:  # learned before examples recorded whose question they are
        if not (h.learned_entry_id and h.question):
            continue
        shared = session.scalar(select(Handoff.id).where(
            Handoff.user_id != user_id, Handoff.learned_entry_id == h.learned_entry_id,
            Handoff.question == h.question).limit(1))
        if shared is None:
            candidates.update(session.scalars(select(FaqExample.id).where(
                FaqExample.entry_id == h.learned_entry_id, FaqExample.question == h.question.strip(),
                FaqExample.source == "handoff")))
    ids = sorted(candidates)
    session.execute(delete(FaqExamplePerson).where(FaqExamplePerson.user_id == user_id))
    removed = 0
    for chunk in _chunks(ids):
        others = set(session.scalars(select(FaqExamplePerson.example_id).where(
            FaqExamplePerson.example_id.in_(chunk))))
        mine = [i for i in chunk if i not in others]
        if mine:
            removed += len(session.execute(delete(FaqExample).where(FaqExample.id.in_(mine))
                                           .returning(FaqExample.id)).all())
    if removed:  # a version trained on what was read before this commits is not published
        live_models.count_forget(session, live_models.FAQ)
    return removed


def _forget_reviewed_examples(session: Session, user_id: int) -> tuple[int, list[int]]:
    """FAQ examples made from this follower's automatic answers (👎, the creator's ✅ / ✏️ / right
    answer in the daily review), unless another follower's answer made the same one; and the outbox
    rows of review lists and prompts that quote their questions. Returns (examples removed, outbox ids)."""
    removed, outbox_ids = 0, []
    for a in session.scalars(select(FaqAnswer).where(FaqAnswer.user_id == user_id, or_(
            FaqAnswer.review.is_not(None), FaqAnswer.feedback == "down"))):
        outbox_ids += [i for i in (a.list_outbox_id, a.fix_outbox_id) if i is not None]
        if not a.question:
            continue
        made: list[tuple[str, tuple[str, ...]]] = [(a.entry_id, ("review", "feedback"))]
        if a.learned_entry_id:
            made.append((a.learned_entry_id, ("review",)))
        for entry_id, sources in made:
            shared = session.scalar(select(FaqAnswer.id).where(
                FaqAnswer.user_id != user_id, FaqAnswer.question == a.question,
                or_(FaqAnswer.entry_id == entry_id, FaqAnswer.learned_entry_id == entry_id),
                or_(FaqAnswer.review.in_(("confirmed", "wrong", "fixed")), FaqAnswer.feedback == "down")).limit(1))
            if shared is None:
                removed += len(session.execute(delete(FaqExample).where(
                    FaqExample.entry_id == entry_id, FaqExample.question == a.question.strip(),
                    FaqExample.source.in_(sources)).returning(FaqExample.id)).all())
    return removed, outbox_ids


def forget_follower(session: Session, user_id: int, data_dir: Path | None = None) -> dict[str, int]:
    """Delete what the bot stored about one follower. Returns what was removed, by kind.

    Blocking, bounded by indexed ids: run it off the event loop. Raw updates, messages, handoffs,
    answers, feedback, membership events, FAQ examples that are their questions (learned, or added
    from the dashboard) and outbox rows to them, about them or quoting them (digests, /faq lists),
    with the copies the bot recorded of those it sent, go; their comments stay as anonymous counts.
    Alerts quoting their comments are redacted, pending exports are rebuilt without them and
    export files in `data_dir/exports` are deleted.
    `learned_examples` > 0 means the FAQ model must be retrained without them.
    """
    removed: dict[str, int] = {}
    # no update of theirs is handled meanwhile on another worker (bot/store/updates.py: hold_update), and
    # a handler that read one of their handoffs before waits here, then finds it gone
    lock_person(session, user_id)
    handoffs = list(session.scalars(select(Handoff).where(Handoff.user_id == user_id).with_for_update()))
    comment_ids = list(session.scalars(select(Comment.id).where(Comment.user_id == user_id)))

    removed["derived_copies"] = forget_copies(session, user_id)
    reviewed, review_rows = _forget_reviewed_examples(session, user_id)
    removed["learned_examples"] = _forget_learned_examples(session, user_id, handoffs) + reviewed
    removed["outbox"], copies = _forget_outbox(session, user_id, handoffs, review_rows)
    dm_condition = DirectMessage.user_id == user_id
    if copies:  # the bot's notes to the creator's private chat, recorded as direct messages
        dm_condition = or_(dm_condition, tuple_(DirectMessage.chat_id, DirectMessage.message_id).in_(copies))
    removed["direct_messages"] = len(session.execute(delete(DirectMessage).where(dm_condition)
                                                     .returning(DirectMessage.id)).all())
    removed["handoffs"] = len(session.execute(delete(Handoff).where(Handoff.user_id == user_id)
                                              .returning(Handoff.id)).all())
    removed["answers_and_feedback"] = len(session.execute(delete(FaqAnswer).where(FaqAnswer.user_id == user_id)
                                                          .returning(FaqAnswer.id)).all())
    for chunk in _chunks(comment_ids):
        session.execute(update(SentimentCorrection).where(SentimentCorrection.comment_id.in_(chunk))
                        .values(text=None))
    # comments stay as anonymous counts (with their sentiment) for the channel's statistics
    removed["comments_anonymised"] = len(session.execute(update(Comment).where(Comment.user_id == user_id)
                                                         .values(text=None, user_id=None).returning(Comment.id)).all())
    removed["membership_events"] = len(session.execute(delete(MembershipEvent).where(
        MembershipEvent.user_id == user_id).returning(MembershipEvent.id)).all())
    removed["raw_updates"], removed["raw_updates_scrubbed"] = _forget_raw_updates(session, user_id)
    removed["inbox_chats"] = _forget_inbox_chats(session, user_id)
    removed["followers"] = len(session.execute(delete(Follower).where(Follower.user_id == user_id)
                                               .returning(Follower.user_id)).all())
    forget_pace(session, user_id)  # when the bot last wrote to their chat
    session.flush()
    removed["exports"] = _forget_in_exports(session, data_dir)
    return removed


def _forget_inbox_chats(session: Session, user_id: int) -> int:
    """Their chats in the other inboxes (a Business chat, a topic of the channel's direct messages) and
    what the bot sent into their topic (a shared chat: the rows are told apart by the topic)."""
    topics = session.execute(select(InboxChat.chat_id, InboxChat.topic_id).where(
        InboxChat.user_id == user_id, InboxChat.topic_id.is_not(None))).all()
    touched = 0
    for chat_id, topic_id in topics:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)):
            if isinstance(row.params, dict) and row.params.get("direct_messages_topic_id") == topic_id:
                session.delete(row)
                touched += 1
    return touched + len(session.execute(delete(InboxChat).where(InboxChat.user_id == user_id)
                                         .returning(InboxChat.id)).all())


def _forget_in_exports(session: Session, data_dir: Path | None) -> int:
    """Exports made before: queued ones are rebuilt from what is left, sent ones lose their bytes,
    files written to `data_dir/exports` are deleted."""
    touched = 0
    pending = and_(OutboxMessage.purpose == "export", OutboxMessage.status == "pending")
    rows = list(session.scalars(select(OutboxMessage).where(pending)))
    if rows:
        fresh = export_zip(session)
        for row in rows:
            row.file_data = fresh
        touched += len(rows)
    touched += len(session.execute(update(OutboxMessage).where(
        OutboxMessage.purpose == "export", OutboxMessage.status != "pending", OutboxMessage.file_data.is_not(None))
        .values(file_data=None).returning(OutboxMessage.id)).all())
    exports = data_dir / "exports" if data_dir is not None else None
    if exports is not None and exports.is_dir() and not exports.is_symlink():
        for child in exports.iterdir():
            if child.is_symlink() or not child.is_dir():  # a link goes, never what it points at
                child.unlink(missing_ok=True)
            else:
                shutil.rmtree(child, ignore_errors=True)
            touched += 1
    inside, _elsewhere = recorded_exports(session, data_dir)  # `creatorbot export --out`
    for folder in inside:  # the export's own files go; anything else in the folder stays
        for name in export_names():
            (folder / name).unlink(missing_ok=True)
        if not any(folder.iterdir()):
            folder.rmdir()
            session.execute(delete(ExportFile).where(ExportFile.path == str(folder)))  # no longer there
        touched += 1
    return touched


def purge_raw_updates(session: Session, days: int) -> int:
    """Retention: delete handled raw updates older than `days` (0 keeps everything)."""
    if days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    return len(session.execute(delete(RawUpdate).where(RawUpdate.received_at < cutoff, RawUpdate.status != "pending")
                               .returning(RawUpdate.update_id)).all())
