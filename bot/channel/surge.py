"""A negative surge, explained: what the negative comments are about (`nlp.surge`), new vs long-time
commenters, a drafted reply the creator edits and sends only by pressing Send, and hours later whether
the mood recovered.

Three steps, so no model runs inside a transaction or on the event loop: `read_surge` (a session, quick
reads), `explain` (plain data and the encoders, in a thread), then the alert is written with
`bot.channel.sentiment.alert` and `offer_draft` (one transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel import buttons as buttons_data
from bot.kernel.outbox import edit_buttons, pin_message, send_text
from bot.store import provenance
from bot.store.models import (
    ChannelPost,
    Comment,
    Follower,
    OutboxMessage,
    SentimentAlert,
    SurgeResponse,
    utcnow,
)
from nlp.encoder import Encoder
from nlp.surge import Comment as SurgeComment
from nlp.surge import SurgeSummary, draft_response, mood_recovery, summarize_surge

NEW_WITHIN = timedelta(days=30)  # a commenter first seen this recently is a new follower
BACKGROUND_DAYS = 7
BACKGROUND_LIMIT = 500
DRAFT_PURPOSE = "surge-draft"
RESPONSE_PURPOSE = "surge-response"


@dataclass(frozen=True)
class SurgeInput:
    at: datetime
    negative: list[SurgeComment]
    first_seen: dict[Hashable, datetime]
    background: list[str]
    settings: Settings


@dataclass(frozen=True)
class Explained:
    summary: SurgeSummary
    draft: str


def read_surge(session: Session, settings: Settings, at: datetime | None = None) -> SurgeInput:
    """The window's negative comments, when each commenter was first seen, and the week's other comments."""
    at = at or utcnow()
    window_start = at - timedelta(minutes=settings.sentiment.window_minutes)
    rows = list(session.execute(select(Comment.id, Comment.user_id, Comment.text).where(
        Comment.created_at >= window_start, Comment.sentiment == "negative", Comment.text.is_not(None))
        .order_by(Comment.id)))
    negative = [SurgeComment(r.text or "", r.user_id if r.user_id is not None else -r.id, r.id) for r in rows]
    authors = [int(c.author) for c in negative if isinstance(c.author, int) and c.author > 0]  # type: ignore[arg-type]
    first_seen: dict[Hashable, datetime] = {}
    if authors:
        for user_id, first in session.execute(select(Comment.user_id, func.min(Comment.created_at)).where(
                Comment.user_id.in_(authors)).group_by(Comment.user_id)):
            first_seen[user_id] = first
        for user_id, first in session.execute(select(Follower.user_id, Follower.first_seen).where(
                Follower.user_id.in_(authors))):
            first_seen[user_id] = min(first, first_seen.get(user_id, first))
    background = list(session.scalars(select(Comment.text).where(
        Comment.created_at >= at - timedelta(days=BACKGROUND_DAYS), Comment.text.is_not(None),
        (Comment.sentiment != "negative") | Comment.sentiment.is_(None))
        .order_by(Comment.id.desc()).limit(BACKGROUND_LIMIT)))
    return SurgeInput(at, negative, first_seen, [t for t in background if t], settings)


def explain(inp: SurgeInput, encoder: Encoder, multilingual: Callable[[], Encoder] | None = None) -> Explained:
    """Themes, who, and a drafted reply (blocking: run it in a thread)."""
    rc = inp.settings.recsys
    summary = summarize_surge(inp.negative, encoder, inp.at, inp.first_seen, new_within=NEW_WITHIN,
                              multilingual=multilingual, threshold=rc.theme_threshold or None,
                              multilingual_threshold=rc.theme_threshold_multilingual or None,
                              background=inp.background)
    return Explained(summary, draft_response(summary, drafts=texts.SURGE_DRAFTS))


def alert_lines(explained: Explained) -> list[str]:
    """What the negative comments are about and who wrote them (Telegram HTML, follower text escaped)."""
    s = explained.summary
    lines = []
    if s.themes:
        lines.append(texts.SURGE_THEMES_HEADER)
        lines += [texts.SURGE_THEME.format(keyword=texts.esc(t.keyword or "—"), comments=t.comments,
                                           commenters=t.commenters, example=texts.esc(texts.clip(t.example, 160)))
                  for t in s.themes[:4]]
        if s.unthemed:
            lines.append(texts.SURGE_UNTHEMED.format(n=s.unthemed))
    lines.append(texts.SURGE_WHO.format(new=s.new_commenters, old=s.long_time_commenters, days=NEW_WITHIN.days))
    return lines


def quoted(explained: Explained) -> set[int]:
    """The commenters whose words the alert's themes and the draft carry (keywords, examples)."""
    return set(provenance.people(a for t in explained.summary.themes for a in (*t.keyword_by, t.example_by)))


def _summary_json(s: SurgeSummary) -> dict[str, Any]:
    return {"themes": [{"keyword": t.keyword, "comments": t.comments, "commenters": t.commenters,
                        "example_id": t.example_id, "keyword_by": provenance.people(t.keyword_by),
                        "example_by": provenance.people([t.example_by])} for t in s.themes],
            "unthemed": s.unthemed, "comments": s.comments, "new": s.new_commenters,
            "long_time": s.long_time_commenters, "language": s.language}


def offer_draft(session: Session, settings: Settings, alert: SentimentAlert, explained: Explained) -> SurgeResponse:
    """Store the drafted reply and offer it to the creator with Send / Pin / Edit / Dismiss. Nothing goes to
    the channel here: only `send` does, when the creator presses a button."""
    response = SurgeResponse(alert_id=alert.id, post_id=alert.post_id, summary=_summary_json(explained.summary),
                             draft=explained.draft, usual_share=alert.baseline,
                             follow_up_at=utcnow() + timedelta(hours=settings.sentiment.follow_up_hours))
    session.add(response)
    session.flush()
    provenance.record(session, provenance.SURGE_RESPONSE, response.id, quoted(explained))
    show_draft(session, settings, response)
    return response



