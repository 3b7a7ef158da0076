"""Provenance: whose words every stored row carries, so that /forgetme is one lookup by the follower's id.

`TABLES` names, for every table of the schema, how its rows are tied to the follower whose words or
name they hold, or why they hold none; a test fails when a table is added without an entry here, and
the /forgetme sweep test plants a follower's word through every path and finds it nowhere afterwards.
Three ways to be tied:

* the row is the follower's own: a `user_id` column (their messages, comments, handoffs, answers);
* a link table written with the row: `update_people` (raw updates), `outbox_people` (messages that quote
  them: `send_text(about=...)`), `faq_example_people` (examples that are their questions);
* `follower_copies` (this module's `record`) for rows derived from several followers' words: a question
  theme snapshot's keywords, a surge's summary and drafted reply, the creator's FAQ dialog pre-filled
  from a theme. bot/privacy/forget.py scrubs each kind with what its row needs.

Files follow their rows: a trained FAQ version holds its examples and goes when the FAQ retrains without
them; exports under the data folder are deleted, and CLI exports written outside it are recorded
(bot/kernel/export.py) and named to the creator as files to delete by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.models import FollowerCopy

ASK_SNAPSHOT = "ask_snapshots"
SURGE_RESPONSE = "surge_responses"
CHAT_DIALOG = "chat_dialogs"

OWN = "own rows: user_id"
LINKED = "linked"
NONE = "no follower text"

# table -> how its rows name the follower whose words they hold (or why they hold none)
TABLES: dict[str, str] = {
    "raw_updates": f"{LINKED}: update_people (sender, quoted author, member), scrubbed or deleted",
    "update_people": "the record itself (user_id)",
    "direct_messages": f"{OWN}; the bot's recorded copies of outbox rows that quote them via outbox_people",
    "comments": f"{OWN} (kept anonymous, text removed)",
    "followers": OWN,
    "handoffs": OWN,
    "faq_answers": OWN,
    "membership_events": OWN,
    "inbox_chats": OWN,
    "outbox": f"{LINKED}: chat_id (to them), handoff_id (about them), outbox_people (quoting them)",
    "outbox_people": "the record itself (user_id)",
    "faq_examples": f"{LINKED}: faq_example_people, and the answers and handoffs they were made from",
    "faq_example_people": "the record itself (user_id)",
    "sentiment_corrections": f"{LINKED}: comment_id (the comment's author)",
    "ask_snapshots": f"{LINKED}: follower_copies (keyword_by per theme); questions by reference only",
    "surge_responses": f"{LINKED}: follower_copies (keyword_by, example_by per theme; the draft names keywords)",
    "chat_dialogs": f"{LINKED}: follower_copies (asked_by per pre-filled question)",
    "follower_copies": "the record itself (user_id)",
    "send_pace": f"{OWN}: chat_id is their private chat (no text)",
    "creators": f"{NONE}: the creators' own settings",
    "channel_posts": f"{NONE}: the creator's posts",
    "post_tags": f"{NONE}: tags of the creator's posts",
    "post_reactions": f"{NONE}: counts",
    "follower_counts": f"{NONE}: counts",
    "sentiment_alerts": f"{NONE}: counts (the alert's message is an outbox row with outbox_people)",
    "faq_entries": f"{NONE}: the creator's answers",
    "reminders": f"{NONE}: the creator's reminders",
    "posting_plans": f"{NONE}: slots and tags",
    "setting_overrides": f"{NONE}: the creator's settings",
    "known_chats": f"{NONE}: channels and groups the bot was added to",
    "business_connections": f"{NONE}: the creator's own account",
    "live_models": f"{NONE}: model versions (their files follow the FAQ examples)",
    "model_forgets": f"{NONE}: counters",
    "runtime_leases": f"{NONE}: the fleet's roles",
    "error_notices": f"{NONE}: kinds of error",
    "export_files": f"{NONE}: where CLI exports went (their files hold everyone's: deleted or named by /forgetme)",
    "alembic_version": f"{NONE}: the schema's revision",
}


def people(ids: Iterable[object]) -> list[int]:
    """The ids among `ids` that are persons' (themes stand in a comment's negative id, or None, for an
    author the bot does not know), once each, in order."""
    return list(dict.fromkeys(u for u in ids if isinstance(u, int) and u > 0))


def record(session: Session, kind: str, row_id: int, user_ids: Iterable[object]) -> None:
    """Note that row `row_id` of `kind` carries the words of `user_ids` (ids that are no person's skipped)."""
    people_here = set(people(user_ids))
    if not people_here:
        return
    known = set(session.scalars(select(FollowerCopy.user_id).where(
        FollowerCopy.kind == kind, FollowerCopy.row_id == row_id, FollowerCopy.user_id.in_(people_here))))
    session.add_all(FollowerCopy(kind=kind, row_id=row_id, user_id=u) for u in sorted(people_here - known))


def copies_of(session: Session, user_id: int) -> dict[str, list[int]]:
    """Rows by kind that carry the follower's words (from `follower_copies`)."""
    out: dict[str, list[int]] = {}
    for kind, row_id in session.execute(select(FollowerCopy.kind, FollowerCopy.row_id)
                                        .where(FollowerCopy.user_id == user_id)):
        out.setdefault(kind, []).append(int(row_id))
    return out


def people_of(session: Session, kind: str, row_id: int) -> set[int]:
    """Whose words row `row_id` of `kind` carries."""
    return set(session.scalars(select(FollowerCopy.user_id).where(FollowerCopy.kind == kind,
                                                                  FollowerCopy.row_id == row_id)))


def drop(session: Session, user_id: int) -> None:
    session.execute(delete(FollowerCopy).where(FollowerCopy.user_id == user_id))
