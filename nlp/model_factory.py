"""One way to build the models: the bot, the CLI, the demo and the benchmarks all go through `ModelFactory`.

Routing (`routing="auto"`): text the English model can read goes to all-MiniLM-L6-v2 (FAQ) and its LoRA
sentiment model; everything else (Chinese, Arabic, ...) to multilingual-e5-small and its own sentiment weights.
`routing="multilingual"` sends everything to the multilingual models. Encoders are built once per factory and
shared (the FAQ's e5 instance also lends its word embeddings to the e5 sentiment model).

The English FAQ matcher reads MiniLM (`FAQ_ENCODER`). `CREATORBOT_FAQ_ENCODER` (or `faq_encoder=`) names another
encoder or `+`-joined encoders read side by side, e.g. `COMBINED` (MiniLM and e5: +0.9 / +3.7 points answered on
BANKING77 / HWU64 at the same precision, but four times the model time per question, which took the bot's p50 at
50 questions/s from 67 to 419 ms; docs/benchmarks.md, issue 22). A saved
matcher records its encoder's name, so models trained before keep loading with the encoder they were trained with.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nlp.encoder import ConcatEncoder, Encoder, TransformerEncoder
from nlp.faq_routed import RoutedFaqMatcher
from nlp.heads import HeadBudget
from nlp.multilingual import NAME as MULTILINGUAL
from nlp.multilingual import multilingual_model_dir
from nlp.sentiment import SHIPPED, SentimentMeta, SentimentModel, release_memory
from nlp.sentiment_multilingual import SHIPPED_E5, SHIPPED_HEAD, HeadSentiment, RoutedSentiment

ENGLISH = "all-MiniLM-L6-v2"
COMBINED = f"{ENGLISH}+{MULTILINGUAL}"
FAQ_ENCODER = ENGLISH
ROUTINGS = ("auto", "multilingual")
EncoderFactory = Callable[[str], Encoder]


class ModelFactory:
    """Encoders by name (cached), routed FAQ matchers and the routed sentiment classifier.

    `data_dir` caches the converted e5 model (`multilingual_dir` overrides where it lives); `sentiment_dir` is the
    English sentiment model (default: the shipped weights); `encoder_factory` replaces how encoders are built
    (tests pass a hashing encoder); `faq_heads_bytes` is the memory budget of the FAQ heads loaded through it
    (nlp/heads.py; 0: no limit). Thread-safe.
    """

    def __init__(self, data_dir: Path, *, multilingual_dir: str = "", routing: str = "auto",
                 sentiment_dir: Path | None = None, engine: str = "onnx",
                 encoder_factory: EncoderFactory | None = None, faq_encoder: str | None = None,
                 faq_heads_bytes: int = 0) -> None:
        if routing not in ROUTINGS:
            raise ValueError(f"routing must be one of {', '.join(ROUTINGS)}, not {routing!r}")
        self.data_dir = Path(data_dir)
        self.multilingual_dir = multilingual_dir
        self.routing = routing
        self.sentiment_dir = sentiment_dir or SHIPPED
        self.engine = engine  # "onnx": nlp/engine.py; "torch": transformers (the reference)
        self.faq_encoder = faq_encoder or os.environ.get("CREATORBOT_FAQ_ENCODER") or FAQ_ENCODER
        self._encoder_factory = encoder_factory or self._build_encoder
        self._encoders: dict[str, Encoder] = {}
        self._sentiment: RoutedSentiment | None = None
        self._lock = threading.RLock()
        self.faq_heads = HeadBudget(faq_heads_bytes)  # the FAQ heads of every creator using this factory

    @property
    def always_multilingual(self) -> bool:
        return self.routing == "multilingual"

    # ------------------------------------------------------------------ encoders
    def encoder(self, name: str = ENGLISH) -> Encoder:
        """The shared encoder called `name` (all-MiniLM-L6-v2 or multilingual-e5-small; `a+b`: both side by side,
        each part the shared instance)."""
        with self._lock:
            if name not in self._encoders:
                parts = name.split("+")
                self._encoders[name] = (ConcatEncoder([self.encoder(p) for p in parts]) if len(parts) > 1
                                        else self._encoder_factory(name))
            return self._encoders[name]

    def multilingual_encoder(self) -> Encoder:
        return self.encoder(MULTILINGUAL)

    def _multilingual_path(self) -> Path:
        return multilingual_model_dir(self.data_dir, self.multilingual_dir or None)

    def _on_engine(self, name: str) -> bool:
        """Whether the encoder `name` runs on ONNX Runtime (exported from the local weights on first use)."""
        return self.engine == "onnx" and name in (ENGLISH, MULTILINGUAL) and not (
            name == MULTILINGUAL and self.multilingual_dir)

    def _build_encoder(self, name: str) -> Encoder:
        if self._on_engine(name):
            from nlp import engine

            return engine.minilm(self.data_dir) if name == ENGLISH else engine.multilingual(self.data_dir)
        if name == MULTILINGUAL:
            return TransformerEncoder(self._multilingual_path(), max_length=256, name=MULTILINGUAL, prefix="query: ")
        return TransformerEncoder.base(name)

    # ------------------------------------------------------------------ first start
    def prepare(self, *, encoders: bool = True, sentiment: bool = True) -> list[Path]:
        """Make the ONNX exports the models will need now, one child process at a time, before any model is
        loaded; exports that exist are only looked up. A first start that does this before loading peaks at the
        export child next to a process that holds no model, instead of next to a bot with its models loaded
        (docs/benchmarks.md, "Memory"). Encoders built by a stand-in factory (tests) export nothing."""
        from nlp import engine

        specs = []
        if encoders and self._encoder_factory == self._build_encoder:
            names = dict.fromkeys([*self.faq_encoder.split("+"), MULTILINGUAL])
            specs += [engine.minilm_export() if name == ENGLISH else engine.e5_export()
                      for name in names if self._on_engine(name)]
        if sentiment and self.engine == "onnx":
            specs.append(engine.sentiment_export(self.sentiment_dir))
            if (SHIPPED_E5 / "meta.json").exists():
                specs.append(engine.e5_sentiment_export(SHIPPED_E5))
        return [engine.exported(self.data_dir, spec) for spec in specs]

    # ------------------------------------------------------------------ FAQ
    def fit_faq(self, entries: Sequence[Any], **kwargs: Any) -> RoutedFaqMatcher:
        """Train routed matchers (the multilingual one only when an entry needs it); kwargs go to FaqMatcher.fit."""
        return RoutedFaqMatcher.fit(entries, self.encoder(self.faq_encoder), self.multilingual_encoder,
                                    always_multilingual=self.always_multilingual, **kwargs)

    def load_faq(self, path: Path) -> RoutedFaqMatcher:
        return RoutedFaqMatcher.load(path, self.encoder, self.always_multilingual)

    # ------------------------------------------------------------------ sentiment
    def sentiment(self) -> RoutedSentiment:
        """The routed classifier (built once): English LoRA model, multilingual model loaded on first need."""
        with self._lock:
            if self._sentiment is None:
                english: Any
                if self.engine == "onnx":
                    from nlp.sentiment_engine import EngineSentiment

                    english = EngineSentiment.load(self.data_dir, self.sentiment_dir)
                else:
                    english = SentimentModel.load(self.sentiment_dir)
                self._sentiment = RoutedSentiment(english, self._multilingual_sentiment_loader(),
                                                  always=self.always_multilingual)
            return self._sentiment

    def _multilingual_sentiment_loader(self) -> Callable[[], Any] | None:
        if (SHIPPED_E5 / "meta.json").exists():
            return self._load_e5_sentiment
        if (SHIPPED_HEAD / "head.npz").exists():
            return lambda: HeadSentiment.load(self.multilingual_encoder())
        return None

    def _load_e5_sentiment(self) -> Any:
        if self.engine == "onnx":
            from nlp.engine import e5_sentiment_export
            from nlp.sentiment_engine import EngineSentiment

            return EngineSentiment.load(self.data_dir, SHIPPED_E5, spec=e5_sentiment_export(SHIPPED_E5))

        def fresh(meta: SentimentMeta) -> TransformerEncoder:
            return TransformerEncoder(self._multilingual_path(), meta.max_length, MULTILINGUAL, meta.prefix)

        model = SentimentModel.load(SHIPPED_E5, encoder=fresh)  # not on the engine yet: torch
        share_word_embeddings(model.encoder, self.multilingual_encoder())
        return model


def share_word_embeddings(target: TransformerEncoder, source: Encoder) -> None:
    """Point `target`'s word embeddings at `source`'s (same base model; LoRA never changes them).

    For e5 that is 96 M of its 118 M parameters (about 380 MB) held once instead of twice.
    """
    if not isinstance(source, TransformerEncoder) or source.path != target.path:
        return  # a stand-in encoder (tests) or another model: nothing to share
    mine, theirs = target.model.embeddings.word_embeddings, source.model.embeddings.word_embeddings
    if mine.weight.shape == theirs.weight.shape:
        target.model.embeddings.word_embeddings = theirs
        release_memory()
