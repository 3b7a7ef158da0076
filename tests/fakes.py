"""Fakes at the seams: a deterministic hashing encoder instead of a transformer."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.kernel.context import BotContext
from bot.kernel.outbox import send_text
from bot.kernel.registry import Registry

_WORD = re.compile(r"\w+")
_STOP = {"the", "a", "an", "i", "you", "do", "is", "are", "to", "of", "my", "your", "what", "how", "can",
         "me", "it", "for", "in", "on", "does", "did", "be", "and", "or", "with"}


class HashingEncoder:
    """Bag of content words and character trigrams, hashed into `dim` buckets and normalised.

    `multilingual=True` also reads CJK text (character bigrams), like the e5 model does.
    """

    def __init__(self, dim: int = 1024, multilingual: bool = False) -> None:
        self.dim = dim
        self.calls = 0
        self.seen: list[str] = []  # every text encoded, in order
        self.multilingual = multilingual
        self.name = "multilingual-e5-small" if multilingual else "hashing-fake"

    def _bucket(self, token: str) -> int:
        return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little") % self.dim

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        self.calls += 1
        self.seen.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
            if self.multilingual:  # CJK -> characters and character bigrams
                cjk = [c for c in text if ord(c) > 0x2E80 and c.isalpha() and c not in "的是你我吗了什么"]
                words += cjk + [a + b for a, b in itertools.pairwise(cjk)]
            for w in words:
                out[row, self._bucket("w:" + w)] += 2.0
                padded = f"#{w}#"
                for i in range(len(padded) - 2):
                    out[row, self._bucket("c:" + padded[i:i + 3])] += 0.5
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out

    def unknown_share(self, text: str) -> float:
        chars = [c for c in text if not c.isspace()]
        if not chars:
            return 1.0
        if self.multilingual:
            return 0.0
        return sum(1 for c in chars if ord(c) > 0x2E80) / len(chars)


def fake_encoders(name: str) -> HashingEncoder:
    """The encoder factory for tests: the multilingual name gets the CJK-reading fake."""
    return HashingEncoder(multilingual=name == "multilingual-e5-small")


class KeywordSentiment:
    """A fake sentiment classifier: a few words decide (tests only)."""

    NEGATIVE = ("awful", "hate", "terrible", "worst", "boring", "scam", "disappointed")
    POSITIVE = ("love", "great", "amazing", "beautiful", "thanks", "wow")

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[FakePrediction]:
        out = []
        for text in texts:
            low = text.lower()
            if any(ord(c) > 0x2E80 for c in text):
                out.append(FakePrediction("unknown", 0.33, 0.34, 0.33))
            elif any(w in low for w in self.NEGATIVE):
                out.append(FakePrediction("negative", 0.8, 0.15, 0.05))
            elif any(w in low for w in self.POSITIVE):
                out.append(FakePrediction("positive", 0.05, 0.15, 0.8))
            else:
                out.append(FakePrediction("neutral", 0.1, 0.8, 0.1))
        return out


@dataclass(frozen=True)
class FakePrediction:
    label: str
    negative: float
    neutral: float
    positive: float


SLOW = re.compile(r"^slow (\d+(?:\.\d+)?)$")


def slow_feature(registry: Registry) -> None:
    """A handler tried before every other: "slow N" from anyone in private takes N seconds inside its
    update's transaction, then replies "done slowly" (a handler that outlives its lease)."""

    async def slow(update: Update, context: BotContext) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        match = SLOW.match(message.text)
        assert match is not None
        await asyncio.sleep(float(match.group(1)))
        send_text(context.session, message.chat_id, "done slowly")

    registry.handlers.insert(0, lambda f: MessageHandler(f.private & filters.Regex(SLOW), slow))
