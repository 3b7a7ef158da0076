"""What the traffic taught, read for a retrain: handoff examples and the share of recent questions they stand for."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.faq.entries import TRAFFIC_WINDOW, Lessons, import_entries, learn_answer
from bot.store.db import migrated_sessions
from bot.store.models import FaqAnswer, FaqExample, utcnow
from nlp.faq_data import FaqEntry


def _answered(session: Session, n: int, days_ago: float) -> None:
    for i in range(n):
        session.add(FaqAnswer(user_id=100 + i, chat_id=100 + i, question=f"q{i}", entry_id="tripod", confidence=0.9,
                              model_version="v1", created_at=utcnow() - timedelta(days=days_ago)))


def test_lessons_weigh_handoff_examples_by_their_recent_share(sqlite_url: str) -> None:
    sessions: sessionmaker[Session] = migrated_sessions(sqlite_url)
    with sessions() as s, s.begin():
        import_entries(s, [FaqEntry("tripod", "A carbon tripod.", ["Which tripod do you use?"])])
        assert Lessons.read(s).handoff_share is None  # no traffic yet: nothing to weigh by
        _answered(s, 6, days_ago=1)
        _answered(s, 30, days_ago=TRAFFIC_WINDOW.days + 1)  # before the window: not counted
        s.add(FaqExample(entry_id="tripod", question="old handoff", source="handoff",
                         created_at=utcnow() - TRAFFIC_WINDOW - timedelta(days=1)))
        s.add(FaqExample(entry_id="tripod", question="tripod for hikes?", source="handoff"))
        s.add(FaqExample(entry_id="tripod", question="pending one", source="handoff", status="pending"))
    with sessions() as s, s.begin():
        learn_answer(s, "what tripod on windy days?", "A carbon tripod.", accepted=True)
    with sessions() as s:
        lessons = Lessons.read(s)
    assert lessons.handed_off == {"old handoff", "tripod for hikes?", "what tripod on windy days?"}
    assert lessons.handoff_share == 2 / (2 + 6)  # two learned in the window, six answered in it
    assert lessons.fit_kwargs()["handoff_share"] == lessons.handoff_share
