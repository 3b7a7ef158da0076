"""One model factory: the CLI, the bot and the benchmarks label the same texts the same way."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main as cli
from bot.store.models import Comment
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import settings_for, wait_for
from tests.fakes import fake_encoders

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["I love this video, thank you so much!", "This is the worst upload ever, total waste of time.",
         "The video is 12 minutes long.", "太喜欢这个视频了！", "太失望了，再也不看了", "视频明天上午十点发布。",
         "这个 vlog 拍得真好看"]


def test_factory_shares_encoders_and_refuses_unknown_routing(tmp_path: Path) -> None:
    from nlp.model_factory import ModelFactory

    built: list[str] = []

    def encoders(name: str) -> object:
        built.append(name)
        return fake_encoders(name)

    models = ModelFactory(tmp_path, encoder_factory=encoders)  # type: ignore[arg-type]
    assert models.encoder() is models.encoder()
    assert models.multilingual_encoder() is models.multilingual_encoder()
    assert built == ["all-MiniLM-L6-v2", "multilingual-e5-small"]
    with pytest.raises(ValueError, match="auto, multilingual"):
        ModelFactory(tmp_path, routing="chinese")


def _benchmark_classifier(data_dir: Path, multilingual_dir: Path) -> object:
    spec = importlib.util.spec_from_file_location("sentiment_domains", ROOT / "benchmarks/sentiment_domains.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.classifier(data_dir, str(multilingual_dir))


@pytest.mark.slow
async def test_cli_bot_and_benchmarks_label_chinese_and_english_alike(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path, converted: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data", models={"multilingual_dir": str(converted)})
    # the CLI, as a creator runs it on a comment export
    config = tmp_path / "bot.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[database]\nurl = "{sqlite_url}"\n'
                      f'[models]\nmultilingual_dir = "{converted}"\n', encoding="utf-8")
    (tmp_path / "comments.txt").write_text("\n".join(TEXTS), encoding="utf-8")
    out = tmp_path / "labels.jsonl"
    assert cli(["sentiment", "classify", "--config", str(config), "--input", str(tmp_path / "comments.txt"),
                "--output", str(out)]) == 0
    cli_labels = [json.loads(line)["label"] for line in out.read_text(encoding="utf-8").splitlines()]
    # the bot, with its own models (no fakes), labelling comments under a channel post
    fan = sandbox.user(131, "Fan")
    async with running_bot(settings, sandbox, encoder_factory=None, classifier_factory=None) as bot:
        _, forward = sandbox.channel_post("New video #travel")
        for text in TEXTS:
            sandbox.comment(forward, fan, text)
        await bot.settle(60)

        def stored() -> list[str | None]:
            with bot.sessions() as s:
                return list(s.scalars(select(Comment.sentiment).order_by(Comment.id)))

        await wait_for(lambda: len(stored()) == len(TEXTS) and None not in stored(), 120, "labels")
        bot_labels = stored()
    # the benchmarks
    bench_labels = [p.label for p in _benchmark_classifier(tmp_path / "data", converted).predict(TEXTS)]  # type: ignore[attr-defined]
    assert cli_labels == bot_labels == bench_labels
    assert "unknown" not in cli_labels  # Chinese reaches the multilingual model everywhere
    assert cli_labels[:2] == ["positive", "negative"] and cli_labels[3:5] == ["positive", "negative"]
