"""/abtest: read what to compare (two tags or two posting hours) and compare them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.topics.suggestions import ab_compare_hours, ab_compare_tags
from recsys.abtest import ABResult


@dataclass(frozen=True)
class ABComparison:
    """Two arms as the creator will read them ("#travel", "09:00") and the test's result."""

    a: str
    b: str
    result: ABResult


def is_hour(word: str) -> bool:
    return word.isdigit() and int(word) < 24


def compare_arms(session: Session, settings: Settings, words: list[str]) -> ABComparison | None:
    """`#tagA #tagB` (or `tagA tagB`) compares interactions per post of two tags; `9 18` compares two
    posting hours in the configured time zone. None when `words` is not two arms (show the usage)."""
    if len(words) != 2:
        return None
    first, second = words
    if is_hour(first) and is_hour(second):
        return ABComparison(f"{int(first):02d}:00", f"{int(second):02d}:00",
                            ab_compare_hours(session, settings, int(first), int(second)))
    return ABComparison(f"#{first.lstrip('#').lower()}", f"#{second.lstrip('#').lower()}",
                        ab_compare_tags(session, settings, first, second))
