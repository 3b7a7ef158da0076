from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.cli.main import cmd_check_config
from bot.config import (
    WEBHOOK_SECRET_RE,
    ConfigError,
    CreatorConfig,
    CreatorSpec,
    FaqConfig,
    ScheduleConfig,
    Settings,
    load_settings,
    parse_settings,
    with_overrides,
)


def test_defaults_need_no_file() -> None:
    settings = load_settings(None, env={})
    assert settings.database.url == "sqlite:///creatorbot.db"
    assert settings.telegram.mode == "polling"
    assert settings.creator_chat_id is None


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    settings = load_settings(example, env={})
    assert settings.schedule.timezone


def test_token_comes_from_environment() -> None:
    settings = parse_settings({"telegram": {"token": "from-file"}}, env={"CREATORBOT_TOKEN": "from-env"})
    assert settings.telegram.token == "from-env"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"schedule": {"timezone": "Mars/Olympus"}}, ["[schedule] timezone", "Mars/Olympus", "IANA"]),
        ({"creator": {"user_ids": "123"}}, ["[creator] user_ids", "'123'", "a list of int"]),
        ({"telegram": {"mode": "push"}}, ["[telegram] mode", "polling"]),
        ({"telegram": {"tokn": "x"}}, ["[telegram] tokn", 'did you mean "token"']),
        ({"databse": {"url": "sqlite://"}}, ["[databse]", 'did you mean "database"']),
        ({"schedule": {"report_time": "25:00"}}, ["[schedule] report_time", "HH:MM"]),
        ({"schedule": {"member_count_time": "7:5"}}, ["[schedule] member_count_time", "'7:5'", "HH:MM"]),
        ({"schedule": {"report_weekday": "monday"}}, ["[schedule] report_weekday", "'monday'", "mon, tue"]),
        ({"faq": {"retrain_time": "3.30"}}, ["[faq] retrain_time", "'3.30'", "HH:MM"]),
        ({"schedule": {"report_clock": "09:00"}}, ["unknown key [schedule] report_clock"]),  # parsed, not a key
        ({"telegram": {"mode": "webhook"}}, ["webhook_url"]),
        ({"sentiment": {"dm_quiet_seconds": -1}}, ["[sentiment] dm_quiet_seconds = -1", "0 (at once) or more"]),
        ({"sentiment": {"dm_max_wait_minutes": "soon"}}, ["[sentiment] dm_max_wait_minutes", "'soon'", "wrong type"]),
    ],
)
def test_errors_name_the_key_the_value_and_the_fix(raw: dict[str, object], expected: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, "bot.toml", env={})
    message = str(info.value)
    assert message.startswith("bot.toml")
    for part in expected:
        assert part in message


def test_times_and_weekdays_are_parsed_once_when_loaded() -> None:
    settings = parse_settings({"schedule": {"report_time": "18:45", "report_weekday": "sun",
                                            "member_count_time": "00:00"}, "faq": {"retrain_time": "23:59"}})
    assert settings.schedule.report_clock == dt.time(18, 45)
    assert settings.schedule.report_weekday_index == 6
    assert settings.schedule.member_count_clock == dt.time(0, 0)
    assert settings.faq.retrain_clock == dt.time(23, 59)
    defaults = parse_settings({})
    assert (defaults.schedule.report_clock, defaults.schedule.report_weekday_index) == (dt.time(9, 0), 0)
    changed = with_overrides(defaults, {"schedule.report_time": "07:30", "schedule.report_weekday": "wed"})
    assert (changed.schedule.report_clock, changed.schedule.report_weekday_index) == (dt.time(7, 30), 2)


def test_a_section_built_in_code_checks_its_times_too() -> None:
    with pytest.raises(ConfigError, match=r"\[schedule\] report_time = '9am' is not valid: use 24-hour"):
        ScheduleConfig(report_time="9am")
    with pytest.raises(ConfigError, match=r"\[schedule\] report_weekday = 'Mon'.*use one of mon, tue"):
        ScheduleConfig(report_weekday="Mon")
    with pytest.raises(ConfigError, match=r"\[faq\] retrain_time = '24:00'"):
        FaqConfig(retrain_time="24:00")


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"telegram": {"mode": 3, "base_url": "ftp://x"}, "faq": {"target_precision": 2.0}}, env={})
    assert len(info.value.problems) == 3


