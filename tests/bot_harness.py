"""A running BotRuntime against the sandbox, for in-process tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.app import create_runtime
from bot.config import Settings
from bot.kernel.registry import Registry
from bot.kernel.stats import work_pending
from bot.runtime import BotRuntime
from botapi_sandbox.server import BotApiSandbox
from tests.conftest import wait_for


class Harness:
    def __init__(self, runtime: BotRuntime, sandbox: BotApiSandbox) -> None:
        self.runtime = runtime
        self.sandbox = sandbox

    @property
    def sessions(self) -> Any:
        return self.runtime.services.sessions

    def idle(self) -> bool:
        with self.sessions() as s:
            return not work_pending(s) and self.sandbox.pending_count == 0

    async def settle(self, timeout: float = 20.0) -> None:
        await wait_for(self.idle, timeout, "the bot to handle every update and send every reply")

    def replies_to(self, chat_id: int) -> list[str]:
        return self.sandbox.texts_to(chat_id)


@asynccontextmanager
async def running_bot(settings: Settings, sandbox: BotApiSandbox, registry: Registry | None = None,
                      **factories: Any) -> AsyncIterator[Harness]:
    """The real runtime; models are fakes unless a test passes real factories. `registry`: the
    features to run (default: `bot.app.compose()`, a test may add a handler of its own to it)."""
    from tests.fakes import KeywordSentiment, fake_encoders

    factories.setdefault("encoder_factory", fake_encoders)
    factories.setdefault("classifier_factory", KeywordSentiment)
    if registry is None:
        runtime = create_runtime(settings, **factories)
    else:
        factories.pop("classifier_factory")
        runtime = BotRuntime(settings, registry, **factories)
    await runtime.start()
    try:
        yield Harness(runtime, sandbox)
    finally:
        await runtime.stop()
