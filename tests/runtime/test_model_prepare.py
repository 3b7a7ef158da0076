"""A first start makes its model exports before any model is loaded (the memory peak of a first start is one
export child next to a bot that holds no model), and a failed export does not stop the start."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.app import compose
from bot.kernel.services import Services
from botapi_sandbox.server import BotApiSandbox
from nlp.engine import EngineError
from nlp.model_factory import ModelFactory
from tests.bot_harness import running_bot
from tests.conftest import settings_for
from tests.fakes import KeywordSentiment, fake_encoders


async def test_models_are_prepared_before_any_feature_starts_and_a_failed_export_is_not_fatal(
        sandbox: BotApiSandbox, tmp_path: Path, sqlite_url: str) -> None:
    calls: list[str] = []
    registry = compose(KeywordSentiment)

    def failing(models: ModelFactory) -> None:
        calls.append("prepare (fails)")
        raise EngineError("exporting sentiment failed (exit 1)")

    async def started(services: Services, leader: bool) -> None:
        calls.append("start")

    def slow(models: ModelFactory) -> None:  # a first start's export takes this long
        calls.append(f"prepare {type(models).__name__}, getMe so far: {len(sandbox.calls_of('getMe'))}")
        time.sleep(11)

    registry.prepare_models[:0] = [failing, slow]
    registry.on_start.insert(0, started)
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    sandbox.send_private(sandbox.user(101, "Ana"), "/start")  # a follower writes to the brand-new bot
    async with running_bot(settings, sandbox, registry, encoder_factory=fake_encoders) as bot:
        await bot.settle()
        assert calls == ["prepare (fails)", "prepare ModelFactory, getMe so far: 0", "start"]
        assert "Ana" in bot.replies_to(101)[0]  # the start went on
        # the question waited at Telegram during the 11 s of preparing; the bot answered it within 10 s of
        # saying hello to Telegram (its first getMe)
        hello = min(c.received for c in sandbox.calls if c.method == "getMe")
        reply = min(c.received for c in sandbox.calls_of("sendMessage") if c.params.get("chat_id") == 101)
        assert reply - hello < 10.0, reply - hello


def test_stand_in_models_export_nothing(tmp_path: Path) -> None:
    """The features' prepare hooks on a factory whose encoders are stand-ins (and no engine for sentiment)."""
    registry = compose()
    models = ModelFactory(tmp_path, encoder_factory=fake_encoders, engine="torch")  # type: ignore[arg-type]
    assert len(registry.prepare_models) == 2  # the FAQ's encoders, the channel's sentiment models
    assert [prepare(models) for prepare in registry.prepare_models] == [[], []]
    assert not (tmp_path / "models").exists()
    assert len(compose(KeywordSentiment).prepare_models) == 1  # a stand-in classifier: nothing to export for it


def test_the_prepare_command_prepares_the_configs_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On the torch engine there is nothing to export: the command says the models are ready, and made nothing."""
    from bot.cli.main import main

    config = tmp_path / "bot.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[models]\nengine = "torch"\n')
    assert main(["--config", str(config), "prepare"]) == 0
    assert f"models ready in {tmp_path / 'data' / 'models'}" in capsys.readouterr().err
    assert not (tmp_path / "data" / "models" / "onnx").exists()
