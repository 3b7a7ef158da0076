"""/forgetme forgets exactly one person: by ids, everywhere, and nobody else (issue 11: 2, 3; issue 20: 2)."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, event, inspect, select, text
from sqlalchemy.orm import Session

from bot import texts
from bot.faq import handoffs
from bot.kernel.export import write_export
from bot.privacy.forget import forget_follower
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import (
    DEFAULT_CREATOR_ID,
    Comment,
    DirectMessage,
    FaqEntryRow,
    FaqExample,
    Follower,
    Handoff,
    OutboxMessage,
    RawUpdate,
    UpdatePerson,
    utcnow,
)
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for
from tests.faq.test_faq_bot import prepare
from tests.web.test_dashboard import auth, dashboard

XENA, YURI, ZOE, WALT = 7310001, 7310002, 7310003, 7310004
X_MARKERS = ("wombat9931", "quokka5521", "Xenaphon", "numbat4417")


def _values(bot: Any) -> list[tuple[str, tuple[Any, ...]]]:
    rows = []
    with bot.sessions() as s:
        for table in inspect(s.get_bind()).get_table_names():
            rows += [(table, tuple(r)) for r in s.execute(text(f"select * from {table}"))]
    return rows


def _blob(value: Any) -> str:
    if isinstance(value, bytes):
        try:
            with zipfile.ZipFile(io.BytesIO(value)) as zf:
                return " ".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
        except zipfile.BadZipFile:
            return value.decode("utf-8", "replace")
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def _rows_of(bot: Any, user_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that belongs to a follower, exactly as stored."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with bot.sessions() as s:
        raw_ids = list(s.scalars(select(UpdatePerson.raw_id).where(UpdatePerson.user_id == user_id)))
        queries = {
            "raw_updates": f"select * from raw_updates where id in ({','.join(map(str, raw_ids)) or 0})",
            "direct_messages": f"select * from direct_messages where user_id = {user_id}",
            "comments": f"select * from comments where user_id = {user_id}",
            "followers": f"select * from followers where user_id = {user_id}",
            "handoffs": f"select * from handoffs where user_id = {user_id}",
            "outbox": f"select * from outbox where chat_id = {user_id}",
            "membership_events": f"select * from membership_events where user_id = {user_id}",
        }
        for name, sql in queries.items():
            out[name] = sorted((tuple(r) for r in s.execute(text(sql))), key=repr)
    return out


def _digest_listing(sandbox: BotApiSandbox, marker: str) -> dict[str, Any] | None:
    return next((m for m in sandbox.sent[CREATOR_ID] if "more questions" in (m.get("text") or "")
                 and marker in m["text"]), None)


async def retrain_and_export(sandbox: BotApiSandbox, bot: Any, maya: dict[str, Any], data: Path) -> None:
    """The creator retrains (a model version of what is stored) and exports (the zip, and a folder of CSV
    files under the data folder)."""
    sandbox.send_private(maya, "/retrain")
    await wait_for(lambda: any("is live" in t for t in bot.replies_to(CREATOR_ID)), 90, "the retrain")
    sandbox.send_private(maya, "/export")
    await bot.settle()
    with bot.sessions() as s:
        write_export(s, data / "exports" / "earlier")


async def test_forgetme_forgets_one_follower_everywhere_and_nobody_else(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    settings = settings_for(sandbox, sqlite_url, data, sentiment={
        "min_comments": 2, "min_negative_share": 0.1, "surge_ratio": 1.0})
    prepare(settings)  # FAQ version 1
    xena = sandbox.user(XENA, "Xenaphon", username="xenaphon_x")
    yuri, zoe = sandbox.user(YURI, "Yuri"), sandbox.user(ZOE, "Zoe")
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        services = bot.runtime.services
        _, forward = sandbox.channel_post("Sunset over the bay #travel")
        for who in (xena, yuri, zoe):
            sandbox.member(who, joined=True)
            sandbox.send_private(who, "/start")
        sandbox.send_private(xena, "that lens for the wombat9931 shot, is it awful?")
        sandbox.send_private(yuri, "that lens for the sunset shot?")
        for who in (xena, yuri, zoe):
            sandbox.send_private(who, "that")
        sandbox.comment(forward, xena, "awful quokka5521 view, that")
        sandbox.comment(forward, yuri, "that view, awful")
        sandbox.comment(forward, zoe, "that view")
        await bot.settle()
        notes = [m for m in sandbox.sent[CREATOR_ID] if "wombat9931" in (m.get("text") or "")]
        assert notes, "Xena's question was handed to the creator"
        sandbox.send_private(maya, "A 70-200 zoom, stopped down", reply_to=notes[0])
        await bot.settle()

        # a burst: Xena's next question waits for a digest that also lists Walt's; Maya answers Walt's,
        # and her reply (stored raw) quotes the whole digest, Xena's name and question included
        walt = sandbox.user(WALT, "Walt")
        monkeypatch.setattr(handoffs, "DIGEST_AFTER", 0)
        sandbox.send_private(xena, "does the numbat4417 filter fit that lens?")
        sandbox.send_private(walt, "which strap is that?")
        await wait_for(lambda: _digest_listing(sandbox, "Walt") is not None, 60, "the digest")
        monkeypatch.undo()
        digest = _digest_listing(sandbox, "Walt")
        assert digest is not None and "numbat4417" in digest["text"] and "Xenaphon" in digest["text"]
        with bot.sessions() as s:
            walts = s.scalar(select(Handoff).where(Handoff.user_id == WALT))
            hers = s.scalar(select(Handoff).where(Handoff.user_id == XENA, Handoff.status == "open"))
            assert walts is not None and hers is not None
            walts_id, her_handoff_id, her_question = walts.id, hers.id, hers.question
        sandbox.send_private(maya, f"#{walts_id} A leather one", reply_to=digest)
        await bot.settle()
        assert bot.replies_to(WALT)[-1].endswith("A leather one")
        # "Add as example" on the dashboard: her open question becomes an example of the tripod answer
        async with dashboard(services) as client:
            html = await (await client.post("/dashboard/api/faq/example", headers=auth(settings.telegram.token),
                                            data={"entry_id": "tripod", "question": her_question,
                                                  "handoff_id": str(her_handoff_id)})).text()
            assert 'class="error"' not in html
        with bot.sessions() as s:
            dashboard_example = s.scalar(select(FaqExample).where(FaqExample.question == her_question))
            assert dashboard_example is not None and dashboard_example.status == "accepted"
        # the creator's lists quote followers' questions: her open one, her answered one as an entry's example
        sandbox.send_private(maya, "/faq unanswered")
        sandbox.send_private(maya, "/faq list")
        await bot.settle()
        assert any("numbat4417" in t for t in bot.replies_to(CREATOR_ID)[-2:])
        assert any("wombat9931" in t for t in bot.replies_to(CREATOR_ID)[-2:])
        listing = next(m for m in reversed(sandbox.sent[CREATOR_ID]) if m.get("reply_markup"))
        assert "wombat9931" in listing["text"]
        sandbox.press(maya, listing, "faq:noop")  # a button press stores the message it was under
        await bot.settle()
        await retrain_and_export(sandbox, bot, maya, data)
        with bot.sessions() as s:
            assert s.scalar(select(FaqExample).where(FaqExample.question.contains("wombat9931"))) is not None
        assert any("Negative comments are surging" in t for t in bot.replies_to(CREATOR_ID))
        everything = " ".join(_blob(v) for _, row in _values(bot) for v in row)
        assert all(m in everything for m in X_MARKERS)  # the test really stored Xena's data everywhere
        trained_with_her = {p.name for p in (data / "faq").glob("v*")}  # her question's embeddings are in there

        before_yuri, before_zoe = _rows_of(bot, YURI), _rows_of(bot, ZOE)
        threads: list[str] = []

        def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.upper().startswith("DELETE FROM FOLLOWERS"):
                threads.append(threading.current_thread().name)

        event.listen(bot.runtime.engine, "before_cursor_execute", _record)
        sandbox.send_private(xena, "/forgetme")
        pending = sandbox.send_private(zoe, "that is my pending message")  # stored, not handled yet
        await bot.settle()
        await wait_for(lambda: not services.background, 90, "the retrain without Xena's questions")
        await bot.settle()

        assert bot.replies_to(XENA)[-1] == texts.FORGETME_DONE
        assert threads and threading.main_thread().name not in threads  # off the event loop
        with bot.sessions() as s:
            last_of_zoe = max(s.scalars(select(UpdatePerson.raw_id).where(UpdatePerson.user_id == ZOE)))
            zoe_update = s.get(RawUpdate, last_of_zoe)
            assert zoe_update is not None and zoe_update.payload["message"]["text"] == pending["text"]
            assert zoe_update.status == "done"
            assert s.scalar(select(DirectMessage).where(DirectMessage.text == "that is my pending message"))
            assert s.scalar(select(Follower).where(Follower.user_id == XENA)) is None
            assert len(s.scalars(select(Comment)).all()) == 3  # counts stay, anonymised
        after_yuri, after_zoe = _rows_of(bot, YURI), _rows_of(bot, ZOE)
        assert after_yuri == before_yuri  # byte for byte
        for name, rows in before_zoe.items():
            if name != "followers":  # her last_seen moves with her new message
                assert set(rows) <= set(after_zoe[name]), name  # earlier rows unchanged; her new ones added

        for table, row in _values(bot):
            for value in row:
                blob = _blob(value)
                assert not any(m in blob for m in X_MARKERS), (table, row)
                assert value != XENA and str(XENA) not in blob, (table, row)
        files = [p for p in data.rglob("*") if p.is_file()]
        for path in files:
            content = path.read_bytes().decode("utf-8", "replace")
            assert not any(m in content for m in X_MARKERS) and str(XENA) not in content, path
        assert not (data / "exports").exists() or not any((data / "exports").iterdir())
        assert services.faq_model is not None and services.faq_model.version is not None
        left = {p.name for p in (data / "faq").glob("v*")}
        assert len(left) == 1 and not left & trained_with_her  # retrained without her; older versions deleted
        assert services.faq_model.version in left
        with bot.sessions() as s:  # the live version learned no example of hers (the dashboard's included)
            accepted = len(s.scalars(select(FaqExample).where(FaqExample.status == "accepted")).all())
        assert services.faq_model.matcher is not None and services.faq_model.matcher.meta.n_examples == accepted
        assert XENA not in services.follower_limits._windows


def test_forget_is_bounded_by_ids_and_runs_where_it_is_called(tmp_path: Path) -> None:
    """Thousands of other people's rows are never read: every statement filters by an id."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    now = utcnow()
    with sessions() as s, s.begin():
        for i in range(3000):
            uid = 10_000 + i
            s.add(RawUpdate(id=i + 1, update_id=i + 1, dedupe_key=f"k{i}", kind="message",
                            payload={"message": {"text": "that thing"}}, status="pending"))
            s.add(UpdatePerson(raw_id=i + 1, user_id=uid))
            s.add(DirectMessage(user_id=uid, chat_id=uid, message_id=1, direction="in", text="that thing",
                                created_at=now))
        s.add(DirectMessage(user_id=5, chat_id=5, message_id=1, direction="in", text="that", created_at=now))
    statements: list[str] = []
    loaded: list[object] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()))

    @event.listens_for(Session, "loaded_as_persistent")
    def _loaded(session: Session, instance: object) -> None:
        loaded.append(instance)

    thread_names: list[str] = []
    with sessions() as s, s.begin():
        worker = threading.Thread(target=lambda: (thread_names.append(threading.current_thread().name),
                                                  forget_follower(s, 5, tmp_path)))
        worker.start()
        worker.join()
    event.remove(Session, "loaded_as_persistent", _loaded)
    reads = [st for st in statements if st.upper().startswith(("SELECT", "UPDATE", "DELETE"))]
    assert reads and all(" WHERE " in st.upper() for st in reads), [st for st in reads if " WHERE " not in st.upper()]
    assert len(loaded) < 10  # none of the 6000 other rows came into Python
    with create_engine(url).connect() as conn:
        assert conn.execute(text("select count(*) from raw_updates")).scalar() == 3000
        assert conn.execute(text("select count(*) from direct_messages")).scalar() == 3000
    engine.dispose()