def draft_buttons(response_id: int) -> list[list[tuple[str, str]]]:
    make = buttons_data.make
    return [[(texts.SURGE_SEND_BUTTON, make(buttons_data.SURGE, response_id, "send")),
             (texts.SURGE_PIN_BUTTON, make(buttons_data.SURGE, response_id, "pin"))],
            [(texts.SURGE_EDIT_BUTTON, make(buttons_data.SURGE, response_id, "edit")),
             (texts.SURGE_DISMISS_BUTTON, make(buttons_data.SURGE, response_id, "dis"))]]


def show_draft(session: Session, settings: Settings, response: SurgeResponse) -> None:
    chat = settings.creator_chat_id
    if chat is None:
        return
    send_text(session, chat, texts.SURGE_DRAFT.format(draft=texts.esc(response.draft)),
              buttons=draft_buttons(response.id), purpose=DRAFT_PURPOSE,
              about=provenance.people_of(session, provenance.SURGE_RESPONSE, response.id))


def decide(session: Session, settings: Settings, response_id: int, choice: str, chat_id: int,
           message_id: int | None) -> str:
    """A button under the drafted reply; returns the toast. Only 'send' and 'pin' put anything in the channel."""
    response = session.get(SurgeResponse, response_id)
    if response is None:
        return texts.SURGE_GONE
    if response.status != "draft":
        return texts.SURGE_ALREADY.format(status=response.status)
    if choice == "edit":
        send_text(session, chat_id, texts.SURGE_EDIT.format(draft=texts.esc(response.draft)))
        return texts.SURGE_EDIT_TOAST
    if choice == "dis":
        response.status, response.decided_at = "dismissed", utcnow()
        if message_id is not None:
            edit_buttons(session, chat_id, message_id)
        return texts.SURGE_DISMISSED
    post = session.get(ChannelPost, response.post_id) if response.post_id is not None else None
    if choice == "send":
        group = settings.channel.discussion_group_id
        if post is None or post.discussion_message_id is None or not group:
            return texts.SURGE_NO_THREAD
        row = send_text(session, group, texts.esc(response.draft), reply_to=post.discussion_message_id,
                        purpose=RESPONSE_PURPOSE)
        response.status = "sent"
    elif choice == "pin":
        if not settings.channel.id:
            return texts.SURGE_NO_CHANNEL
        row = send_text(session, settings.channel.id, texts.esc(response.draft), purpose=RESPONSE_PURPOSE)
        response.status = "pinning"  # pinned by the follow-up job once Telegram gave the message its id
    else:
        return texts.SURGE_GONE
    response.outbox_id, response.decided_at = row.id, utcnow()
    if message_id is not None:
        edit_buttons(session, chat_id, message_id)
    send_text(session, chat_id, texts.SURGE_SENT if choice == "send" else texts.SURGE_PINNED)
    return texts.SURGE_SENT_TOAST


def replace_draft(session: Session, settings: Settings, chat_id: int, text: str) -> bool:
    """`/respond <text>`: the creator's own version of the latest draft, offered again with its buttons."""
    response = session.scalars(select(SurgeResponse).where(SurgeResponse.status == "draft")
                               .order_by(SurgeResponse.id.desc()).limit(1)).first()
    if response is None or not text.strip():
        send_text(session, chat_id, texts.SURGE_RESPOND_NONE if response is None else texts.SURGE_RESPOND_USAGE)
        return False
    response.draft = text.strip()
    show_draft(session, settings, response)
    return True


def pin_sent(session: Session) -> int:
    """Pin each 'Pin as channel post' reply Telegram has delivered (the outbox row holds its message id)."""
    pinned = 0
    for response in session.scalars(select(SurgeResponse).where(SurgeResponse.status == "pinning")):
        row = session.get(OutboxMessage, response.outbox_id) if response.outbox_id else None
        if row is None or row.status == "dead":
            response.status = "failed"
            continue
        if row.sent_message_id is None:
            continue
        pin_message(session, row.chat_id, row.sent_message_id, purpose=RESPONSE_PURPOSE)
        response.status = "pinned"
        pinned += 1
    return pinned


def follow_up(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Hours after a surge: did the mood recover? (negative share since the alert against the usual share)."""
    now = now or utcnow()
    done = 0
    due = list(session.scalars(select(SurgeResponse).where(SurgeResponse.followed_up_at.is_(None),
                                                           SurgeResponse.follow_up_at <= now)))
    for response in due:
        alert = session.get(SentimentAlert, response.alert_id)
        since = alert.created_at if alert else response.created_at
        labels = list(session.scalars(select(Comment.sentiment).where(
            Comment.created_at >= since, Comment.created_at < response.follow_up_at,
            Comment.sentiment.in_(("negative", "neutral", "positive")))))
        recovery = mood_recovery([label == "negative" for label in labels], response.usual_share,
                                 texts=texts.SURGE_MOOD)
        response.followed_up_at, response.recovery = now, recovery.summary
        chat = settings.creator_chat_id
        if chat is not None:
            post = session.get(ChannelPost, response.post_id) if response.post_id is not None else None
            send_text(session, chat, texts.SURGE_FOLLOW_UP.format(
                when=f"{since.astimezone(settings.tz):%d %b %H:%M}",
                post=texts.esc(texts.clip(post.text, 80)) if post else texts.SURGE_NO_POST,
                summary=texts.esc(recovery.summary)), purpose="surge-follow-up")
        done += 1
    return done
