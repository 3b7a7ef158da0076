"""The channel: its posts, the comments under them (the linked discussion group), reactions, joins and
leaves, the follower count, and the sentiment of every comment with surge alerts.

`register` hands the runtime its handlers, command, button, job and the sentiment loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

from telegram.ext import ChatMemberHandler, MessageHandler, MessageReactionHandler

from bot.channel import handlers, sentiment_handlers
from bot.channel.sentiment import ClassifierFactory, SentimentWorker, classifier_loader
from bot.kernel import buttons
from bot.kernel.registry import Job, Loop, LoopEnv, Registry
from bot.kernel.services import Services
from bot.kernel.waiting import in_daemon_thread
from nlp.model_factory import ModelFactory

log = logging.getLogger(__name__)
FOLLOW_UP_SECONDS = 5.0  # pin replies once delivered; tell the creator whether the mood recovered


class SentimentLoop:
    """Sentiment for new comments, on the scheduler worker only (one alert per surge).

    The classifier loads inside the loop, in the background, so a worker is up (and stops on SIGTERM)
    without waiting for it; comments wait in the database meanwhile.
    """

    def __init__(self, classifier_factory: ClassifierFactory | None) -> None:
        self.classifier_factory = classifier_factory
        self.models: ModelFactory | None = None

    def attach(self, services: Services, models: ModelFactory) -> None:
        self.models = models

    def make(self, services: Services, env: LoopEnv) -> Callable[[], Awaitable[None]]:
        assert self.models is not None, "the runtime builds (on_build) before it starts loops"
        worker = SentimentWorker(services, self.classifier_factory or classifier_loader(self.models), self.models)

        async def run() -> None:
            if worker.classifier is None:
                start = time.perf_counter()
                try:
                    worker.classifier = await in_daemon_thread(worker.factory)
                except Exception:
                    log.exception("sentiment model could not be loaded; comments stay unclassified")
                    return
                log.info("sentiment model ready (%.1f s)", time.perf_counter() - start)
            while True:
                env.beat()
                busy = env.is_leader() and await worker.step()
                if not busy:
                    await asyncio.sleep(1.0)

        return run


def register(reg: Registry, classifier_factory: ClassifierFactory | None = None) -> None:
    """`classifier_factory`: the sentiment classifier (default: the model factory's)."""
    reg.handler(lambda f: MessageHandler(f.channel, handlers.channel_post))
    reg.handler(lambda f: MessageHandler(f.discussion_group, handlers.group_message))
    reg.handler(lambda f: MessageReactionHandler(
        handlers.reaction_count, message_reaction_types=MessageReactionHandler.MESSAGE_REACTION_COUNT_UPDATED))
    reg.handler(lambda f: ChatMemberHandler(handlers.chat_member, ChatMemberHandler.CHAT_MEMBER))
    reg.command("sentiment", sentiment_handlers.mood)
    reg.callback(buttons.RELABEL, sentiment_handlers.relabel)
    reg.callback(buttons.SURGE, sentiment_handlers.surge_button)
    reg.command("respond", sentiment_handlers.respond)
    reg.job(Job("surge-follow-up", sentiment_handlers.surge_follow_up, every=FOLLOW_UP_SECONDS,
                first=FOLLOW_UP_SECONDS))
    reg.job(Job("member-count", handlers.snapshot_member_count, daily=lambda s: s.schedule.member_count_clock,
                at_start=True))
    loop = SentimentLoop(classifier_factory)
    reg.on_build.append(loop.attach)
    if classifier_factory is None:  # the real models (tests pass a stand-in)
        reg.prepare_models.append(partial(ModelFactory.prepare, encoders=False))
    reg.loops.append(Loop("sentiment", loop.make))