def test_copies_stored_before_the_links_existed_are_found_after_the_upgrade(tmp_path: Path) -> None:
    """Migration 0010 links what was stored before it: learned examples to their askers, digests to
    the followers they list, and the creator's reply to a digest (and a button press under it)."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url, "0009")
    engine = make_engine(url)
    digest_text = "📬 2 more questions: #1 Xenaphon: wombat9931 strap? #2 Yuri: which bag?"
    digest = {"message_id": 77, "date": 0, "chat": {"id": CREATOR_ID, "type": "private"},
              "from": {"id": 1, "is_bot": True, "first_name": "Bot"}, "text": digest_text}
    now = utcnow()
    maya = {"id": CREATOR_ID, "is_bot": False, "first_name": "Maya"}
    reply = {"update_id": 5, "message": {"message_id": 90, "date": 0, "from": maya, "text": "#2 This one",
                                         "chat": {"id": CREATOR_ID, "type": "private"}, "reply_to_message": digest}}
    press = {"update_id": 6, "callback_query": {"id": "q", "from": maya, "chat_instance": "c", "data": "x",
                                                "message": digest}}
    rows: dict[str, list[dict[str, Any]]] = {  # the tables as 0009 knew them (the models have columns added later)
        "faq_entries": [{"id": "strap", "answer": "A leather one.", "tags": [], "source": "handoff", "active": True,
                         "created_at": now}],
        "faq_examples": [{"id": 1, "entry_id": "strap", "question": "wombat9931 strap?", "source": "handoff",
                          "status": "accepted", "question_hash": "h", "created_at": now}],
        "outbox": [{"id": 10, "chat_id": CREATOR_ID, "method": "text", "params": {"text": digest_text},
                    "purpose": "handoff-digest", "status": "sent", "sent_message_id": 77, "attempts": 0,
                    "next_attempt_at": now, "created_at": now}],
        "handoffs": [
            {"id": 1, "user_id": XENA, "chat_id": XENA, "question": "wombat9931 strap? ", "reason": "unsure",
             "status": "answered", "learned_entry_id": "strap", "creator_outbox_id": 10, "created_at": now},
            {"id": 2, "user_id": YURI, "chat_id": YURI, "question": "which bag?", "reason": "unsure",
             "status": "open", "learned_entry_id": None, "creator_outbox_id": 10, "created_at": now}],
        "raw_updates": [{"id": raw_id, "update_id": payload["update_id"], "dedupe_key": f"k{raw_id}", "chat_key": 0,
                         "kind": "message", "payload": payload, "status": "done", "attempts": 0, "received_at": now,
                         "not_before": now} for raw_id, payload in ((1, reply), (2, press))],
        "update_people": [{"raw_id": 1, "user_id": CREATOR_ID}, {"raw_id": 2, "user_id": CREATOR_ID}],
    }
    with engine.begin() as conn:
        for name, values in rows.items():
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            conn.execute(table.insert(), values)
    engine.dispose()

    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    with sessions() as s, s.begin():
        removed = forget_follower(s, XENA)
    assert removed["learned_examples"] == 1 and removed["outbox"] == 1
    with sessions() as s:
        assert s.get(FaqExample, 1) is None and s.get(OutboxMessage, 10) is None
        for raw_id in (1, 2):
            raw = s.get(RawUpdate, raw_id)
            assert raw is not None and "wombat9931" not in json.dumps(raw.payload)  # scrubbed, not deleted
        assert s.get(RawUpdate, 1).payload["message"]["text"] == "#2 This one"  # type: ignore[union-attr]
        assert s.get(Handoff, 2).creator_outbox_id is None  # type: ignore[union-attr]  # Yuri's: in the next digest
    engine.dispose()


def test_an_example_added_from_a_followers_answer_or_handoff_goes_with_them(tmp_path: Path) -> None:
    """The dashboard's "Add as example" under a low-confidence answer or an open handoff: the example
    remembers the follower; the creator's own examples, and one another follower asked too, stay."""
    from bot.faq.authoring import add_example
    from bot.faq.entries import learn_answer
    from bot.store.models import FaqAnswer

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    with sessions() as s, s.begin():
        s.add(FaqEntryRow(id="tripod", answer="A carbon one."))
        s.add(FaqAnswer(id=1, user_id=XENA, chat_id=XENA, question="wombat9931 tripod?", entry_id="tripod",
                        confidence=0.3, model_version="v0001"))
        s.add(Handoff(id=1, user_id=XENA, chat_id=XENA, question="quokka5521 legs?", reason="unsure"))
        s.add(Handoff(id=2, user_id=YURI, chat_id=YURI, question="which head?", reason="unsure"))
    with sessions() as s, s.begin():
        assert add_example(s, "tripod", "wombat9931 tripod?", answer_id=1)
        assert add_example(s, "tripod", "quokka5521 legs?", handoff_id=1)
        assert add_example(s, "tripod", "how tall is it?")  # the creator's own words
        learn_answer(s, "which head?", "A carbon one.", True, asker=YURI)
        learn_answer(s, "which head?", "A carbon one.", True, asker=XENA)  # she asked it too
        assert not add_example(s, "tripod", "gone?", handoff_id=99)  # forgotten meanwhile: not kept
    with sessions() as s, s.begin():
        assert forget_follower(s, XENA)["learned_examples"] == 2
    with sessions() as s:
        left = set(s.scalars(select(FaqExample.question)))
        assert left == {"how tall is it?", "which head?"}
    engine.dispose()


