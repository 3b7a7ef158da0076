"""KPIs equal hand-computed values on a fixture built here; the chart is a readable PNG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.config import parse_settings
from bot.kernel.export import export_files
from bot.reports.chart import render_chart
from bot.reports.report import build_report, render_text
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import (
    DEFAULT_CREATOR_ID,
    ChannelPost,
    Comment,
    FaqAnswer,
    FollowerCountSnapshot,
    Handoff,
    MembershipEvent,
    PostReactions,
    PostTag,
)

END = datetime(2026, 3, 16, 0, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)


def fixture(session: Session) -> None:
    """Week 1 (previous): 2 posts; week 2 (reported): 3 posts. Hand-computed values in the test."""
    session.add_all([FollowerCountSnapshot(chat_id=-1, count=100, taken_at=END - 14 * DAY),
                     FollowerCountSnapshot(chat_id=-1, count=110, taken_at=END - 7 * DAY),
                     FollowerCountSnapshot(chat_id=-1, count=125, taken_at=END - DAY)])
    for i, at in enumerate([END - 6 * DAY, END - 5 * DAY, END - 2 * DAY]):
        session.add(MembershipEvent(chat_id=-1, user_id=i, event="join", old_status="left", new_status="member", at=at))
    session.add(MembershipEvent(chat_id=-1, user_id=9, event="leave", old_status="member", new_status="left",
                                at=END - 3 * DAY))
    posts = [ChannelPost(chat_id=-1, message_id=i, text=f"post {i}", posted_at=at) for i, at in enumerate(
        [END - 13 * DAY, END - 10 * DAY, END - 6 * DAY + timedelta(hours=18), END - 4 * DAY, END - 2 * DAY])]
    session.add_all(posts)
    session.flush()
    session.add_all([PostTag(post_id=posts[2].id, tag="travel"), PostTag(post_id=posts[3].id, tag="gear"),
                     PostTag(post_id=posts[4].id, tag="travel")])
    # comments: previous week 2 on post 0; this week 4 on post 2, 1 on post 3, 1 on post 4
    spec = [(0, "neutral", 0), (0, "positive", 0), (2, "negative", 2), (2, "negative", 2), (2, "positive", 2),
            (2, "neutral", 2), (3, "positive", 3), (4, "positive", 4)]
    for n, (p, label, day_post) in enumerate(spec):
        session.add(Comment(chat_id=-2, message_id=n, post_id=posts[p].id, user_id=50 + n, text="c",
                            created_at=posts[day_post].posted_at + timedelta(hours=2), sentiment=label))
    session.add_all([PostReactions(post_id=posts[0].id, total=4, counts={"👍": 4}, updated_at=END - 12 * DAY),
                     PostReactions(post_id=posts[2].id, total=10, counts={"👍": 10}, updated_at=END - 5 * DAY),
                     PostReactions(post_id=posts[4].id, total=5, counts={"🔥": 5}, updated_at=END - DAY)])
    # questions this week: 3 answered (2 votes: up, down), 1 handoff answered after 30 min
    for i, fb in enumerate(["up", "down", None]):
        session.add(FaqAnswer(user_id=70 + i, chat_id=70 + i, question="q", entry_id="e", confidence=0.9,
                              model_version="v1", feedback=fb, created_at=END - 3 * DAY))
    session.add(Handoff(user_id=80, chat_id=80, question="?", reason="low confidence", status="answered",
                        created_at=END - 2 * DAY, answered_at=END - 2 * DAY + timedelta(minutes=30)))


@pytest.fixture
def session(tmp_path: Path) -> Session:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    s = make_sessionmaker(make_engine(url), DEFAULT_CREATOR_ID)()
    fixture(s)
    s.flush()
    return s


SETTINGS = parse_settings({"schedule": {"timezone": "UTC"}}, env={})


def test_weekly_kpis_match_hand_computed_values(session: Session) -> None:
    r = build_report(session, SETTINGS, "week", END)
    m = r.metrics
    assert m["followers"].value == 125 and m["followers"].previous == 110
    assert (m["joins"].value, m["leaves"].value, m["net_growth"].value) == (3, 1, 2)
    assert m["posts"].value == 3 and m["posts"].previous == 2
    assert m["comments_per_post"].value == pytest.approx(6 / 3)
    assert m["comments_per_post"].previous == pytest.approx(2 / 2)
    assert m["reactions_per_post"].value == pytest.approx(15 / 3)
    assert m["engagement_rate"].value == pytest.approx((6 + 15) / 3 / 125 * 100)
    assert m["questions"].value == 4
    assert m["answered_automatically"].value == pytest.approx(75.0)
    assert m["handed_off"].value == pytest.approx(25.0)
    assert m["creator_median_response_minutes"].value == pytest.approx(30.0)
    assert m["thumbs_up_rate"].value == pytest.approx(50.0)
    assert r.sentiment == {"negative": 2, "positive": 3, "neutral": 1}
    assert r.top_posts[0]["text"] == "post 2" and r.top_posts[0]["engagement"] == 14
    assert r.top_tags[0]["tag"] == "travel" and r.top_tags[0]["per_post"] == pytest.approx((14 + 6) / 2)
    assert r.best_hour == "Tue 20:00"  # four comments at 18:00 + 2 h on post 2's day
    text = render_text(r, SETTINGS.tz)
    assert "Followers: <b>125</b> (+15)" in text and "Post views are not available to bots" in text


def test_a_period_with_no_data_names_what_is_missing(session: Session) -> None:
    r = build_report(session, SETTINGS, "day", END + 60 * DAY)
    m = r.metrics
    assert m["posts"].value == 0
    assert m["comments_per_post"].value is None and m["comments_per_post"].missing == "no posts in this period"
    assert m["answered_automatically"].missing == "no follower questions in this period"
    assert m["followers"].value == 125  # the last known count still holds
    assert r.sentiment == {} and any("no classified comments" in n for n in r.notes)
    text = render_text(r, SETTINGS.tz)
    assert "Comments per post: — <i>no posts in this period</i>" in text


def test_missing_reactions_explain_the_fix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    upgrade(url)
    with make_sessionmaker(make_engine(url), DEFAULT_CREATOR_ID)() as s:
        s.add(ChannelPost(chat_id=-1, message_id=1, text="x", posted_at=END - DAY))
        s.flush()
        r = build_report(s, SETTINGS, "week", END)
    assert "the right to see reactions" in (r.metrics["reactions_per_post"].missing or "")
    assert "admin of the channel" in (r.metrics["followers"].missing or "")


def test_chart_is_a_png(session: Session, tmp_path: Path) -> None:
    png = render_chart(build_report(session, SETTINGS, "week", END), SETTINGS.tz)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png))
    assert image.size[0] > 1200 and image.size[1] > 400


def test_export_has_every_table(session: Session) -> None:
    files = export_files(session)
    assert set(files) == {"README.txt", "posts.csv", "comments.csv", "direct_messages.csv", "reactions.csv",
                          "follower_counts.csv"}
    assert files["posts.csv"].decode().splitlines()[0] == "post_id,message_id,posted_at,tags,text"
    assert len(files["comments.csv"].decode().splitlines()) == 1 + 8
