"""`creatorbot creators list | add | pause | resume | remove` and `--creator` on the commands of one creator's
data (bot/cli/creators.py, bot/cli/scope.py), on SQLite in tmp_path."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from bot.store import creators
from bot.store.db import make_engine
from bot.store.models import FaqEntryRow, Follower
from bot.store.scope import creator_sessions, fleet_sessions

SECRET = "111:literal-secret-of-maya"
TWO = """
[database]
url = "sqlite:///{db}"
[paths]
data_dir = "{data}"

[[creators]]
name = "maya"
token = "{secret}"
user_ids = [11, 12]

[[creators]]
name = "luca"
token_env = "LUCA_TEST_TOKEN"
user_ids = [21]
"""
ONE = """
[database]
url = "sqlite:///{db}"
[paths]
data_dir = "{data}"
[creator]
user_ids = [7]
"""


@pytest.fixture(autouse=True)
def _no_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LUCA_TEST_TOKEN", "ZOE_TEST_TOKEN", "CREATORBOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)


def _config(tmp_path: Path, text: str = TWO) -> str:
    path = tmp_path / "bot.toml"
    path.write_text(text.format(db=tmp_path / "bot.db", data=tmp_path / "data", secret=SECRET), encoding="utf-8")
    return str(path)


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _ids(tmp_path: Path) -> dict[str, int]:
    engine = make_engine(_url(tmp_path))
    with fleet_sessions(engine)() as s:
        ids = {row.name: row.id for row in creators.all_creators(s)}
    engine.dispose()
    return ids


def _count(tmp_path: Path, creator_id: int, model: type) -> int:
    engine = make_engine(_url(tmp_path))
    with creator_sessions(engine, creator_id)() as s:
        n = int(s.scalar(select(func.count()).select_from(model)) or 0)
    engine.dispose()
    return n


def _put_rows(tmp_path: Path, names: list[str]) -> dict[str, int]:
    """A follower and a FAQ answer for each creator, through their own sessions."""
    ids = _ids(tmp_path)
    engine = make_engine(_url(tmp_path))
    for name in names:
        with creator_sessions(engine, ids[name])() as s, s.begin():
            s.add(Follower(user_id=7, first_name=f"Ana of {name}"))
            s.add(FaqEntryRow(id="camera", answer=f"{name}'s camera"))
    engine.dispose()
    return ids


def test_list_shows_the_configs_creators_before_the_bot_ever_ran_and_never_a_token(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    rc, out, err = _run(capsys, "--config", config, "creators", "list")
    assert rc == 0
    lines = out.splitlines()
    assert [line.split()[:3] for line in lines] == [["maya", "active", "config"], ["luca", "active", "config"]]
    assert "bot 111" in lines[0] and "2 user ids" in lines[0]
    assert "$LUCA_TEST_TOKEN not set" in lines[1] and "1 user id" in lines[1]
    rc, js, err2 = _run(capsys, "creators", "list", "--json", "--config", config)
    assert rc == 0
    rows = json.loads(js)
    assert [(r["name"], r["bot_id"], r["token_env"], r["user_ids"]) for r in rows] == [
        ("maya", 111, None, [11, 12]), ("luca", None, "LUCA_TEST_TOKEN", [21])]
    for text in (out, err, js, err2):
        assert SECRET not in text and "literal-secret" not in text


def test_add_pause_resume_and_what_they_say(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    rc, _, err = _run(capsys, "--config", config, "creators", "add", "zoe", "--token-env", "ZOE_TEST_TOKEN",
                      "--user-id", "31", "--user-id", "32")
    assert rc == 0
    assert "within 30 s" in err
    assert "the running bot reads $ZOE_TEST_TOKEN from its own environment: set it there" in err
    assert str(tmp_path / "data" / "creators" / "zoe") in err
    monkeypatch.setenv("ZOE_TEST_TOKEN", "333:zoe-secret")
    rc, out, err = _run(capsys, "--config", config, "creators", "list")
    zoe = out.splitlines()[2]
    assert zoe.split()[:3] == ["zoe", "active", "cli"] and "bot 333" in zoe and "2 user ids" in zoe
    assert "zoe-secret" not in out + err

    rc, _, err = _run(capsys, "--config", config, "creators", "pause", "zoe")
    assert rc == 0 and "stops answering within 30 s; nothing is deleted" in err
    rc, out, _ = _run(capsys, "--config", config, "creators", "list", "--json")
    assert {r["name"]: r["status"] for r in json.loads(out)}["zoe"] == "paused"
    rc, _, err = _run(capsys, "--config", config, "creators", "resume", "zoe")
    assert rc == 0 and "within 30 s" in err
    rc, out, _ = _run(capsys, "--config", config, "creators", "list", "--json")
    assert {r["name"]: r["status"] for r in json.loads(out)}["zoe"] == "active"


@pytest.mark.parametrize(("argv", "message"), [
    (["Zoe!", "--token-env", "ZOE_TEST_TOKEN", "--user-id", "31"], "is not a creator name"),
    (["zoe", "--token-env", "ZOE_TEST_TOKEN"], "--user-id"),
    (["zoe", "--user-id", "31"], "--token-env"),
    (["zoe", "--token-env", "not a var", "--user-id", "31"], "is not an environment variable name"),
    (["maya", "--token-env", "ZOE_TEST_TOKEN", "--user-id", "31"], 'a creator named "maya" exists already'),
    (["zoe", "--token-env", "LUCA_TEST_TOKEN", "--user-id", "31"], "luca's bot reads $LUCA_TEST_TOKEN already"),
])
def test_add_refuses_what_is_wrong_with_a_clear_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    rc, _, err = _run(capsys, "--config", _config(tmp_path), "creators", "add", *argv)
    assert rc == 2 and message in err
    assert not (tmp_path / "bot.db").exists() or "zoe" not in _ids(tmp_path)


@pytest.mark.parametrize("action", ["pause", "resume", "remove"])
def test_an_unknown_name_lists_the_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str) -> None:
    rc, _, err = _run(capsys, "--config", _config(tmp_path), "creators", action, "nobody")
    assert rc == 2
    assert 'no creator named "nobody": the creators are maya, luca' in err


def test_a_creator_that_is_down_says_since_when_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    _run(capsys, "--config", config, "creators", "list")
    ids = _ids(tmp_path)
    engine = make_engine(_url(tmp_path))
    with fleet_sessions(engine)() as s, s.begin():
        creators.mark_down(s, ids["luca"], "Telegram refused the token (401): check it with @BotFather")
    engine.dispose()
    _, out, _ = _run(capsys, "--config", config, "creators", "list")
    luca = out.splitlines()[1]
    assert "down since " in luca and luca.endswith(": Telegram refused the token (401): check it with @BotFather")
    assert "down since" not in out.splitlines()[0]


def test_remove_shows_what_goes_and_deletes_only_that_creators_rows_and_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    _run(capsys, "--config", config, "creators", "list")
    ids = _put_rows(tmp_path, ["maya", "luca"])
    luca_dir, maya_dir = tmp_path / "data" / "creators" / "luca", tmp_path / "data" / "creators" / "maya"
    for folder in (luca_dir, maya_dir):
        (folder / "faq" / "v0001").mkdir(parents=True)
        (folder / "faq" / "v0001" / "meta.json").write_text("{}")

    rc, out, err = _run(capsys, "--config", config, "creators", "remove", "luca", "--dry-run")
    assert rc == 0 and "nothing deleted (--dry-run)" in err
    assert "faq_entries: 1 row" in out and "followers: 1 row" in out and str(luca_dir) in out
    assert _count(tmp_path, ids["luca"], Follower) == 1 and luca_dir.exists()

    monkeypatch.setattr("sys.stdin", io.StringIO("maya\n"))  # not the name asked for
    rc, _, err = _run(capsys, "--config", config, "creators", "remove", "luca")
    assert rc == 1 and "Type the creator's name to delete everything of theirs:" in err and "nothing deleted" in err
    assert _count(tmp_path, ids["luca"], FaqEntryRow) == 1 and luca_dir.exists()

    monkeypatch.setattr("sys.stdin", io.StringIO("luca\n"))
    rc, _, err = _run(capsys, "--config", config, "creators", "remove", "luca")
    assert rc == 0 and "remove its [[creators]] table too" in err
    assert _count(tmp_path, ids["luca"], Follower) == 0 and _count(tmp_path, ids["luca"], FaqEntryRow) == 0
    assert not luca_dir.exists()
    assert _count(tmp_path, ids["maya"], Follower) == 1 and _count(tmp_path, ids["maya"], FaqEntryRow) == 1
    assert (maya_dir / "faq" / "v0001" / "meta.json").exists()


def test_remove_yes_of_a_cli_creator_asks_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    _run(capsys, "--config", config, "creators", "add", "zoe", "--token-env", "ZOE_TEST_TOKEN", "--user-id", "31")
    ids = _put_rows(tmp_path, ["maya", "zoe"])
    rc, out, err = _run(capsys, "--config", config, "creators", "remove", "zoe", "--yes")
    assert rc == 0 and "Type the creator's name" not in err and "[[creators]]" not in err
    assert "faq_entries: 1 row" in out and "no data folder" in out
    assert "zoe" not in _ids(tmp_path) and _count(tmp_path, ids["zoe"], Follower) == 0
    assert _count(tmp_path, ids["maya"], Follower) == 1


def test_removing_the_default_creator_keeps_the_top_level_data_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, ONE)
    data = tmp_path / "data"
    for sub in ("faq/v0001", "exports", "models"):
        (data / sub).mkdir(parents=True)
        (data / sub / "file").write_text("x")
    _run(capsys, "--config", config, "creators", "list")
    _put_rows(tmp_path, ["default"])
    rc, out, err = _run(capsys, "--config", config, "creators", "remove", "default", "--yes")
    assert rc == 0 and "only faq/, sentiment/, exports/" in out
    assert data.is_dir() and (data / "models" / "file").exists()
    assert not (data / "faq").exists() and not (data / "exports").exists()
    assert "makes it again" in err


FAQ = "question,answer\nwhich camera?,A Sony.\nwhich lens?,A 35 mm.\n"


def test_commands_on_one_creators_data_need_creator_when_there_are_several(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    faq = tmp_path / "faq.csv"
    faq.write_text(FAQ)
    rc, _, err = _run(capsys, "--config", config, "faq", "import", str(faq))
    assert rc == 2 and "several creators: name one with --creator (maya, luca)" in err
    rc, _, err = _run(capsys, "--config", config, "faq", "import", str(faq), "--creator", "nobody")
    assert rc == 2 and 'no creator named "nobody": the creators are maya, luca' in err
    for argv in (["--creator", "luca", "faq", "import", str(faq)], ["faq", "import", str(faq), "--creator", "luca"]):
        rc, _, err = _run(capsys, "--config", config, *argv)
        assert rc == 0 and "for luca" in err and "faq train --creator luca" in err
    ids = _ids(tmp_path)
    assert _count(tmp_path, ids["luca"], FaqEntryRow) == 2
    assert _count(tmp_path, ids["maya"], FaqEntryRow) == 0
    engine = make_engine(_url(tmp_path))
    with creator_sessions(engine, ids["luca"])() as s:
        assert sorted(e.answer for e in s.scalars(select(FaqEntryRow))) == ["A 35 mm.", "A Sony."]
    engine.dispose()
    rc, _, err = _run(capsys, "--config", config, "faq", "review")
    assert rc == 2 and "--creator" in err
    rc, _, err = _run(capsys, "--config", config, "faq", "review", "--creator", "maya")
    assert rc == 0 and "0 example(s) for maya" in err


def test_a_creator_added_with_the_cli_is_one_to_name_and_makes_several(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, ONE)
    faq = tmp_path / "faq.csv"
    faq.write_text(FAQ)
    _run(capsys, "--config", config, "creators", "add", "zoe", "--token-env", "ZOE_TEST_TOKEN", "--user-id", "31")
    rc, _, err = _run(capsys, "--config", config, "faq", "import", str(faq))
    assert rc == 2 and "several creators: name one with --creator (default, zoe)" in err
    rc, _, _ = _run(capsys, "--config", config, "faq", "import", str(faq), "--creator", "zoe")
    assert rc == 0
    ids = _ids(tmp_path)
    assert _count(tmp_path, ids["zoe"], FaqEntryRow) == 2 and _count(tmp_path, ids["default"], FaqEntryRow) == 0


def test_a_single_creator_config_needs_no_creator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, ONE)
    faq = tmp_path / "faq.csv"
    faq.write_text(FAQ)
    rc, _, err = _run(capsys, "--config", config, "faq", "import", str(faq))  # a fresh database
    assert rc == 0 and "for default" not in err and "--creator" not in err
    engine = make_engine(_url(tmp_path))
    default = creators.creator_id_of(engine, "default")
    engine.dispose()
    assert _count(tmp_path, default, FaqEntryRow) == 2
    rc, _, _ = _run(capsys, "--config", config, "--creator", "default", "faq", "review")
    assert rc == 0


def test_creator_is_not_for_commands_that_serve_every_creator(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    for argv in (["--creator", "maya", "run"], ["--creator", "maya", "creators", "list"]):
        rc, _, err = _run(capsys, "--config", config, *argv)
        assert rc == 2 and "--creator is not for" in err
    with pytest.raises(SystemExit):
        main(["--config", config, "run", "--creator", "maya"])  # not an option of `run` at all
    capsys.readouterr()


def test_creator_settings_are_the_creators_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from bot.cli.scope import NoCreatorChosen, creator_settings
    from bot.config import load_settings

    settings = load_settings(_config(tmp_path))
    own, creator_id = creator_settings(argparse.Namespace(creator="luca"), settings)
    assert own.creator_name == "luca" and own.creator.user_ids == (21,)
    assert own.data_dir == tmp_path / "data" / "creators" / "luca" and creator_id == _ids(tmp_path)["luca"]
    with pytest.raises(NoCreatorChosen, match=r"several creators: name one with --creator \(maya, luca\)"):
        creator_settings(argparse.Namespace(), settings)
    # the FAQ versions the bot answers with are looked for in the creator's own folder
    (tmp_path / "q.txt").write_text("which camera?\n")
    rc, _, err = _run(capsys, "--config", str(tmp_path / "bot.toml"), "faq", "ask", "--input", str(tmp_path / "q.txt"),
                      "--creator", "luca")
    assert rc == 2 and f"no trained FAQ model for luca in {tmp_path / 'data' / 'creators' / 'luca' / 'faq'}" in err
    assert "faq train --creator luca" in err


def test_add_with_a_token_file_names_the_file_and_never_its_token(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    token_file = tmp_path / "zoe.token"
    rc, _, err = _run(capsys, "--config", config, "creators", "add", "zoe", "--token-file", str(token_file),
                      "--user-id", "31")
    assert rc == 0 and f"token from {token_file}" in err
    assert f"warning: cannot read the token file {token_file}" in err  # not written yet: said, not refused
    token_file.write_text("333:zoe-file-secret\n")
    rc, out, err = _run(capsys, "--config", config, "creators", "list")
    zoe = next(line for line in out.splitlines() if line.startswith("zoe"))
    assert f"token file {token_file}" in zoe and "zoe-file-secret" not in out + err
    rc, _, err = _run(capsys, "--config", config, "creators", "add", "ann", "--token-file", str(token_file),
                      "--user-id", "41")
    assert rc == 2 and f"zoe's bot reads {token_file} already" in err
    rc, _, err = _run(capsys, "--config", config, "creators", "add", "ann", "--token-file", "ann.token",
                      "--token-env", "ANN_TOKEN", "--user-id", "41")
    assert rc == 2 and "either --token-env or --token-file" in err
