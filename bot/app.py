"""The one wiring place: the features this bot is made of, and a runtime that runs them.

The runtime (bot/runtime) knows no feature; each feature package hands it what it has through its
`register` (bot/kernel/registry.py). Their order is the order their handlers are tried in.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import channel, faq, inbox, privacy, reports, setup, topics
from bot.channel.sentiment import ClassifierFactory
from bot.config import Settings
from bot.kernel.registry import Registry
from bot.runtime import BotRuntime
from bot.runtime.deployment import Deployment
from bot.web.server import set_dashboard_menu_button, web_subapps
from nlp.model_factory import EncoderFactory, ModelFactory


def compose(classifier_factory: ClassifierFactory | None = None) -> Registry:
    """Every feature registered, in the order their handlers are tried (the FAQ's reply to a handoff
    before the channel's comments; the FAQ's catch-all for private messages comes last of all)."""
    reg = Registry()
    faq.register(reg)
    inbox.register(reg)  # before the channel's: a channel's direct messages are never taken for comments
    channel.register(reg, classifier_factory)
    setup.register(reg)
    privacy.register(reg)
    topics.register(reg)
    reports.register(reg)
    reg.web_apps.append(web_subapps)  # the dashboard (bot/web) calls the features' use cases
    reg.on_bot_ready.append(set_dashboard_menu_button)
    return reg


def create_runtime(settings: Settings, *, migrate: bool = True, encoder_factory: EncoderFactory | None = None,
                   classifier_factory: ClassifierFactory | None = None, models: ModelFactory | None = None,
                   extend: Callable[[Registry], None] | None = None) -> BotRuntime:
    """A worker with every feature (`creatorbot run`, the demo, tests and benchmarks); `extend` may
    register more (a test's own handler)."""
    registry = compose(classifier_factory)
    if extend is not None:
        extend(registry)
    return BotRuntime(settings, registry, migrate=migrate, encoder_factory=encoder_factory, models=models)


def create_deployment(settings: Settings, *, migrate: bool = True, encoder_factory: EncoderFactory | None = None,
                      classifier_factory: ClassifierFactory | None = None, models: ModelFactory | None = None,
                      extend: Callable[[Registry], None] | None = None, env: dict[str, str] | None = None,
                      watch_seconds: float | None = None) -> Deployment:
    """Every active creator in one process (`creatorbot run`): a runtime each, the models shared."""

    def registry() -> Registry:
        reg = compose(classifier_factory)
        if extend is not None:
            extend(reg)
        return reg

    extra = {} if watch_seconds is None else {"watch_seconds": watch_seconds}
    return Deployment(settings, registry, migrate=migrate, encoder_factory=encoder_factory, models=models, env=env,
                      **extra)
