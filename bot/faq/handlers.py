"""FAQ: the creator's replies to handoffs, /close, /retrain, and followers' 👍/👎."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.faq import answering, conversation, drafts, handoffs, review
from bot.faq import authoring as faq_chat
from bot.faq.training import start_retrain
from bot.kernel import asks, buttons
from bot.kernel.context import BotContext
from bot.kernel.convert import incoming, person
from bot.kernel.followers import attribute_update, drop_pressed_note
from bot.kernel.outbox import answer_callback, edit_buttons, send_text
from bot.kernel.unit import current_raw_id
from bot.store.models import Follower, Handoff


async def creator_reply(update: Update, context: BotContext) -> None:
    """A creator's reply to a handoff note goes to the follower; other replies are plain messages."""
    message = update.effective_message
    assert message is not None and message.reply_to_message is not None
    handoff, answer = handoffs.handoff_for_reply(context.session, message.chat_id, message.reply_to_message.message_id,
                                            message.text or "")
    if handoff is None:
        fixed = review.answer_for_fix(context.session, message.chat_id, message.reply_to_message.message_id)
        if fixed is not None:  # the right answer to a question marked wrong in the daily list
            attribute_update(context.session, current_raw_id(), fixed.user_id)  # it quotes their question
            review.learn_fix(context.session, context.services.settings, fixed, message.text or "", message.chat_id)
        elif handoffs.is_digest(context.session, message.chat_id, message.reply_to_message.message_id):
            send_text(context.session, message.chat_id, texts.HANDOFF_DIGEST_PICK)
        elif message.chat.type == "private":
            await conversation.on_private_message(context.services, context.session, incoming(message))
        return
    attribute_update(context.session, current_raw_id(), handoff.user_id)  # it quotes their question
    if handoff.status != "open":
        send_text(context.session, message.chat_id, texts.HANDOFF_ALREADY_DONE.format(status=handoff.status))
        return
    if not message.text or not answer:
        send_text(context.session, message.chat_id, texts.RELAY_TEXT_ONLY)
        return
    handoffs.relay_creator_answer(context.services, context.session, handoff, answer, message.chat_id)


async def close(update: Update, context: BotContext) -> None:
    """Close the handoff the creator replies to, without an answer."""
    message = update.effective_message
    assert message is not None
    replied = message.reply_to_message
    handoff, _ = (handoffs.handoff_for_reply(context.session, message.chat_id, replied.message_id,
                                        " ".join(context.args or [])) if replied else (None, ""))
    if handoff is None or handoff.status != "open":
        send_text(context.session, message.chat_id, texts.CLOSE_USAGE)
        return
    attribute_update(context.session, current_raw_id(), handoff.user_id)
    handoffs.close_handoff(context.session, handoff, message.chat_id)


async def retrain(update: Update, context: BotContext) -> None:
    """Train a new FAQ model version from the stored examples, in the background."""
    message = update.effective_message
    assert message is not None
    if not faq_chat.has_entries(context.session):
        send_text(context.session, message.chat_id, texts.RETRAIN_NO_ENTRIES)
        return
    started = start_retrain(context.services, message.chat_id)
    send_text(context.session, message.chat_id, texts.RETRAIN_STARTED if started else texts.RETRAIN_BUSY)