def test_forget_removes_examples_made_from_the_followers_answers(tmp_path: Path) -> None:
    """👎, ✅, ✏️ and the creator's right answer made FAQ examples of a follower's question: they go
    (a retrain is due), unless another follower's answer made the same; the review list quoting them goes."""
    from bot.store.models import FaqAnswer, FaqEntryRow, OutboxMessage

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)

    def answer(user_id: int, question: str, entry: str, **review: Any) -> FaqAnswer:
        return FaqAnswer(user_id=user_id, chat_id=user_id, question=question, entry_id=entry, confidence=0.8,
                         model_version="v0001", **review)

    with sessions() as s, s.begin():
        for entry in ("tripod", "drone", "fixed"):
            s.add(FaqEntryRow(id=entry, answer=entry))
        s.add(OutboxMessage(id=77, chat_id=CREATOR_ID, method="text", params={"text": "🔎 wombat9931"},
                            purpose="faq-review"))
        s.add_all([
            answer(XENA, "wombat9931 tripod?", "tripod", feedback="down"),
            answer(XENA, "quokka5521 drone?", "drone", review="confirmed", list_outbox_id=77),
            answer(XENA, "shared question", "tripod", review="wrong", list_outbox_id=77),
            answer(XENA, "Xenaphon fix", "drone", review="fixed", learned_entry_id="fixed", list_outbox_id=77),
            answer(YURI, "shared question", "tripod", feedback="down"),
        ])
        s.add_all([
            FaqExample(entry_id="tripod", question="wombat9931 tripod?", source="feedback", status="negative"),
            FaqExample(entry_id="drone", question="quokka5521 drone?", source="review", status="accepted"),
            FaqExample(entry_id="tripod", question="shared question", source="review", status="negative"),
            FaqExample(entry_id="drone", question="Xenaphon fix", source="review", status="negative"),
            FaqExample(entry_id="fixed", question="Xenaphon fix", source="review", status="accepted"),
            FaqExample(entry_id="tripod", question="Which tripod?", source="file", status="accepted"),
        ])
    with sessions() as s, s.begin():
        removed = forget_follower(s, XENA, tmp_path)
    with sessions() as s:
        left = {(e.entry_id, e.question) for e in s.scalars(select(FaqExample))}
        assert left == {("tripod", "shared question"), ("tripod", "Which tripod?")}
        assert removed["learned_examples"] == 4  # the model must be retrained without them
        assert s.get(OutboxMessage, 77) is None
        assert s.scalars(select(FaqAnswer.user_id)).all() == [YURI]
    engine.dispose()


