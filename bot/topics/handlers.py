"""Creator commands for what and when to post: /suggest, /besttime, /remind, /reminders, /abtest."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram import Update

from bot import texts
from bot.kernel import buttons
from bot.kernel.context import BotContext
from bot.kernel.engagement import posting_time_model
from bot.kernel.live_settings import change_settings
from bot.kernel.outbox import answer_callback, send_text
from bot.kernel.services import Services
from bot.kernel.stats import stored_counts
from bot.store.models import utcnow
from bot.topics import asks as asked
from bot.topics import plan as planning
from bot.topics import reminding
from bot.topics import suggestions as topics
from bot.topics.abtest import compare_arms
from recsys.plan import RuleError, parse_rules
from recsys.timing import DAY_NAMES

log = logging.getLogger(__name__)


def _when(dt_local: datetime) -> str:
    return f"{DAY_NAMES[dt_local.weekday()]} {dt_local:%d %b %H:%M}"


async def suggest(update: Update, context: BotContext) -> None:
    """The top topics with their reasons, and one experiment."""
    message = update.effective_message
    assert message is not None
    session, settings = context.session, context.services.settings
    gap = topics.missing_for_suggestions(session)
    if gap in ("posts", "tags"):
        send_text(session, message.chat_id, texts.SUGGEST_MISSING[gap].format(**stored_counts(session).as_dict()))
        return
    suggestions = topics.suggest_topics(session, settings)
    if not suggestions:
        send_text(session, message.chat_id, texts.SUGGEST_NONE)
        return
    lines = [texts.SUGGEST_HEADER]
    if gap == "engagement":
        lines.append(texts.SUGGEST_MISSING[gap])
    rank = 0
    for s in suggestions:
        if s.score.experiment:
            lines.append(texts.SUGGEST_EXPERIMENT.format(why=texts.esc(s.why)))
        else:
            rank += 1
            lines.append(texts.SUGGEST_WINNER.format(rank=rank, why=texts.esc(s.why)))
    if not any(s.score.experiment for s in suggestions):
        lines.append(texts.SUGGEST_NO_EXPERIMENT.format(n=3))
    elif rank == 0:
        lines.append(texts.SUGGEST_ALL_EXPERIMENTS.format(n=3))
    ideas, quoted = asked.suggest_lines(session)
    send_text(session, message.chat_id, "\n".join([*lines, *ideas]), about=quoted)


async def besttime(update: Update, context: BotContext) -> None:
    """The next best slots to post, from the audience's activity."""
    message = update.effective_message
    assert message is not None
    settings = context.services.settings
    model = posting_time_model(context.session, settings)
    slots = model.best_slots(utcnow(), k=3)
    n = model.interactions
    tz = texts.esc(settings.schedule.timezone)
    if n == 0:
        lines = [texts.BESTTIME_NONE.format(tz=tz)]
    else:
        lines = [texts.BESTTIME_HEADER.format(tz=tz, n=n, thin=texts.BESTTIME_THIN if n < 200 else "")]
    lines += [texts.BESTTIME_SLOT.format(when=_when(start), share=score * 100) for start, score in slots]
    if settings.schedule.timezone == "UTC":
        lines.append(texts.BESTTIME_UTC)
    send_text(context.session, message.chat_id, "\n".join(lines))


async def remind(update: Update, context: BotContext) -> None:
    """Set a one-off or recurring reminder."""
    message = update.effective_message
    assert message is not None
    settings = context.services.settings
    args = list(context.args or [])
    try:
        when, rest = reminding.parse_when(args, utcnow(), settings.tz)
        if not rest:
            raise reminding.WhenError("no text after the time", f"{' '.join(args)} post the sunrise set")
    except reminding.WhenError as exc:
        send_text(context.session, message.chat_id, texts.REMIND_USAGE.format(
            error=texts.esc(exc.problem), example=texts.esc(exc.example)))
        return
    text = " ".join(rest)
    try:  # the same limits as the dashboard's
        reminding.set_reminder(context.session, message.chat_id, when, text)
    except reminding.ReminderRefused as exc:
        send_text(context.session, message.chat_id, texts.esc(exc))
        return
    send_text(context.session, message.chat_id, texts.REMIND_SET.format(
        when=_when(when.due_at.astimezone(settings.tz)), text=texts.esc(text),
        recurrence="" if when.recurrence == "once" else f" ({when.recurrence})"))


