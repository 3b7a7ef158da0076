"""Which encoder can read a text: the English MiniLM, or the multilingual e5 model."""

from __future__ import annotations

from typing import Protocol

# Scripts the MiniLM vocabulary mostly cannot read (it has 244 CJK characters, no Hangul, Thai, ...)
_RANGES = ((0x0590, 0x08FF),  # Hebrew, Arabic, Syriac, Thaana, ...
           (0x0900, 0x0DFF),  # Indic scripts
           (0x0E00, 0x0FFF),  # Thai, Lao, Tibetan
           (0x1100, 0x11FF),  # Hangul Jamo
           (0x2E80, 0x9FFF),  # CJK radicals, kana, CJK unified ideographs
           (0xAC00, 0xD7AF),  # Hangul syllables
           (0xF900, 0xFAFF),  # CJK compatibility ideographs
           (0x20000, 0x2FA1F))  # CJK extensions
UNKNOWN_LIMIT = 0.2


class ReadsText(Protocol):
    def unknown_share(self, text: str) -> float: ...


def foreign_share(text: str) -> float:
    """Share of letters in scripts the English model cannot read (0.0 .. 1.0)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if any(lo <= ord(c) <= hi for lo, hi in _RANGES)) / len(letters)


def needs_multilingual(text: str, english: ReadsText | None = None) -> bool:
    """True when the English model would mostly see unknown pieces."""
    if foreign_share(text) > 0.3:
        return True
    return english is not None and english.unknown_share(text) > UNKNOWN_LIMIT
