"""The models as the config asks for them: one `ModelFactory` per process, used by the bot, the CLI and the demo."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from nlp.heads import MB
from nlp.model_factory import EncoderFactory, ModelFactory


def sentiment_dir(settings: Settings) -> Path:
    """The creator's own trained English sentiment model if there is one, else the shipped weights."""
    from nlp.sentiment import SHIPPED

    own = settings.data_dir / "sentiment" / "current"
    return own if (own / "meta.json").exists() else SHIPPED


def model_factory(settings: Settings, encoder_factory: EncoderFactory | None = None,
                  sentiment: Path | None = None) -> ModelFactory:
    """[paths] data_dir, [models] routing and multilingual_dir; `sentiment` overrides the English sentiment model."""
    return ModelFactory(settings.data_dir, multilingual_dir=settings.models.multilingual_dir,
                        routing=settings.models.routing, sentiment_dir=sentiment or sentiment_dir(settings),
                        engine=settings.models.engine, encoder_factory=encoder_factory,
                        faq_heads_bytes=settings.models.faq_heads_mb * MB)
