from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.kernel.reminders import next_occurrence
from bot.topics.reminding import WhenError, parse_when

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)  # a Friday; DST starts in Berlin on Sunday 29 March


@pytest.mark.parametrize(
    ("words", "local", "recurrence", "rest"),
    [
        (["in", "2h", "post"], datetime(2026, 3, 27, 13, 0), "once", ["post"]),
        (["in", "30", "min", "x"], datetime(2026, 3, 27, 11, 30), "once", ["x"]),
        (["18:00", "stories"], datetime(2026, 3, 27, 18, 0), "once", ["stories"]),
        (["9:30", "a"], datetime(2026, 3, 28, 9, 30), "once", ["a"]),  # 9:30 has passed today
        (["tomorrow", "7.15", "b"], datetime(2026, 3, 28, 7, 15), "once", ["b"]),
        (["2026-12-24", "18:00", "xmas"], datetime(2026, 12, 24, 18, 0), "once", ["xmas"]),
        (["daily", "20:00", "live"], datetime(2026, 3, 27, 20, 0), "daily", ["live"]),
        (["every", "mon", "9:00", "plan"], datetime(2026, 3, 30, 9, 0), "weekly", ["plan"]),
    ],
)
def test_parse_when(words: list[str], local: datetime, recurrence: str, rest: list[str]) -> None:
    when, remaining = parse_when(words, NOW, BERLIN)
    assert when.due_at.astimezone(BERLIN).replace(tzinfo=None) == local
    assert when.recurrence == recurrence and remaining == rest


@pytest.mark.parametrize("words", [["someday"], ["in", "2", "weeks"], ["2026-02-30", "10:00"], ["25:00", "x"]])
def test_parse_when_rejects_nonsense(words: list[str]) -> None:
    with pytest.raises(WhenError):
        parse_when(words, NOW, BERLIN)


def test_daily_reminders_keep_their_wall_clock_time_across_dst() -> None:
    first = datetime(2026, 3, 28, 18, 0, tzinfo=BERLIN)
    second = next_occurrence(first, "daily", BERLIN)
    assert second.astimezone(BERLIN).hour == 18
    assert (second.astimezone(UTC) - first.astimezone(UTC)).total_seconds() == 23 * 3600  # clocks go forward


@pytest.mark.parametrize(("words", "problem"), [
    (["tomorrow"], "no time after “tomorrow”"),
    (["yesterday", "9:00", "x"], "that time is in the past"),
    (["2026-01-02", "9:00", "x"], "that time is in the past"),
    (["daily"], "no time after “daily”"),
    (["weekly", "9:00"], "“9:00” is not a weekday"),
    (["in", "2", "weeks"], "“in 2 weeks” is not a duration"),
    (["25:00", "x"], "I can't read “25:00” as a time"),
])
def test_parse_when_names_the_part_it_could_not_read(words: list[str], problem: str) -> None:
    with pytest.raises(WhenError) as info:
        parse_when(words, NOW, BERLIN)
    assert info.value.problem == problem and info.value.example.startswith("/remind ")
