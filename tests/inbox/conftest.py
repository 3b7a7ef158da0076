"""Shared set-up for the inbox tests: the sample FAQ trained with the fake encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.faq.training import import_and_train
from botapi_sandbox.server import BotApiSandbox
from nlp.faq_data import load_faq
from tests.conftest import settings_for
from tests.fakes import fake_encoders

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo_data" / "faq.yaml"
KNOWN = "Which tripod do you use on hikes?"
KNOWN_ANSWER = "My tripod is a carbon Peak Design"
UNRELATED = "Do you have a discount code for the Berlin marathon?"


def trained(sandbox: BotApiSandbox, db_url: str, tmp_path: Path, **sections: Any) -> Settings:
    """Settings for a bot on `db_url` whose sample FAQ is imported and trained (version 1)."""
    settings = settings_for(sandbox, db_url, tmp_path / "data", **sections)
    prepare(settings)
    return settings


def prepare(settings: Settings) -> None:
    """Import the sample FAQ and train version 1 with the fake encoder."""
    import_and_train(settings, load_faq(SAMPLE), fake_encoders, 0.95)
