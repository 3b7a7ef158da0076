"""Provenance (issue 31: 1): every table says whose words it holds, and derived copies forget one follower only."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, select

from bot.faq.authoring import continue_dialog, start_add_prefilled
from bot.privacy.forget import forget_follower
from bot.store import provenance
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import (
    DEFAULT_CREATOR_ID,
    AskSnapshot,
    ChatDialog,
    FaqExample,
    FollowerCopy,
    SentimentAlert,
    SurgeResponse,
    utcnow,
)
from tests.conftest import CREATOR_ID

XENA, YURI = 7310001, 7310002


def _sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    return url, make_sessionmaker(make_engine(url), DEFAULT_CREATOR_ID)


def test_every_table_says_whose_words_it_holds(tmp_path: Path) -> None:
    """A new table is not covered until it names how /forgetme finds a follower's rows in it (or why it
    holds none): the sweep test then plants a word through its path."""
    url, _ = _sessions(tmp_path)
    tables = set(inspect(make_engine(url)).get_table_names())
    assert tables - set(provenance.TABLES) == set(), "add the new table to bot/store/provenance.py TABLES"
    assert set(provenance.TABLES) - tables == set(), "a table in TABLES no longer exists"


def test_a_keyword_only_one_follower_wrote_is_blanked_and_a_shared_one_stays(tmp_path: Path) -> None:
    _, sessions = _sessions(tmp_path)
    with sessions() as s, s.begin():
        snap = AskSnapshot(start=utcnow(), end=utcnow(), questions=3, data={"themes": [
            {"keys": ["dm:1"], "keyword": "wombat9931", "keyword_by": [XENA]},
            {"keys": ["dm:2"], "keyword": "tripod", "keyword_by": [XENA, YURI]}]})
        s.add(snap)
        s.flush()
        provenance.record(s, provenance.ASK_SNAPSHOT, snap.id, [XENA, YURI])
        provenance.record(s, provenance.ASK_SNAPSHOT, snap.id, [XENA])  # recorded twice: one row
        alert = SentimentAlert(post_id=None, negative=3, total=4, baseline=0.1)
        s.add(alert)
        s.flush()
        surge = SurgeResponse(alert_id=alert.id, post_id=None, draft="Thanks for telling me about numbat4417.",
                              usual_share=0.1, follow_up_at=utcnow(), summary={"themes": [
                                  {"keyword": "numbat4417", "comments": 3, "commenters": 2, "example_id": 9,
                                   "keyword_by": [XENA], "example_by": [XENA]}], "language": "en",
                                  "comments": 3, "new": 1, "long_time": 1, "unthemed": 0})
        s.add(surge)
        s.flush()
        provenance.record(s, provenance.SURGE_RESPONSE, surge.id, [XENA])
        snap_id, surge_id = snap.id, surge.id
    with sessions() as s, s.begin():
        assert forget_follower(s, XENA)["derived_copies"] == 2
    with sessions() as s:
        snap, surge = s.get(AskSnapshot, snap_id), s.get(SurgeResponse, surge_id)
        assert snap is not None and surge is not None
        assert [(t["keyword"], t["keyword_by"]) for t in snap.data["themes"]] == [("", []), ("tripod", [YURI])]
        theme = surge.summary["themes"][0]
        assert (theme["keyword"], theme["example_id"], theme["example_by"]) == ("", None, [])
        assert "numbat4417" not in surge.draft and surge.draft.startswith("Thank you all")
        assert s.scalars(select(FollowerCopy.user_id)).all() == [YURI]


def test_a_faq_dialog_from_a_theme_loses_the_questions_only_they_asked_and_learns_whose_the_rest_are(
        tmp_path: Path) -> None:
    _, sessions = _sessions(tmp_path)
    with sessions() as s, s.begin():
        start_add_prefilled(s, CREATOR_ID, "which wombat9931 lens?", {
            "which wombat9931 lens?": [XENA], "which lens for birds?": [XENA, YURI], "lens for zoos?": [YURI]})
    with sessions() as s, s.begin():
        forget_follower(s, XENA)
    with sessions() as s:
        dialog = s.get(ChatDialog, CREATOR_ID)
        assert dialog is not None
        assert dialog.data["questions"] == ["which lens for birds?", "lens for zoos?"]
        assert dialog.data["asked_by"] == [[YURI], [YURI]]
    with sessions() as s, s.begin():  # the creator answers: the examples are Yuri's questions
        assert continue_dialog(None, s, CREATOR_ID, "A 100-400 zoom does it.")  # type: ignore[arg-type]
    with sessions() as s, s.begin():
        assert forget_follower(s, YURI)["learned_examples"] == 2
    with sessions() as s:
        assert s.scalars(select(FaqExample.question)).all() == []