async def list_reminders(update: Update, context: BotContext) -> None:
    """List active reminders with a cancel button each."""
    message = update.effective_message
    assert message is not None
    rows = reminding.active(context.session, message.chat_id)
    if not rows:
        send_text(context.session, message.chat_id, texts.REMINDERS_NONE)
        return
    tz = context.services.settings.tz
    rows = rows[:reminding.MAX_ACTIVE + 5]  # manual ones are capped; auto and report ones are few
    lines = [texts.REMINDERS_HEADER] + [texts.REMINDER_LINE.format(
        id=r.id, when=_when(r.due_at.astimezone(tz)), text=texts.esc(texts.clip(r.text, 80)),
        recurrence="" if r.recurrence == "once" else f" ({r.recurrence})") for r in rows]
    cancel = [[(f"✖ #{r.id}", buttons.make(buttons.REMINDER_CANCEL, r.id))] for r in rows]
    send_text(context.session, message.chat_id, "\n".join(lines), buttons=cancel)


async def cancel_reminder(update: Update, context: BotContext) -> None:
    """A cancel button under /reminders."""
    query = update.callback_query
    assert query is not None and query.data is not None
    button = buttons.parse(query.data, buttons.REMINDER_CANCEL)
    chat_id = query.message.chat.id if query.message else query.from_user.id
    ok = button is not None and context.services.settings.is_creator(query.from_user.id) and reminding.cancel(
        context.session, chat_id, button.item_id)
    answer_callback(context.session, query.id, query.from_user.id,
                    texts.REMINDER_CANCELLED.format(id=button.item_id) if ok and button else texts.REMINDER_GONE)


async def abtest(update: Update, context: BotContext) -> None:
    """Compare two tags (or two posting hours) with a proper test."""
    message = update.effective_message
    assert message is not None
    comparison = compare_arms(context.session, context.services.settings, list(context.args or []))
    if comparison is None:
        send_text(context.session, message.chat_id, texts.ABTEST_USAGE)
        return
    result = comparison.result
    send_text(context.session, message.chat_id, texts.ABTEST_RESULT.format(
        a=texts.esc(comparison.a), b=texts.esc(comparison.b), n_a=result.n_a, n_b=result.n_b,
        mean_a=result.mean_a, mean_b=result.mean_b, verdict=texts.esc(result.verdict)))


async def asks(update: Update, context: BotContext) -> None:
    """What the audience is asking: grouped after this update commits, off the event loop; the reply follows."""
    message = update.effective_message
    assert message is not None
    services, chat_id = context.services, message.chat_id
    send_text(context.session, chat_id, texts.ASKS_WORKING)

    async def after_commit() -> None:
        async with services.db_lock:
            pass  # this update holds the lock until it has committed
        await asked.refresh(services, chat_id)

    services.spawn(after_commit())


async def plan(update: Update, context: BotContext) -> None:
    """`/plan`: next week's plan, after how the last one did (worked out after this update commits, off the
    event loop); `/plan rules ...`: the rules, stored like the other settings changed in the chat."""
    message = update.effective_message
    assert message is not None
    services, chat_id = context.services, message.chat_id
    text = (message.text or "").split(None, 1)
    rest = text[1].strip() if len(text) > 1 else ""
    if rest.lower().startswith("rules"):
        plan_rules(context, chat_id, rest[len("rules"):].strip())
        return
    send_text(context.session, chat_id, texts.PLAN_WORKING)

    async def after_commit() -> None:
        async with services.db_lock:
            pass  # this update holds the lock until it has committed
        await planning_reply(services, chat_id)

    services.spawn(after_commit())


def plan_rules(context: BotContext, chat_id: int, words: str) -> None:
    session, services = context.session, context.services
    if not words:
        rules = services.settings.recsys.plan_rules
        send_text(session, chat_id, texts.PLAN_RULES_NOW.format(rules="; ".join(texts.esc(r) for r in rules))
                  if rules else texts.PLAN_RULES_NONE)
        return
    if words.lower() in ("off", "none", "clear"):
        change_settings(services, session, {"recsys.plan_rules": []})
        send_text(session, chat_id, texts.PLAN_RULES_CLEARED)
        return
    try:
        parsed = parse_rules(words)
    except RuleError as exc:  # names the rule it could not read and lists the forms it can
        send_text(session, chat_id, texts.PLAN_RULES_BAD.format(error=texts.esc(str(exc))))
        return
    change_settings(services, session, {"recsys.plan_rules": [r.text for r in parsed]})
    send_text(session, chat_id, texts.PLAN_RULES_SET.format(rules="; ".join(texts.esc(r.text) for r in parsed)))


async def planning_reply(services: Services, chat_id: int) -> None:
    """Read, plan in a thread, then store the plan and reply in one transaction."""
    def read() -> planning.PlanInput:
        with services.sessions() as session:
            return planning.read(session, services.settings)

    try:
        inp = await asyncio.to_thread(read)
        outcome = await asyncio.to_thread(planning.compute, inp)
    except Exception as exc:
        log.exception("planning the week failed")
        async with services.unit() as session:
            send_text(session, chat_id, texts.PLAN_FAILED.format(error=texts.esc(str(exc))))
        return
    async with services.unit() as session:
        planning.save(session, chat_id, outcome)
        send_text(session, chat_id, planning.render(outcome, services.settings))
