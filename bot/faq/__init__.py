"""The FAQ: answering followers in the creator's words, handing off what it is unsure of, relaying the
creator's reply and learning from it; authoring entries in the chat and on the dashboard; the model,
its versions and training.

`register` hands the runtime its commands, handlers, buttons, jobs and reactions.
"""

from __future__ import annotations

from functools import partial

from telegram.ext import MessageHandler, filters

from bot.faq import authoring, conversation, followers, handlers, jobs, review
from bot.faq.handoffs import undeliverable
from bot.faq.model import faq_model_for, live_model
from bot.faq.training import retrain_without_forgotten
from bot.kernel import buttons
from bot.kernel.registry import Job, Prefetch, Registry
from bot.kernel.services import Services
from nlp.model_factory import ModelFactory

RELOAD_SECONDS = 5.0  # every worker follows a newly published version within this
DIGEST_SECONDS = 10.0  # between looks for questions waiting for a digest
AUTO_RETRAIN_SECONDS = 60.0  # between looks for enough new examples (and for the end of a burst)


def attach_model(services: Services, models: ModelFactory) -> None:
    services.faq_model = faq_model_for(services.settings, models=models, sessions=services.sessions)


def version(services: Services) -> str | None:
    model = live_model(services)
    return model.version if model is not None else None


def after_forget(services: Services, removed: dict[str, int]) -> None:
    if removed.get("learned_examples"):  # a later version must not contain what was forgotten
        retrain_without_forgotten(services)


def register(reg: Registry) -> None:
    for name, handler in {"retrain": handlers.retrain, "close": handlers.close, "faq": handlers.faq_command,
                          "cancel": handlers.cancel}.items():
        reg.command(name, handler)
    reg.private_command("start", followers.start)
    reg.private_command("help", followers.help_command)
    # before the channel's group handler, so a reply in the inbox group is never taken for a comment
    reg.handler(lambda f: MessageHandler(
        f.creators & f.creator_chats & filters.REPLY & f.new_message & ~filters.COMMAND, handlers.creator_reply))
    reg.callback(buttons.FEEDBACK, handlers.feedback)
    reg.callback(buttons.REVIEW, handlers.review_button)
    reg.callback(buttons.DRAFT, handlers.draft_button)
    reg.answerer = conversation.on_inbox_message  # questions from the other inboxes (bot/inbox)
    reg.callback(authoring.FAQ_PREFIX, handlers.faq_button)
    reg.fallback(lambda f: MessageHandler(f.creators & f.private & f.new_message & filters.Document.ALL,
                                          handlers.faq_file))
    reg.fallback(lambda f: MessageHandler(f.private & f.new_message & filters.COMMAND, followers.unknown_command))
    reg.fallback(lambda f: MessageHandler(f.private & f.new_message, followers.private_message))
    reg.job(Job("faq-reload", jobs.reload_faq_model, every=RELOAD_SECONDS, first=RELOAD_SECONDS, leader_only=False))
    reg.job(Job("handoff-digest", jobs.handoff_digest, every=DIGEST_SECONDS, first=2.0))
    reg.job(Job("faq-nightly-retrain", jobs.nightly_retrain, daily=lambda s: s.faq.retrain_clock))
    reg.job(Job("faq-auto-retrain", jobs.auto_retrain_job, every=AUTO_RETRAIN_SECONDS, first=AUTO_RETRAIN_SECONDS))
    reg.job(Job("faq-review-list", jobs.review_list, daily=lambda s: s.faq.review_clock,
                enabled=lambda s: s.faq.review_size > 0))
    reg.prefetch.append(Prefetch(start=jobs.start_matching, ready=jobs.matched))
    reg.undeliverable.append(undeliverable)
    reg.undeliverable.append(review.undeliverable)
    reg.on_build.append(attach_model)
    reg.prepare_models.append(partial(ModelFactory.prepare, sentiment=False))
    reg.on_start.append(jobs.load_live_version)
    reg.model_versions["faq"] = version
    reg.after_forget.append(after_forget)
