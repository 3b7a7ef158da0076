"""FAQ matching in two languages: English questions to MiniLM, the rest to multilingual e5.

Both matchers are trained on every entry, so a follower asking in Chinese gets an answer written
in English (or the other way round) when that is what the creator wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nlp.encoder import Encoder
from nlp.faq import FaqMatcher, Match
from nlp.faq_data import FaqEntry
from nlp.language import ReadsText, needs_multilingual

MULTILINGUAL_DIR = "multilingual"


class RoutedFaqMatcher:
    """`match` routes each question; everything else (meta, calibration) is the primary's."""

    def __init__(self, primary: FaqMatcher, multilingual: FaqMatcher | None, always: bool = False) -> None:
        self.primary = primary
        self.multilingual = multilingual
        self.always = always  # one model for everything

    @property
    def meta(self) -> Any:
        return self.primary.meta

    @property
    def calibration(self) -> Any:
        return self.primary.calibration

    @property
    def encoder(self) -> Encoder:
        return self.primary.encoder

    def route(self, question: str) -> FaqMatcher:
        if self.multilingual is not None and (self.always or needs_multilingual(question, _reader(self.primary.encoder))):
            return self.multilingual
        return self.primary

    def match(self, questions: Sequence[str]) -> list[Match]:
        routes = [self.route(q) for q in questions]
        out: list[Match | None] = [None] * len(questions)
        for matcher in {id(r): r for r in routes}.values():
            idx = [i for i, r in enumerate(routes) if r is matcher]
            for i, m in zip(idx, matcher.match([questions[i] for i in idx]), strict=True):
                out[i] = m
        return [m for m in out if m is not None]

    @classmethod
    def fit(cls, entries: Sequence[Any], primary_encoder: Encoder, multilingual_encoder: Callable[[], Encoder],
            always_multilingual: bool = False, **kwargs: Any) -> RoutedFaqMatcher:
        """The multilingual matcher is trained (and its model loaded) only when an entry needs it."""
        reader = _reader(primary_encoder)
        # the primary model only ever sees questions it can read, so it learns only from those
        readable = [FaqEntry(e.id, e.answer, [q for q in e.questions if not needs_multilingual(q, reader)], e.tags)
                    for e in entries]
        readable = [e for e in readable if e.questions]
        primary = FaqMatcher.fit(readable or list(entries), primary_encoder, **kwargs)
        foreign = always_multilingual or any(needs_multilingual(q, reader) for e in entries for q in e.questions)
        multilingual = FaqMatcher.fit(entries, multilingual_encoder(), **kwargs) if foreign else None
        return cls(primary, multilingual, always_multilingual)

    def save(self, path: Path) -> None:
        self.primary.save(path)
        if self.multilingual is not None:
            self.multilingual.save(path / MULTILINGUAL_DIR)

    @classmethod
    def load(cls, path: Path, encoder: Callable[[str], Encoder], always: bool = False) -> RoutedFaqMatcher:
        primary = FaqMatcher.load(path, encoder(FaqMatcher.read_meta(path)["base_model"]))
        sub = path / MULTILINGUAL_DIR
        multilingual = None
        if (sub / "meta.json").exists():
            multilingual = FaqMatcher.load(sub, encoder(FaqMatcher.read_meta(sub)["base_model"]))
        return cls(primary, multilingual, always)


def _reader(encoder: Encoder) -> ReadsText | None:
    return encoder if hasattr(encoder, "unknown_share") else None  # type: ignore[return-value]
