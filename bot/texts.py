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

# --- FAQ and handoffs ---------------------------------------------------------------------
NO_CREATOR = "Thanks! I can't pass questions on yet (the creator hasn't set me up), but your message is saved."
HANDOFF_TO_FOLLOWER = "Good question! I've passed it on to the creator and will bring their answer here."
HANDOFF_STILL_OPEN = "I've added this to your question for the creator. They'll answer here soon."
HANDOFF_TO_CREATOR = (
    "❓ <b>Question from {name}</b> (#{id}, {reason}):\n{question}\n\n"
    "<i>Reply to this message to answer; /close (as a reply) closes it without an answer.</i>"
)
HANDOFF_FOLLOW_UP = "➕ <b>{name} adds</b> (#{id}):\n{question}"
CREATOR_ANSWER = "💬 The creator answered your question:\n\n{answer}"
RELAYED_LEARNED = "✅ Sent. I saved your answer as an FAQ example; /retrain makes me use it."
RELAYED_PENDING = "✅ Sent. Your answer waits for review before I learn from it."
HANDOFF_ALREADY_DONE = "That question is already {status}."
RELAY_TEXT_ONLY = "Please answer with text: I can only relay text messages."
HANDOFF_CLOSED_FOLLOWER = "The creator has closed your question. Feel free to ask something else!"
HANDOFF_CLOSED_CREATOR = "Closed."
CLOSE_USAGE = "Use /close as a reply to an open question I passed on to you."
RETRAIN_STARTED = "Training a new FAQ model… I'll tell you when it's live."
RETRAIN_BUSY = "A training is already running (or no FAQ is set up)."
RETRAIN_DONE = (
    "✅ FAQ model {version} is live: {entries} answers, {examples} example questions, "
    "confidence threshold {threshold:.2f}, trained in {seconds:.0f} s."
)
RETRAIN_FAILED = "⚠️ FAQ training failed: {error}"
FEEDBACK_THANKS = "Thanks for the feedback!"
FEEDBACK_UNKNOWN = "That button has expired."

# --- topics, timing, reminders, A/B ---------------------------------------------------------
SUGGEST_HEADER = "<b>What to post next</b>"
SUGGEST_WINNER = "{rank}. {why}"
SUGGEST_EXPERIMENT = "🧪 Experiment: {why}"
SUGGEST_NONE = ("I don't have enough to go on yet: I need channel posts with #hashtags and some comments or "
                "reactions under them. Post with hashtags and ask me again in a few days.")
SUGGEST_NO_EXPERIMENT = "\nNo untested tags right now: every tag has at least {n} posts."
BESTTIME_HEADER = "<b>Best times to post</b> ({tz}, from {n} interactions{thin}):"
BESTTIME_THIN = "; little data yet, so this leans on typical daily rhythms"
BESTTIME_SLOT = "• {when} — {share:.1f} % of your audience's weekly activity"
REMIND_USAGE = ("Usage: /remind &lt;when&gt; &lt;text&gt;, e.g. <code>/remind in 2h post the sunrise set</code>, "
                "<code>/remind tomorrow 18:00 …</code>, <code>/remind daily 18:00 …</code>, "
                "<code>/remind weekly mon 9:00 …</code>\n{error}")
REMIND_TOO_MANY = "You have {n} active reminders, the most I keep. Cancel one in /reminders first."
REMIND_SET = "⏰ Reminder set for {when}{recurrence}: {text}"
REMINDER = "⏰ Reminder: {text}"
REMINDERS_NONE = "You have no active reminders. Set one with /remind."
REMINDERS_HEADER = "<b>Your reminders</b> (tap to cancel):"
REMINDER_LINE = "• #{id} {when}{recurrence}: {text}"
REMINDER_CANCELLED = "Reminder #{id} cancelled."
REMINDER_GONE = "That reminder is already gone."
AUTO_REMINDER = "Time to post — suggested topic #{tag}"
ABTEST_USAGE = "Usage: /abtest #tag1 #tag2 (or two hours: /abtest 9 18)"
ABTEST_RESULT = "<b>A/B: {a} vs {b}</b>\n{a}: {n_a} posts, {mean_a:.1f} per post\n{b}: {n_b} posts, {mean_b:.1f} per post\n{verdict}"

# --- sentiment ------------------------------------------------------------------------------
SURGE_ALERT = ("⚠️ <b>Negative comments are surging</b>: {negative} of the last {total} comments in "
               "{minutes} min are negative ({share:.0f} %; your usual share is {baseline:.0f} %).\n"
               "Post: {post}\nExamples (tap to correct a label):")
SURGE_NO_POST = "(comments not linked to a post)"
SENTIMENT_HEADER = "<b>Comment mood, last 7 days</b>"
SENTIMENT_MIX = "😊 positive {positive} · 😐 neutral {neutral} · 😞 negative {negative} · ❔ unreadable {unknown}"
SENTIMENT_NONE = "No classified comments in the last 7 days yet."
SENTIMENT_WORST = "Most negative comments:"
SENTIMENT_POST = "• {negative}/{total} negative — {post}"
RELABELLED = "Label corrected — thanks, I'll learn from it."
RELABEL_FAILED = "That comment is gone."

# --- reports, export, privacy -----------------------------------------------------------------
REPORT_USAGE = "Usage: /report [day|week|month]"
REPORT_CAPTION = "📊 {period} report: {followers} followers, {posts} posts, engagement rate {rate}"
EXPORT_CAPTION = "Your data as CSV files (see README.txt inside)."
FORGETME_DONE = ("Done: I deleted your messages, your comment texts, your questions to the creator, your "
                 "feedback and everything I had stored about you. Anonymous counts remain in the channel's "
                 "statistics.")
ALERT_FORGOTTEN = "⚠️ A sentiment alert was here; it quoted a follower who asked to be forgotten."

# --- setup and security -----------------------------------------------------------------------
WEBHOOK_SECRET_HOWTO = ("Put it in the environment as {env}=<secret> (or [telegram] webhook_secret); "
                        "the bot hands it to Telegram with setWebhook.")
HINT_CREATOR_IDS = ("[creator] user_ids is empty: nobody can use creator commands. Your numeric id: message "
                    "@userinfobot (it replies with your id) and put it here, e.g. user_ids = [123456789].")
HINT_CHANNEL_ID = ("[channel] id is 0: the bot ignores every channel. Add the bot to your channel as an admin; "
                   "it messages you the channel's id (-100…) to put here. Any other chat it is added to, it leaves.")
HINT_GROUP_ID = ("[channel] discussion_group_id is 0: comments are ignored. Add the bot to the channel's linked "
                 "discussion group; it messages you the group's id (-100…) to put here.")
FOREIGN_CHAT_ID = ("I was added to “{title}” (id <code>{id}</code>), which is not configured, so I left it and "
                   "stored nothing from it. If it is your channel, put <code>{id}</code> in [channel] id (or "
                   "discussion_group_id for its discussion group), restart me and add me again.")
CREATOR_CHAT_ONLY = ("Creator commands work only in our private chat (or your inbox group), so nobody else "
                     "sees the answers. Send it to me here.")