async def faq_command(update: Update, context: BotContext) -> None:
    """/faq, /faq add, /faq list, /faq remove <id>, /faq unanswered."""
    message = update.effective_message
    assert message is not None
    session, chat_id = context.session, message.chat_id
    args = list(context.args or [])
    sub = args[0].lower() if args else ""
    if not sub:
        faq_chat.overview(context.services, session, chat_id)
    elif sub == "add":
        faq_chat.start_add(session, chat_id)
    elif sub == "list":
        faq_chat.list_entries(session, chat_id)
    elif sub in ("remove", "rm", "delete"):
        if len(args) != 2:
            send_text(session, chat_id, texts.FAQ_REMOVE_USAGE)
        else:
            faq_chat.remove_entry(session, chat_id, args[1])
    elif sub == "unanswered":
        faq_chat.unanswered(session, chat_id)
    else:
        send_text(session, chat_id, texts.FAQ_USAGE.format(sub=texts.esc(texts.clip(sub, 40))))


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel: stop a conversation in progress (e.g. /faq add)."""
    message = update.effective_message
    assert message is not None
    done = faq_chat.cancel_dialog(context.session, message.chat_id)
    send_text(context.session, message.chat_id, texts.FAQ_CANCELLED if done else texts.FAQ_NOTHING_TO_CANCEL)


async def faq_file(update: Update, context: BotContext) -> None:
    """The creator sends a CSV or YAML file: import it as FAQ entries."""
    message = update.effective_message
    assert message is not None and message.document is not None
    doc, session = message.document, context.session
    name = doc.file_name or "file"
    if not name.lower().endswith((".csv", ".yaml", ".yml")):
        send_text(session, message.chat_id, texts.FAQ_FILE_TYPE.format(name=texts.esc(name)))
        return
    if faq_chat.too_big(doc.file_size):
        send_text(session, message.chat_id, texts.FAQ_FILE_TOO_BIG)
        return
    data = bytes(await (await doc.get_file()).download_as_bytearray())
    faq_chat.import_file(session, message.chat_id, name, data)


async def faq_button(update: Update, context: BotContext) -> None:
    """"Train the FAQ now" and the remove buttons under /faq list."""
    query = update.callback_query
    assert query is not None and query.data is not None
    session, services = context.session, context.services
    chat_id = query.message.chat.id if query.message else query.from_user.id
    parts = query.data.split(":", 2)
    if not services.settings.is_creator(query.from_user.id):
        answer_callback(session, query.id, query.from_user.id, texts.FEEDBACK_UNKNOWN)
        return
    if parts[1:] == ["retrain"]:
        if not faq_chat.has_entries(session):
            toast = texts.RETRAIN_NO_ENTRIES
        else:
            toast = texts.RETRAIN_STARTED if start_retrain(services, chat_id) else texts.RETRAIN_BUSY
        answer_callback(session, query.id, query.from_user.id, toast)
        return
    theme = asks.parse_faq_button(query.data)
    if theme is not None:  # "add an FAQ answer" under /asks or the weekly report
        label, questions = asks.theme_questions(session, *theme)
        answer_callback(session, query.id, query.from_user.id, "➕" if questions else texts.FEEDBACK_UNKNOWN)
        if questions:
            faq_chat.start_add_prefilled(session, chat_id, label, questions)
        else:
            send_text(session, chat_id, texts.FAQ_FROM_THEME_GONE)
        return
    if len(parts) == 3 and parts[1] == "rm":
        answer_callback(session, query.id, query.from_user.id, "✖")
        faq_chat.remove_entry(session, chat_id, faq_chat.entry_of_button(session, parts[2]))
        return
    answer_callback(session, query.id, query.from_user.id, texts.FEEDBACK_UNKNOWN)


async def feedback(update: Update, context: BotContext) -> None:
    """👍 or 👎 under an automatic answer."""
    query = update.callback_query
    assert query is not None
    button = buttons.parse(query.data, buttons.FEEDBACK)
    toast = texts.FEEDBACK_UNKNOWN
    if query.message is not None and button is not None:
        toast = answering.record_feedback(context.services, context.session, person(query.from_user), button.item_id,
                                    button.choice, query.message.chat.id, query.message.message_id)
    answer_callback(context.session, query.id, query.from_user.id, toast)


async def review_button(update: Update, context: BotContext) -> None:
    """✅ / ✏️ under the creator's daily "were these right?" list, and "hand off next time"."""
    query = update.callback_query
    assert query is not None
    button = buttons.parse(query.data, buttons.REVIEW)
    toast = texts.FEEDBACK_UNKNOWN
    if query.message is not None and button is not None and context.services.settings.is_creator(query.from_user.id):
        for user_id in review.people_quoted(context.session, button.item_id):  # the pressed message quotes them
            attribute_update(context.session, current_raw_id(), user_id)
        toast = review.press(context.session, context.services.settings, button.item_id, button.choice,
                             query.message.chat.id, query.message.message_id)
    answer_callback(context.session, query.id, query.from_user.id, toast)


async def draft_button(update: Update, context: BotContext) -> None:
    """Send / Edit / Skip under a draft (the creator's only)."""
    query = update.callback_query
    assert query is not None
    session, services = context.session, context.services
    button = buttons.parse(query.data, buttons.DRAFT)
    draft = session.get(Handoff, button.item_id) if button is not None else None
    if button is None or draft is None or draft.kind != "draft" or not services.settings.is_creator(query.from_user.id):
        answer_callback(session, query.id, query.from_user.id, texts.FEEDBACK_UNKNOWN)
        return
    attribute_update(session, current_raw_id(), draft.user_id)  # the press is about that follower
    drop_pressed_note(session, current_raw_id())
    chat_id = query.message.chat.id if query.message else query.from_user.id
    if button.choice == "send":
        toast = drafts.send_draft(services, session, draft, chat_id)
    elif button.choice == "edit":
        follower = session.get(Follower, draft.user_id)
        toast = drafts.start_edit(session, draft, chat_id, follower.first_name if follower else str(draft.user_id))
    else:
        toast = drafts.skip_draft(session, draft)
        send_text(session, chat_id, toast)
    if query.message is not None and button.choice != "edit" and draft.status != "open":
        edit_buttons(session, query.message.chat.id, query.message.message_id)
    answer_callback(session, query.id, query.from_user.id, texts.clip(toast, 190))