def test_check_config_command_reports_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[schedule]\ntimezone = "Nowhere/City"\n[faq]\ntarget_precison = 0.9\n')
    proc = subprocess.run([sys.executable, "-m", "bot", "check-config", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "[schedule] timezone" in proc.stderr
    assert 'did you mean "target_precision"' in proc.stderr
    assert proc.stdout == ""


def test_check_config_reports_toml_syntax(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[telegram\ntoken = 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(bad, env={})
    assert "not valid TOML" in str(info.value)


def test_model_routing_is_validated() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"models": {"routing": "chinese"}}, env={})
    assert "[models] routing" in str(info.value) and "multilingual" in str(info.value)
    assert parse_settings({"models": {"routing": "multilingual"}}, env={}).models.routing == "multilingual"


# --- several creators, each with a bot of their own ([[creators]]) ---------------------------

TWO_CREATORS = """
[telegram]
mode = "webhook"
webhook_url = "https://bots.example.org/hook/"
webhook_secret = "%s"

[paths]
data_dir = "/srv/creatorbot"

[schedule]
timezone = "Europe/Berlin"
report = "daily"
report_time = "18:00"

[inbox]
business = "off"

[[creators]]
name = "maya"
token_env = "MAYA_BOT_TOKEN"
user_ids = [11, 12]
inbox_chat_id = -1009

[[creators]]
name = "luca"
token = "222:from-the-file"
user_ids = [12]
language = "it"
paused = true
[creators.schedule]
timezone = "Europe/Rome"
[creators.inbox]
bot_chat = "draft"
""" % ("S" * 40)


def _two_creators(env: dict[str, str] | None = None) -> Settings:
    return parse_settings(tomllib.loads(TWO_CREATORS), "bot.toml",
                          env={"MAYA_BOT_TOKEN": "111:from-env"} if env is None else env)


def test_a_single_creator_config_is_one_creator_named_default() -> None:
    raw = {"creator": {"user_ids": [7], "inbox_chat_id": -9}, "telegram": {"token": "5:file"}}
    settings = parse_settings(raw, env={"CREATORBOT_TOKEN": "123:env"})
    assert settings.creators == (CreatorSpec(name="default", token="123:env", token_env="CREATORBOT_TOKEN",
                                             user_ids=(7,), inbox_chat_id=-9),)
    assert settings.creators[0].bot_id == 123 and settings.creator_name == "default"
    assert settings.for_creator(settings.creators[0]) == settings  # the same bot, folder and ids as before
    from_file = parse_settings(raw, env={}).creators[0]
    assert (from_file.token, from_file.token_env, from_file.bot_id) == ("5:file", "", 5)
    assert parse_settings({}, env={}).creators == (CreatorSpec(name="default"),)


def test_two_creators_inherit_the_top_level_tables_key_by_key() -> None:
    settings = _two_creators()
    maya, luca = settings.creators
    assert (maya.name, maya.token, maya.bot_id, maya.user_ids) == ("maya", "111:from-env", 111, (11, 12))
    assert (luca.name, luca.token, luca.token_env, luca.language, luca.paused) == (
        "luca", "222:from-the-file", "", "it", True)
    assert maya.schedule is None and maya.inbox is None and maya.channel is None
    assert luca.schedule is not None and luca.inbox is not None
    assert luca.schedule.timezone == "Europe/Rome"
    assert (luca.schedule.report, luca.schedule.report_clock) == ("daily", dt.time(18, 0))  # from [schedule]
    assert (luca.inbox.bot_chat, luca.inbox.business) == ("draft", "off")
    assert settings.for_creator(maya).schedule.timezone == "Europe/Berlin"
    assert settings.for_creator(luca).tz.key == "Europe/Rome"


def test_the_environment_wins_over_a_token_in_the_table() -> None:
    raw = {"creators": [{"name": "maya", "token_env": "MAYA_BOT_TOKEN", "token": "1:file"}]}
    assert parse_settings(raw, env={"MAYA_BOT_TOKEN": "2:env"}).creators[0].token == "2:env"
    assert parse_settings(raw, env={}).creators[0].token == "1:file"
    assert CreatorSpec(name="x").bot_id is None and CreatorSpec(name="x", token="abc:def").bot_id is None


def test_for_creator_gives_their_bot_ids_folder_and_webhook() -> None:
    settings = _two_creators()
    maya = settings.for_creator(settings.creator_spec("maya"))
    luca = settings.for_creator(settings.creator_spec("luca"))
    assert (maya.telegram.token, luca.telegram.token) == ("111:from-env", "222:from-the-file")
    assert maya.creator == CreatorConfig(user_ids=(11, 12), inbox_chat_id=-1009)
    assert maya.creator_chat_id == -1009 and luca.creator_chat_id == 12
    assert luca.is_creator(12) and not luca.is_creator(11)
    assert maya.data_dir == Path("/srv/creatorbot/creators/maya")
    assert (maya.creator_name, maya.creators) == ("maya", (settings.creator_spec("maya"),))
    assert maya.telegram.webhook_url == "https://bots.example.org/hook/maya"
    assert luca.telegram.webhook_url == "https://bots.example.org/hook/luca"
    secret = "S" * 40
    expected = base64.urlsafe_b64encode(hmac.new(secret.encode(), b"maya", hashlib.sha256).digest()).rstrip(b"=")
    assert maya.telegram.webhook_secret == expected.decode()
    assert WEBHOOK_SECRET_RE.match(maya.telegram.webhook_secret)
    assert len({maya.telegram.webhook_secret, luca.telegram.webhook_secret, secret}) == 3
    assert _two_creators().for_creator(settings.creators[0]) == maya  # derived, not random
    polling = parse_settings({"creators": [{"name": "maya"}]}, env={}).for_creator(CreatorSpec(name="maya"))
    assert (polling.telegram.webhook_url, polling.telegram.webhook_secret) == ("", "")


def test_an_unknown_creator_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r'no creator is named "zoe": the configured creators are "maya", "luca"'):
        _two_creators().creator_spec("zoe")


def test_one_person_may_own_two_creators_bots() -> None:
    raw = {"creators": [{"name": "maya", "token": "1:a", "user_ids": [42]},
                        {"name": "maya-food", "token": "2:b", "user_ids": [42]}]}
    settings = parse_settings(raw, env={})
    assert [s.user_ids for s in settings.creators] == [(42,), (42,)]


@pytest.mark.parametrize(
    ("creators", "expected"),
    [
        ([{"name": "maya", "token": "1:a"}, {"name": "maya", "token": "2:b"}],
         ['two [[creators]] are named "maya"']),
        ([{"name": "maya", "token": "secret-token"}, {"name": "luca", "token": "secret-token"}],
         ["two [[creators]] use the same bot token", "@BotFather", '"maya" and "luca"']),
        ([{"name": "maya", "token": "123:a"}, {"name": "luca", "token": "123:b"}],
         ["two [[creators]] use the same bot (id 123): each creator needs a bot of their own from @BotFather"]),
        ([{"name": "Maya Rossi"}], ['[[creators]] #1 name = "Maya Rossi" is not valid', "lowercase", '"maya-rossi"']),
        ([{"name": "-maya"}], ["[[creators]] #1 name", "starting with a letter or digit"]),
        ([{"token": "1:a"}], ["[[creators]] #1 has no name", 'name = "maya"']),
        ([{"name": "luca", "inbox": {"bot_chatt": "draft"}}],
         ['unknown key [[creators]] "luca" inbox.bot_chatt: did you mean "bot_chat"?']),
        ([{"name": "luca", "inbox": {"business": "sometimes"}}],
         ['[[creators]] "luca" inbox.business = "sometimes" is not valid: use "auto", "draft" or "off"']),
        ([{"name": "cook", "schedule": {"timezone": "Mars/Base"}}],
         ['[[creators]] "cook" schedule.timezone = "Mars/Base" is not valid: use an IANA time zone name']),
        ([{"name": "cook", "schedule": {"report_time": 9}}],
         ['[[creators]] "cook" schedule.report_time = 9 has the wrong type: use a string']),
        ([{"name": "cook", "user_id": [1]}], ['unknown key [[creators]] "cook" user_id: did you mean "user_ids"?']),
        ([{"name": "cook", "channel": 5}], ['[[creators]] "cook" channel must be a table', "[creators.channel]"]),
        ([{"name": "cook", "token_env": "MY TOKEN"}], ['[[creators]] "cook" token_env = "MY TOKEN" is not valid']),
        ([{"name": "cook", "language": "Italian"}], ['[[creators]] "cook" language = "Italian"', '"en" or "zh"']),
        ([{"name": "cook", "inbox_chat_id": -5, "channel": {"id": -5}}],
         ['[[creators]] "cook" inbox_chat_id = -5 is the channel or its public discussion group']),
        ({"name": "cook"}, ["creators must be an array of tables", "[[creators]]"]),
    ],
)
def test_creator_errors_name_the_creator_the_key_and_the_fix(creators: object, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"creators": creators}, "bot.toml", env={})
    message = str(info.value)
    for part in expected:
        assert part in message
    tokens = [c["token"] for c in creators if "token" in c] if isinstance(creators, list) else []
    assert not any(token in message for token in tokens)  # a message never shows a token


