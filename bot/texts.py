"""Every user-facing string. Replies use Telegram HTML; follower text goes through `esc`."""

from __future__ import annotations

import html

PARSE_MODE = "HTML"


def esc(text: object) -> str:
    """Escape any text that did not come from us (follower names, questions, comments)."""
    return html.escape(str(text), quote=False)


def clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


START = (
    "Hi {name}! I'm the assistant of this channel.\n"
    "Ask me anything about the channel and I'll answer in the creator's own words, "
    "or pass your question on to them."
)
HELP = (
    "<b>What I can do</b>\n"
    "• Ask me a question in plain words: I answer from the creator's FAQ.\n"
    "• If I'm not sure, I pass your question to the creator and bring back their answer.\n"
    "• /forgetme deletes what I stored about you.\n"
)
CREATOR_HELP = (
    "<b>Creator commands</b>\n"
    "/stats – what I have stored so far\n"
    "/suggest – topics to post next\n"
    "/besttime – when your audience is most active\n"
    "/remind &lt;when&gt; &lt;text&gt; – a reminder; /reminders lists them\n"
    "/abtest #a #b – compare two tags\n"
    "/sentiment – the mood in the comments\n"
    "/report [day|week|month] – engagement report\n"
    "/retrain – train the FAQ model on new answers\n"
    "/close – close a handoff (reply to it)\n"
)
CREATOR_ONLY = "Sorry, that command is only for the channel's creator."
NON_TEXT = "I can only read text messages for now. Please type your question."
EMPTY_TEXT = "I didn't catch a question there. Please type it in words."
TOO_LONG = "That message is very long. Could you ask your question in a few sentences (under 4096 characters)?"
SLOW_DOWN = "You're sending messages quickly. I'll get to them — please give me a moment."
ERROR_NOTICE = "⚠️ Something went wrong while handling an update ({kind}): <code>{error}</code>\nI'll stay quiet about this kind of error for an hour."

STATS = (
    "<b>Stored so far</b>\n"
    "Followers who wrote: {followers}\n"
    "Direct messages: {dms}\n"
    "Channel posts: {posts} (tags: {tags})\n"
    "Comments: {comments} ({linked} linked to posts)\n"
    "Joins / leaves: {joins} / {leaves}\n"
    "Latest follower count: {members}\n"
    "Updates stored: {updates} ({pending} waiting)"
)
NO_ANSWERER = "Thanks! I've noted your question."
