"""/forgetme for rows derived from several followers' words, found through `follower_copies`
(bot/store/provenance.py): a theme snapshot loses the keywords only this follower wrote, a surge's summary
its keywords and examples of theirs (and an unsent draft naming them is drafted again), the creator's FAQ
dialog pre-filled from a theme the questions only they asked."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from bot import texts
from bot.store import provenance
from bot.store.models import AskSnapshot, ChatDialog, SurgeResponse
from nlp.surge import SurgeSummary, SurgeTheme, draft_response


def forget_copies(session: Session, user_id: int) -> int:
    """Scrub every derived row that carries the follower's words; returns how many were touched."""
    copies = provenance.copies_of(session, user_id)
    touched = 0
    for row_id in copies.get(provenance.ASK_SNAPSHOT, []):
        snapshot = session.get(AskSnapshot, row_id)
        if snapshot is not None:
            snapshot.data, _ = _without(snapshot.data, user_id)
            touched += 1
    for row_id in copies.get(provenance.SURGE_RESPONSE, []):
        response = session.get(SurgeResponse, row_id)
        if response is not None:
            response.summary, blanked = _without(response.summary, user_id)
            draft = response.draft.casefold()
            if response.status == "draft" and any(w.casefold() in draft for w in blanked):
                response.draft = _draft_again(response.summary)
            touched += 1
    for row_id in copies.get(provenance.CHAT_DIALOG, []):
        dialog = session.get(ChatDialog, row_id)
        if dialog is not None and _forget_in_dialog(session, dialog, user_id):
            touched += 1
    provenance.drop(session, user_id)
    return touched


def _without(data: dict[str, Any], user_id: int) -> tuple[dict[str, Any], list[str]]:
    """Themes (a snapshot's or a surge summary's) without the follower: a keyword only they wrote is
    blanked, an example of theirs dropped. Returns the new data and the keywords blanked."""
    out = copy.deepcopy(data or {})
    blanked: list[str] = []
    for theme in out.get("themes", []):
        by = [u for u in theme.get("keyword_by", []) if u != user_id]
        if len(by) < len(theme.get("keyword_by", [])):
            theme["keyword_by"] = by
            if not by and theme.get("keyword"):
                blanked.append(str(theme["keyword"]))
                theme["keyword"] = ""
        if user_id in theme.get("example_by", []):
            theme["example_by"], theme["example_id"] = [], None
    return out, blanked


def _draft_again(summary: dict[str, Any]) -> str:
    themes = [SurgeTheme(str(t.get("keyword", "")), int(t.get("comments", 0)), int(t.get("commenters", 0)), "",
                         None, ()) for t in summary.get("themes", [])]
    new, old = int(summary.get("new", 0)), int(summary.get("long_time", 0))
    language = str(summary.get("language", "en"))
    rebuilt = SurgeSummary(themes, int(summary.get("unthemed", 0)), int(summary.get("comments", 0)), new + old,
                           new, old, language if language in texts.SURGE_DRAFTS else "en")
    return draft_response(rebuilt, drafts=texts.SURGE_DRAFTS)


def _forget_in_dialog(session: Session, dialog: ChatDialog, user_id: int) -> bool:
    """The pre-filled questions only this follower asked leave the dialog (all of them: the dialog goes)."""
    data = dict(dialog.data or {})
    questions, asked_by = list(data.get("questions") or []), list(data.get("asked_by") or [])
    if not asked_by:
        return False
    kept = [(q, [u for u in by if u != user_id]) for q, by in zip(questions, asked_by, strict=False)
            if by != [user_id]]
    if not kept:
        session.delete(dialog)
        return True
    data["questions"], data["asked_by"] = [q for q, _ in kept], [by for _, by in kept]
    dialog.data = data
    return True
