"""Chinese questions and comments through the real bot (fake encoders at the seam)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.faq.training import import_and_train
from bot.store.models import Comment
from botapi_sandbox.server import BotApiSandbox
from nlp.faq_data import load_faq
from nlp.language import foreign_share, needs_multilingual
from nlp.sentiment_multilingual import RoutedSentiment
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for
from tests.fakes import HashingEncoder, KeywordSentiment, fake_encoders

ROOT = Path(__file__).resolve().parents[2]


def test_routing_sends_chinese_to_the_multilingual_model() -> None:
    english = HashingEncoder()
    assert needs_multilingual("你用什么相机拍的？", english)
    assert not needs_multilingual("Which camera do you use?", english)
    assert foreign_share("Sony A7 IV 相机") < 0.5  # mostly Latin letters


async def test_chinese_question_gets_the_chinese_answer(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    entries = load_faq(ROOT / "bot/demo_data/faq.yaml") + load_faq(ROOT / "bot/demo_data/faq_zh.yaml")
    # the hashing fake reads Chinese far worse than e5 (97 % in benchmarks/faq_zh.py): a lower target
    _, matcher = import_and_train(settings, entries, fake_encoders, 0.7)
    assert matcher.multilingual is not None  # trained because the FAQ has Chinese entries
    li = sandbox.user(111, "李雷", language_code="zh-hans")
    ana = sandbox.user(101, "Ana")
    sandbox.user(CREATOR_ID, "Maya")  # has started the bot: handoff notes reach her
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(li, "你用的是哪款三脚架？")
        sandbox.send_private(ana, "Which tripod do you use?")
        await bot.settle()
        assert bot.replies_to(111)[0].startswith("三脚架是 Peak Design")
        assert bot.replies_to(101)[0].startswith("My tripod is a carbon Peak Design")
        sandbox.send_private(li, "你喜欢吃火锅吗？")  # not in the FAQ: handed off, in either language
        await bot.settle()
        assert "passed it on" in bot.replies_to(111)[-1]


class _FakeHead:
    """Reads words in any script, but nothing without letters (emoji-only: unknown)."""

    def predict(self, texts: list[str], batch_size: int = 64) -> list[object]:
        return KeywordSentiment().predict(["love" if "喜欢" in t else "awful" if "失望" in t else
                                           "ok" if any(c.isalpha() for c in t) else "😶" for t in texts])


async def test_chinese_comments_get_a_label_not_unknown(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    fan = sandbox.user(121, "小王")

    class English(KeywordSentiment):
        encoder = HashingEncoder()

    routed = RoutedSentiment(English(), lambda: _FakeHead())  # type: ignore[arg-type,return-value]
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox, classifier_factory=lambda: routed) as bot:
        _, forward = sandbox.channel_post("新视频 #travel")
        sandbox.comment(forward, fan, "太喜欢这个视频了！")
        sandbox.comment(forward, fan, "太失望了，再也不看了")
        sandbox.comment(forward, fan, "🙂🙂")
        await bot.settle()
        await wait_for(lambda: _labels(bot).count(None) == 0, 5, "labels")
        assert _labels(bot) == ["positive", "negative", "unknown"]


def _labels(bot: object) -> list[str | None]:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(Comment.sentiment).order_by(Comment.id)))
