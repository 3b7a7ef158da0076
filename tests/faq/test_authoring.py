"""FAQ authoring in the chat refuses an answer Telegram could not send (the same check as the dashboard)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.faq import authoring
from bot.kernel.services import Services
from bot.store.db import migrated_sessions
from bot.store.models import ChatDialog, FaqEntryRow, OutboxMessage

CHAT = 9001


def _last_text(session: Session) -> str:
    row = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert row is not None
    return str(row.params["text"])


def test_a_file_with_an_answer_too_long_to_send_changes_nothing(tmp_path: Path) -> None:
    sessions = migrated_sessions(f"sqlite:///{tmp_path / 'bot.db'}")
    long = "🎥" * 2100  # 4,200 UTF-16 units in 2,100 characters
    data = f"question,answer\nwhich camera?,A Sony.\nwhich lens?,{long}\n".encode()
    with sessions() as s, s.begin():
        assert authoring.import_file(s, CHAT, "faq.csv", data) is False
        reply = _last_text(s)
    assert texts.esc(texts.FAQ_ANSWER_TOO_LONG.format(n=4200, limit=4096)) in reply, reply
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(FaqEntryRow)) == 0


def test_faq_add_asks_again_for_an_answer_too_long_and_keeps_the_questions(tmp_path: Path) -> None:
    sessions = migrated_sessions(f"sqlite:///{tmp_path / 'bot.db'}")
    services = Services.__new__(Services)  # continue_dialog reads nothing of it on these steps
    with sessions() as s, s.begin():
        authoring.start_add(s, CHAT)
        authoring.continue_dialog(services, s, CHAT, "which camera?\nwhat camera do you use?")
        assert authoring.continue_dialog(services, s, CHAT, "x" * 5000) is True
        assert _last_text(s) == texts.esc(texts.FAQ_ANSWER_TOO_LONG.format(n=5000, limit=4096))
    with sessions() as s, s.begin():
        dialog = s.get(ChatDialog, CHAT)
        assert dialog is not None and dialog.data["questions"] == ["which camera?", "what camera do you use?"]
        assert s.scalar(select(func.count()).select_from(FaqEntryRow)) == 0
        authoring.continue_dialog(services, s, CHAT, "A Sony.")
    with sessions() as s:
        assert [r.answer for r in s.scalars(select(FaqEntryRow))] == ["A Sony."]


def test_the_import_command_refuses_the_same_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    config = tmp_path / "bot.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n')
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\nwhich camera?,A Sony.\nwhich lens?," + "🎥" * 2100 + "\n")  # 4,200 units
    assert main(["--config", str(config), "faq", "import", str(faq)]) == 2
    err = capsys.readouterr().err
    assert "which lens?" in err and texts.FAQ_ANSWER_TOO_LONG.format(n=4200, limit=4096) in err
    assert not (tmp_path / "bot.db").exists() or migrated_sessions(f"sqlite:///{tmp_path / 'bot.db'}")().scalar(
        select(func.count()).select_from(FaqEntryRow)) == 0