def test_creator_user_ids_and_creators_cannot_both_be_given() -> None:
    raw = {"creator": {"user_ids": [1]}, "creators": [{"name": "maya", "user_ids": [1]}]}
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, env={})
    assert "[creator] user_ids and [[creators]] are both given" in str(info.value)
    assert "move user_ids into the [[creators]] table" in str(info.value)
    with pytest.raises(ConfigError, match=r"\[creator\] inbox_chat_id and \[\[creators\]\] are both given"):
        parse_settings({"creator": {"inbox_chat_id": -5}, "creators": [{"name": "maya"}]}, env={})
    assert parse_settings({"creator": {"user_ids": []}, "creators": [{"name": "maya"}]}, env={}).creators


def test_creator_problems_are_all_listed_at_once() -> None:
    raw = {"creators": [{"name": "a", "token": "1:x", "schedule": {"report": "hourly"}},
                        {"name": "b", "token": "1:y"}, {"name": "B"}]}
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, env={})
    assert len(info.value.problems) == 3


def test_the_example_of_several_creators_is_valid() -> None:
    lines = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text().splitlines()
    start = lines.index("# [[creators]]")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line.removeprefix("#").removeprefix(" "))
    settings = parse_settings(tomllib.loads("\n".join(block)), env={"LUCA_BOT_TOKEN": "2:luca"})
    assert [c.name for c in settings.creators] == ["maya", "luca"]
    luca = settings.creator_spec("luca")
    assert luca.schedule is not None and luca.schedule.timezone == "Europe/Rome" and luca.bot_id == 2


def test_check_config_lists_each_creator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "none.db"}"\n'
                   '[[creators]]\nname = "maya"\ntoken = "111:x"\nuser_ids = [1, 2]\n'
                   '[creators.channel]\nid = -100\ndiscussion_group_id = -101\n'
                   '[[creators]]\nname = "luca"\ntoken_env = "LUCA_BOT_TOKEN_UNSET"\n')
    args = argparse.Namespace(generate_secret=False, path=str(cfg), config=None)
    assert cmd_check_config(args, Settings()) == 0
    err = capsys.readouterr().err
    assert "configuration is valid" in err
    assert "  maya: bot 111, 2 user ids" in err
    assert "  luca: no token: set $LUCA_BOT_TOKEN_UNSET, 0 user ids" in err
    assert 'warning: [[creators]] "luca" has no bot token: set $LUCA_BOT_TOKEN_UNSET' in err
    assert '[[creators]] "luca" user_ids is empty' in err and '[[creators]] "luca" channel.id is 0' in err
    assert '"maya" user_ids is empty' not in err and '"maya" channel.id' not in err
    assert "111:x" not in err
