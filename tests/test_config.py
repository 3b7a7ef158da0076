from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import (
    ConfigError,
    FaqConfig,
    ScheduleConfig,
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