def test_a_button_press_loses_the_message_it_quotes_when_scrubbed() -> None:
    """The creator's ✅ under a review list carries the list's text (other followers' questions)."""
    from bot.privacy.forget import scrub

    press = {"update_id": 5, "callback_query": {
        "id": "1", "chat_instance": "1", "data": "rv:3:ok", "from": {"id": CREATOR_ID, "first_name": "Maya"},
        "message": {"message_id": 9, "chat": {"id": CREATOR_ID, "type": "private"}, "text": "🔎 wombat9931"}}}
    scrubbed = scrub(press, XENA)
    assert "wombat9931" not in json.dumps(scrubbed, ensure_ascii=False)
    assert scrubbed["callback_query"]["data"] == "rv:3:ok" and scrubbed["callback_query"]["from"]["id"] == CREATOR_ID


def test_links_in_the_exports_folder_are_removed_and_never_make_forget_fail(tmp_path: Path) -> None:
    """Earlier exports go; a link in there (to a folder outside, to a file, or dangling) goes as a link, and what
    it points at outside the data folder is left alone."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url), DEFAULT_CREATOR_ID)
    data, outside = tmp_path / "data", tmp_path / "elsewhere"
    (outside / "kept").mkdir(parents=True)
    (outside / "kept" / "theirs.csv").write_text("not ours to delete")
    exports = data / "exports"
    with sessions() as s:
        write_export(s, exports / "earlier")
    (exports / "to-a-folder").symlink_to(outside / "kept", target_is_directory=True)
    (exports / "to-a-file").symlink_to(outside / "kept" / "theirs.csv")
    (exports / "dangling").symlink_to(tmp_path / "gone")
    with sessions() as s, s.begin():
        removed = forget_follower(s, 4242, data)
    assert removed["exports"] == 4 and not any(exports.iterdir())
    assert (outside / "kept" / "theirs.csv").read_text() == "not ours to delete"


async def test_cli_exports_under_the_data_folder_are_deleted_and_those_elsewhere_named_to_the_creator(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    from bot.cli.main import main

    data, elsewhere = tmp_path / "data", tmp_path / "backups" / "monday"
    config = tmp_path / "bot.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n[paths]\ndata_dir = "{data}"\n')
    settings = settings_for(sandbox, sqlite_url, data)
    xena, _maya = sandbox.user(XENA, "Xenaphon"), sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(xena, "is the wombat9931 lens any good?")
        await bot.settle()
        for out in (data / "mine", elsewhere):
            assert main(["--config", str(config), "export", "--out", str(out)]) == 0
        assert "wombat9931" in (elsewhere / "direct_messages.csv").read_text()
        (data / "mine" / "notes.txt").write_text("the creator's own file")  # not the export's: it stays
        sandbox.send_private(xena, "/forgetme")
        await bot.settle()
        assert bot.replies_to(XENA)[-1] == texts.FORGETME_DONE
        assert sorted(p.name for p in (data / "mine").iterdir()) == ["notes.txt"]
        note = bot.replies_to(CREATOR_ID)[-1]
        assert note.startswith("🗑 Someone was forgotten") and note.endswith(f"\n• {elsewhere.resolve()}")
        assert "wombat9931" in (elsewhere / "direct_messages.csv").read_text()  # never touched: named
        assert "Xenaphon" not in note and str(XENA) not in note
