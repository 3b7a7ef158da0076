"""Creator: /sentiment, and relabel buttons under surge alerts."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.channel import sentiment
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
