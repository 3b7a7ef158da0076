"""Inline-button callback data: made and parsed in one place.

Any client can send any bytes as callback data, so parsing is strict: a known prefix, a positive
id and, where the button has one, a known choice. Everything else is an expired button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import texts

FEEDBACK = "fb"
REMINDER_CANCEL = "rm"
RELABEL = "sl"
REVIEW = "rv"  # the creator's daily "were these right?" list: ✅ ok, ✏️ fix, then "hand off next time"
DRAFT = "dr"  # Send / Edit / Skip under a draft (bot/faq/drafts.py)
NEVER_ANSWER = "na"  # "never answer here" under a Business draft (bot/inbox)
FORGET_PERSON = "fp"  # "forget this person" under a note from another inbox (bot/inbox)
SURGE = "sr"  # the drafted reply under a surge alert
CHOICES: dict[str, tuple[str, ...]] = {
    DRAFT: ("send", "edit", "skip"),
    NEVER_ANSWER: (),
    FORGET_PERSON: (),
    FEEDBACK: ("up", "down"),
    REVIEW: ("ok", "fix", "hand"),
    REMINDER_CANCEL: (),
    RELABEL: ("neg", "neu", "pos"),
    SURGE: ("send", "pin", "edit", "dis"),
}
_DATA = re.compile(r"([a-z]{2}):([1-9][0-9]{0,17})(?::([a-z]{2,4}))?")


@dataclass(frozen=True)
class Button:
    prefix: str
    item_id: int
    choice: str = ""


def make(prefix: str, item_id: int, choice: str = "") -> str:
    return f"{prefix}:{item_id}:{choice}" if choice else f"{prefix}:{item_id}"


def parse(data: object, prefix: str) -> Button | None:
    """The button, if `data` is exactly what `make(prefix, ...)` produces; else None."""
    if not isinstance(data, str) or len(data) > 64:
        return None
    m = _DATA.fullmatch(data)
    if m is None or m.group(1) != prefix:
        return None
    choice = m.group(3) or ""
    choices = CHOICES.get(prefix)
    if choices is None or (choice not in choices if choices else choice != ""):
        return None
    return Button(prefix, int(m.group(2)), choice)


# Offered after every change to the FAQ (the FAQ's own buttons and the setup checklist).
RETRAIN_BUTTONS = [[(texts.FAQ_RETRAIN_BUTTON, "faq:retrain")]]
