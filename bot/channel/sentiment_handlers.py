"""Creator: /sentiment, relabel buttons under surge alerts, the drafted reply's buttons and /respond."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.channel import sentiment, surge
from bot.kernel import buttons
from bot.kernel.context import BotContext
from bot.kernel.outbox import answer_callback, send_text


async def mood(update: Update, context: BotContext) -> None:
    """The recent mix of comment sentiment and the posts with the most negative comments."""
    message = update.effective_message
    assert message is not None
    mix = sentiment.recent_mix(context.session)
    if not mix.counts:
        send_text(context.session, message.chat_id, texts.SENTIMENT_NONE)
        return
    c = mix.counts
    lines = [texts.SENTIMENT_HEADER, texts.SENTIMENT_MIX.format(
        positive=c.get("positive", 0), neutral=c.get("neutral", 0), negative=c.get("negative", 0),
        unknown=c.get("unknown", 0))]
    if mix.worst_posts:
        lines.append(texts.SENTIMENT_WORST)
        lines += [texts.SENTIMENT_POST.format(negative=n, total=t, post=texts.esc(texts.clip(p, 80)))
                  for p, n, t in mix.worst_posts]
    send_text(context.session, message.chat_id, "\n".join(lines))


async def relabel(update: Update, context: BotContext) -> None:
    """A relabel button: store the creator's correction."""
    query = update.callback_query
    assert query is not None
    button = buttons.parse(query.data, buttons.RELABEL)
    ok = (button is not None and context.services.settings.is_creator(query.from_user.id)
          and sentiment.relabel(context.session, button.item_id, button.choice))
    answer_callback(context.session, query.id, query.from_user.id, texts.RELABELLED if ok else texts.RELABEL_FAILED)


async def surge_button(update: Update, context: BotContext) -> None:
    """Send / Pin / Edit / Dismiss under a drafted reply: only Send and Pin post anything."""
    query = update.callback_query
    assert query is not None
    button = buttons.parse(query.data, buttons.SURGE)
    settings = context.services.settings
    if button is None or not settings.is_creator(query.from_user.id):
        answer_callback(context.session, query.id, query.from_user.id, texts.SURGE_GONE)
        return
    chat_id = query.message.chat.id if query.message else query.from_user.id
    message_id = query.message.message_id if query.message else None
    toast = surge.decide(context.session, settings, button.item_id, button.choice, chat_id, message_id)
    answer_callback(context.session, query.id, query.from_user.id, toast)


async def respond(update: Update, context: BotContext) -> None:
    """`/respond <text>`: the creator's own version of the drafted reply."""
    message = update.effective_message
    assert message is not None
    text = (message.text or "").partition(" ")[2]
    surge.replace_draft(context.session, context.services.settings, message.chat_id, text)


async def surge_follow_up(context: BotContext) -> None:
    """Job: pin delivered "Pin as channel post" replies; hours after a surge, say whether the mood recovered."""
    services = context.services
    async with services.unit() as session:
        surge.pin_sent(session)
        surge.follow_up(session, services.settings)
