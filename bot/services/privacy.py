"""/forgetme and retention: a follower's text leaves the database; aggregate counts stay."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.store.models import (
    Comment,
    DirectMessage,
    FaqAnswer,
    FaqExample,
    Follower,
    Handoff,
    OutboxMessage,
    RawUpdate,
    SentimentCorrection,
    utcnow,
)


def _mentions_user(payload: Any, user_id: int) -> bool:
    """Does a raw update come from (or quote) this user?"""
    if isinstance(payload, dict):
        if payload.get("id") == user_id and "first_name" in payload:
            return True
        return any(_mentions_user(v, user_id) for v in payload.values())
    if isinstance(payload, list):
        return any(_mentions_user(v, user_id) for v in payload)
    return False


def _their_texts(session: Session, user_id: int) -> set[str]:
    """Everything this follower wrote that the bot stored (to find quotes of it elsewhere)."""
    found = set(session.scalars(select(DirectMessage.text).where(DirectMessage.user_id == user_id,
                                                                 DirectMessage.direction == "in")))
    found |= set(session.scalars(select(Comment.text).where(Comment.user_id == user_id)))
    for question in session.scalars(select(Handoff.question).where(Handoff.user_id == user_id)):
        found |= set((question or "").split("\n"))
    return {t for t in found if t and len(t.strip()) >= 4}


def _quotes(value: Any, needles: set[str]) -> bool:
    blob = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return any(n in blob for n in needles)


def forget_follower(session: Session, user_id: int) -> dict[str, int]:
    """Delete a follower's messages, comment texts, handoffs and feedback. Returns what was removed.

    Quotes of their words elsewhere (the handoff note in the creator's chat, the creator's reply
    that Telegram delivers with the quoted note) are removed too.
    """
    removed: dict[str, int] = {}
    said = _their_texts(session, user_id)
    handoffs = list(session.scalars(select(Handoff).where(Handoff.user_id == user_id)))
    questions = {q for h in handoffs for q in (h.question or "").split("\n") if q.strip()}
    questions |= {q for q in session.scalars(select(FaqAnswer.question).where(FaqAnswer.user_id == user_id)) if q}
    if questions:
        removed["learned_examples"] = len(session.execute(delete(FaqExample).where(
            FaqExample.source == "handoff", FaqExample.question.in_(questions)).returning(FaqExample.id)).all())
    purposes = [f"handoff:{h.id}" for h in handoffs]
    # notes to the creator quote the follower; replies to the follower may quote them too
    removed["sent_messages"] = len(session.execute(update(OutboxMessage).where(
        (OutboxMessage.chat_id == user_id) | OutboxMessage.purpose.in_(purposes))
        .values(params={"forgotten": True}, file_data=None).returning(OutboxMessage.id)).all())
    removed["handoffs"] = len(session.execute(delete(Handoff).where(Handoff.user_id == user_id)
                                              .returning(Handoff.id)).all())
    removed["answers_and_feedback"] = len(session.execute(delete(FaqAnswer).where(FaqAnswer.user_id == user_id)
                                                          .returning(FaqAnswer.id)).all())
    removed["direct_messages"] = len(session.execute(delete(DirectMessage).where(DirectMessage.user_id == user_id)
                                                     .returning(DirectMessage.id)).all())
    comment_ids = list(session.scalars(select(Comment.id).where(Comment.user_id == user_id)))
    if comment_ids:
        session.execute(update(SentimentCorrection).where(SentimentCorrection.comment_id.in_(comment_ids))
                        .values(text=None))
    # comments stay as anonymous counts (with their sentiment) for the channel's statistics
    removed["comments_anonymised"] = len(session.execute(update(Comment).where(Comment.user_id == user_id)
                                                         .values(text=None, user_id=None).returning(Comment.id)).all())
    quoted = [d for d in session.scalars(select(DirectMessage).where(DirectMessage.text.is_not(None)))
              if _quotes(d.text, said)]
    for dm in quoted:
        dm.text = None
    removed["quotes_in_messages"] = len(quoted)
    raw_ids = [r.update_id for r in session.scalars(select(RawUpdate))
               if _mentions_user(r.payload, user_id) or (said and _quotes(r.payload, said))]
    for start in range(0, len(raw_ids), 500):
        session.execute(delete(RawUpdate).where(RawUpdate.update_id.in_(raw_ids[start:start + 500])))
    removed["raw_updates"] = len(raw_ids)
    session.execute(delete(Follower).where(Follower.user_id == user_id))
    return removed


def purge_raw_updates(session: Session, days: int) -> int:
    """Retention: delete handled raw updates older than `days` (0 keeps everything)."""
    if days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    return len(session.execute(delete(RawUpdate).where(RawUpdate.received_at < cutoff, RawUpdate.status != "pending")
                               .returning(RawUpdate.update_id)).all())
