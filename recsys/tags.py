"""Hashtags: parsing and normalising tag names (shared by the bot and the CLI)."""

from __future__ import annotations

import re

_HASHTAG = re.compile(r"(?<![\w#])#(\w{1,64})")


def normalize_tag(tag: str) -> str:
    """`#Travel` and `travel` are the same tag: lower case, no leading `#`."""
    return tag.strip().lstrip("#").lower()


def extract_hashtags(text: str) -> list[str]:
    """Distinct hashtags in order of first appearance, normalised (`#AI #ai` -> `["ai"]`)."""
    seen: dict[str, None] = {}
    for match in _HASHTAG.finditer(text or ""):
        tag = normalize_tag(match.group(1))
        if tag and not tag.isdigit():
            seen.setdefault(tag, None)
    return list(seen)


def split_tags(field: str) -> list[str]:
    """Tags written as `a b`, `a|b`, `#a #b` or `a, b`."""
    parts = re.split(r"[\s|,;]+", field or "")
    out: dict[str, None] = {}
    for p in parts:
        tag = normalize_tag(p)
        if tag:
            out.setdefault(tag, None)
    return list(out)
