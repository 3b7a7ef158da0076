"""Every user-facing string. Replies use Telegram HTML; follower text goes through `esc`."""

from __future__ import annotations

import html

PARSE_MODE = "HTML"


def esc(text: object) -> str:
    """Escape any text that did not come from us (follower names, questions, comments)."""
    return html.escape(str(text), quote=False)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji is often 2)."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int = 300) -> str:
    """At most `limit` UTF-16 units (Telegram's measure), with "…" when cut."""
    if utf16_len(text) <= limit:
        return text
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit - 1:
            return text[:i] + "…"
    return text


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
    "/setup – what is set up and what to do next\n"
    "/faq – your FAQ: send a CSV/YAML file, /faq add, /faq list, /faq unanswered\n"
    "/timezone &lt;zone&gt; – your time zone, e.g. /timezone Europe/Berlin\n"
    "/stats – what I have stored so far\n"
    "/health – what is waiting, and anything I had to give up on (with the reason)\n"
    "/suggest – topics to post next\n"
    "/besttime – when your audience is most active\n"
    "/remind &lt;when&gt; &lt;text&gt; – a reminder; /reminders lists them\n"
    "/abtest #a #b – compare two tags\n"
    "/sentiment – the mood in the comments\n"
    "/report [day|week|month] – engagement report; /report schedule weekly mon 09:00 sets when it comes\n"
    "/retrain – train the FAQ model on new answers\n"
    "/close – close a handoff (reply to it)\n"
    "/inbox – handoffs and drafts from every inbox (bot chat, channel direct messages, your own chats), "
    "and each inbox's mode\n"
    "/dashboard – charts, FAQ editing and reminders in a Mini App\n"
)
DASHBOARD_OPEN = "📊 Your dashboard: charts, FAQ editing and reminders. Only you can open it."
DASHBOARD_BUTTON = "Open dashboard"
DASHBOARD_OFF = ("The dashboard is not set up: set <code>[web] public_url</code> to the HTTPS address that "
                 "serves it (see config.example.toml).")
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
HEALTH = (
    "<b>Health</b>\n"
    "Updates waiting: {updates} (the oldest for {age})\n"
    "Messages waiting to go out: {outbox}\n"
    "Dead letters: {dead_updates} updates set aside, {dead_outbox} messages not delivered"
)
HEALTH_DEAD_UPDATES = "\n<b>Updates set aside</b> (newest first):"
HEALTH_DEAD_UPDATE = "• #{id} {kind}, {when}: <code>{reason}</code>"
HEALTH_DEAD_OUTBOX = "\n<b>Messages not delivered</b> (newest first):"
HEALTH_DEAD_MESSAGE = "• to chat {chat} ({purpose}), {when}: <code>{reason}</code>"
HEALTH_ALL_WELL = "\nNothing was set aside. ✅"

# --- FAQ and handoffs ---------------------------------------------------------------------
NO_CREATOR = "Thanks! I can't pass questions on yet (the creator hasn't set me up), but your message is saved."
HANDOFF_TO_FOLLOWER = "Good question! I've passed it on to the creator and will bring their answer here."
HANDOFF_STILL_OPEN = "I've added this to your question for the creator. They'll answer here soon."
HANDOFF_TO_CREATOR = (
    "❓ <b>Question from {name}</b> (#{id}, {reason}):\n{question}\n\n"
    "<i>Reply to this message to answer; /close (as a reply) closes it without an answer.</i>"
)
HANDOFF_DIGEST_HEADER = "📬 <b>{n} more questions</b> came in at once:"
HANDOFF_DIGEST_LINE = "#{id} {tag}<b>{name}</b>: {question}"  # tag: where it came from (INBOX_TAGS)
HANDOFF_DIGEST_FOOTER = ("\n<i>Reply to this message with #id and your answer to answer one, "
                         "e.g. “#12 Yes, it ships worldwide”; /close #id closes one.</i>")
HANDOFF_DIGEST_PICK = "Start your reply with the question's #id from the list, e.g. “#12 your answer”."
HANDOFF_FOLLOW_UP = "➕ <b>{name} adds</b> (#{id}):\n{question}"
CREATOR_ANSWER = "💬 The creator answered your question:\n\n{answer}"
RELAYED_LEARNED = ("📨 On its way (I'll tell you if it can't be delivered). I saved your answer as an FAQ "
                   "example; train the FAQ (or /retrain) to use it.")
RELAYED_PENDING = ("📨 On its way (I'll tell you if it can't be delivered). Your answer waits for review "
                   "before I learn from it.")
RELAY_FAILED = "⚠️ Your answer to question #{id} could not be delivered: {error}"
HANDOFF_UNDELIVERED = ("Sorry, I couldn't reach the creator with your question just now. "
                       "Please ask again later; I'll answer what I can meanwhile.")
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

# --- the daily "were these right?" list of answers given near the confidence threshold -------------
REVIEW_HEADER = ("🔎 <b>Were these right?</b> {n} answers I gave with the least confidence since the last list. "
                 "✅ keeps the question as an example of that answer; ✏️ marks it wrong.")
REVIEW_LINE = "\n<b>{n}.</b> “{question}”\n   → {answer} <i>({confidence:.0%})</i>"
REVIEW_OK_BUTTON = "{n} ✅"
REVIEW_FIX_BUTTON = "{n} ✏️"
REVIEW_CONFIRMED = "✅ Saved as an example; it counts from the next training."
REVIEW_ENTRY_GONE = "That answer is no longer in the FAQ."
REVIEW_ALREADY = "Already reviewed."
REVIEW_FIX_PROMPT = ("✏️ Marked wrong: “{question}” will not get “{answer}” again after the next training "
                     "(a question like it goes to you).\n\n<i>Reply to this message with the right answer to teach "
                     "it (the follower is not messaged), or tap the button.</i>")
REVIEW_HAND_OFF_BUTTON = "🙋 Hand off next time"
REVIEW_HAND_OFF = "OK: a question like it goes to you after the next training."
REVIEW_FIXED = ("📚 Saved your answer as an FAQ example for “{question}”; it counts from the next training. "
                "The follower is not messaged.")
REVIEW_FIXED_PENDING = "📚 Your answer for “{question}” waits for review before I learn from it."
REVIEW_FIX_TEXT_ONLY = "Please reply with the right answer as text."
REVIEW_FIX_DONE = "That one is already settled ({review})."

# --- topics, timing, reminders, A/B ---------------------------------------------------------
INTERACTIONS_COUNT = "comments + reactions"  # what "interactions per post" counts, everywhere
SUGGEST_HEADER = "<b>What to post next</b> (interactions = comments + reactions)"
SUGGEST_WHY = ("#{tag}: {per_post:.1f} interactions per post over {posts} posts in the last {days} days, "
               "{comparison}; {reach:.0f} % of active followers engaged with it.")
SUGGEST_WHY_EARLY = ("#{tag}: only {posts} post{s} so far, {per_post:.1f} interactions per post — too early to "
                     "judge; post on it again to find out.")
SUGGEST_LIFT = "{lift:.1f}× the channel average"
SUGGEST_ABOUT_AVERAGE = "about the channel average"
SUGGEST_WINNER = "{rank}. {why}"
SUGGEST_EXPERIMENT = "🧪 Experiment: {why}"
SUGGEST_NONE = ("I don't have enough to go on yet: I need channel posts with #hashtags and some comments or "
                "reactions under them. Post with hashtags and ask me again in a few days.")
SUGGEST_MISSING = {
    "posts": ("I haven't seen a channel post yet, so I can't suggest topics. I see new posts once I'm an admin "
              "of your channel (/setup shows whether I am); older posts are not visible to bots. "
              "Ask again after a few posts with #hashtags."),
    "tags": ("Your {posts} posts have no #hashtags yet, so I can't tell their topics apart. Add one or two "
             "hashtags to new posts (e.g. #hiking) and ask again in a few days."),
    "engagement": ("<i>No comments or reactions under your posts yet, so this only counts posts per tag; it "
                   "gets better once followers comment (I need to be an admin of the discussion group).</i>"),
}
SUGGEST_ALL_EXPERIMENTS = "\nEvery tag has fewer than {n} posts so far: these are experiments, not winners yet."
SUGGEST_NO_EXPERIMENT = "\nNo untested tags right now: every tag has at least {n} posts."
BESTTIME_HEADER = "<b>Best times to post</b> ({tz}, from {n} interactions{thin}):"
BESTTIME_THIN = "; little data yet, so this leans on typical daily rhythms"
BESTTIME_NONE = ("<b>Best times to post</b> ({tz}): no audience activity yet (comments, messages to me), so these "
                 "are typical evening hours. I learn your audience's rhythm as comments arrive.")
BESTTIME_UTC = "<i>Times are in UTC: set your time zone with /timezone Europe/Berlin (your zone).</i>"
BESTTIME_SLOT = "• {when} — {share:.1f} % of your audience's weekly activity"
REMIND_USAGE = "I couldn't read that reminder: {error}.\nFor example: <code>{example}</code>"
REMIND_TOO_MANY = "You have {n} active reminders, the most I keep. Cancel one in /reminders first."
REMIND_TOO_LONG = "That reminder is {n} characters long; I keep reminders of up to {limit} characters. Shorten it."
REMIND_NO_TEXT = "Add the text of the reminder."
REMIND_EXTRA_WORDS = "“{words}” is not part of a time: put it in the reminder's text."
REMIND_SET = "⏰ Reminder set for {when}{recurrence}: {text}"
REMINDER = "⏰ Reminder: {text}"
REMINDER_FAILED = "⚠️ Reminder #{id} could not be prepared and was skipped (the log has the details)."
REMINDERS_NONE = "You have no active reminders. Set one with /remind."
REMINDERS_HEADER = "<b>Your reminders</b> (tap to cancel):"
REMINDER_LINE = "• #{id} {when}{recurrence}: {text}"
REMINDER_CANCELLED = "Reminder #{id} cancelled."
REMINDER_GONE = "That reminder is already gone."
AUTO_REMINDER = "Time to post — suggested topic #{tag}"
ABTEST_USAGE = "Usage: /abtest #tag1 #tag2 (or two hours: /abtest 9 18)"
ABTEST_RESULT = ("<b>A/B: {a} vs {b}</b> (interactions = comments + reactions)\n{a}: {n_a} posts, {mean_a:.1f} per post\n"
                 "{b}: {n_b} posts, {mean_b:.1f} per post\n{verdict}")

# --- sentiment ------------------------------------------------------------------------------
SURGE_ALERT = ("⚠️ <b>Negative comments are surging</b>: {negative} of the last {total} comments in "
               "{minutes} min are negative ({share:.0f} %; your usual share is {baseline:.0f} %).\n"
               "Post: {post}\nExamples (tap to correct a label):")
SURGE_NO_POST = "(comments not linked to a post)"
SENTIMENT_HEADER = "<b>Comment mood, last 7 days</b>"
SENTIMENT_MIX = "😊 positive {positive} · 😐 neutral {neutral} · 😞 negative {negative} · ❔ unreadable {unknown}"
SENTIMENT_NONE = ("No classified comments in the last 7 days yet. I read comments in your discussion group "
                  "once I'm an admin there (/setup shows whether I am); the mood appears as followers comment.")
SENTIMENT_WORST = "Most negative comments:"
SENTIMENT_POST = "• {negative}/{total} negative — {post}"
RELABELLED = "Label corrected — thanks, I'll learn from it."
RELABEL_FAILED = "That comment is gone."

# --- reports, export, privacy -----------------------------------------------------------------
REPORT_USAGE = ("Usage: /report [day|week|month]; the schedule: <code>/report schedule weekly mon 09:00</code>, "
                "<code>daily 18:00</code> or <code>off</code>")
REPORT_BUSIEST = "Busiest hour this {period}: {hour}"
REPORT_BEST_SLOT = "Best time to post (all activity, as in /besttime): {slot}"
REPORT_TOP_TAGS = "Top tags (interactions per post = comments + reactions): {tags}"
REPORT_CAPTION = "📊 {period} report: {followers} followers, {posts} posts, engagement rate {rate}"
EXPORT_PREPARING = "📦 Preparing your export: the file follows in a moment."
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
HINT_CHANNEL_ID = ("[channel] id is 0: no channel is set, so posts are ignored. Add the bot to your channel as an "
                   "administrator yourself: it offers you (in your private chat) to use it, or put the channel's "
                   "id (-100…, shown by /setup) here. A chat someone else adds the bot to, it leaves.")
HINT_GROUP_ID = ("[channel] discussion_group_id is 0: no discussion group is set, so comments are ignored. Add the "
                 "bot to the channel's linked group yourself: it offers to use it, or put the group's id here.")
CREATOR_CHAT_ONLY = ("Creator commands work only in our private chat (or your inbox group), so nobody else "
                     "sees the answers. Send it to me here.")

# --- the creator's setup checklist (/start, /setup) -------------------------------------------
SETUP_HEADER = "<b>Setting up your assistant</b>"
SETUP_FOOTER = "\nFix the ❌ items from the top; send /setup to check again."
SETUP_ALL_DONE = "\nAll set! Followers can write to me now. /help lists your commands."
SETUP_TOKEN_OK = "Bot token works: I am @{bot}."
SETUP_CHANNEL_UNSET = ("<b>Channel</b>: none yet. Add me to your channel as an administrator "
                       "(channel → Administrators → Add admin → search my name); I'll offer to use it.")
SETUP_CHANNEL_OK = "<b>Channel</b>: {title} ({id}), I am an admin there."
SETUP_CHANNEL_NOT_ADMIN = ("<b>Channel</b>: {title} ({id}), but I am not an admin there, so I see no posts, "
                           "reactions or joins. Make me an administrator of the channel.")
SETUP_GROUP_UNSET = ("<b>Discussion group</b>: none yet. Link a discussion group to the channel (channel → "
                     "Discussion) and add me to it as an administrator, so I can read comments.")
SETUP_GROUP_OK = "<b>Discussion group</b>: {title} ({id}), linked, I am an admin there."
SETUP_GROUP_NOT_ADMIN = ("<b>Discussion group</b>: {title} ({id}), but I am not an admin there, so I can't "
                         "read the comments. Make me an administrator of the group.")
SETUP_GROUP_NOT_LINKED = ("<b>Discussion group</b>: {title} is not the group linked to your channel. "
                          "Use the linked one (channel → Discussion).")
SETUP_INBOX_UNSET = "<b>Inbox</b>: questions I can't answer come to this chat (optional: an inbox group)."
SETUP_INBOX_OK = "<b>Inbox</b>: questions I can't answer go to {title}."
SETUP_INBOX_MISSING = "<b>Inbox</b>: the inbox group {id} is set, but I am not in it. Add me to that group."
SETUP_FAQ_NONE = ("<b>FAQ</b>: no entries yet, so every question comes to you. Send me a CSV "
                  "(question,answer) or YAML file, or use /faq add.")
SETUP_FAQ_UNTRAINED = "<b>FAQ</b>: {entries} entries, not trained yet. Tap “Train the FAQ now” below."
SETUP_FAQ_TRAINING = "<b>FAQ</b>: {entries} entries, the first model is training now; I'll tell you when it is live."
SETUP_FAQ_OK = "<b>FAQ</b>: {entries} entries, model {version} is live. /faq shows what you can do."
SETUP_SCHEDULE_UTC = ("<b>Reports and time zone</b>: report {when}, but the time zone is UTC. "
                      "Set yours, e.g. /timezone Europe/Berlin (or /timezone UTC if that is right), so reports and best "
                      "times fit your day.")
SETUP_SCHEDULE_OK = "<b>Reports and time zone</b>: report {when} ({tz}). Change it with /report schedule."
SETUP_USE_BUTTON = "Use {title}"
SETUP_ADDED_CHANNEL = "I was added to the channel <b>{title}</b>. Use it as your channel?"
SETUP_ADDED_GROUP = ("I was added to the group <b>{title}</b>. Use it as the channel's discussion group, "
                     "or as the inbox where I pass on questions I can't answer?")
SETUP_REMOVED = ("⚠️ I was removed from <b>{title}</b>, so I no longer see what happens there. Add me back as "
                 "an administrator, or send /setup to pick another chat.")
SETUP_GROUP_NOT_ADMIN = "\nMake me an administrator there too, or I can't read the comments."
SETUP_SAVED_CHANNEL = "✅ Saved: {title} is your channel."
SETUP_SAVED_GROUP = "✅ Saved: {title} is the discussion group."
SETUP_SAVED_INBOX = "✅ Saved: questions I can't answer now go to {title}; answer them by replying there."
SETUP_INBOX_BUTTON = "Send questions to {title}"
SETUP_BUTTON_GONE = "That chat is no longer available."
TIMEZONE_USAGE = "Usage: /timezone &lt;zone&gt;, e.g. <code>/timezone Europe/Berlin</code> (now: {tz})."
TIMEZONE_BAD = "I don't know the time zone “{tz}”. Use a name like <code>Europe/Berlin</code> or <code>Asia/Shanghai</code>."
TIMEZONE_SET = "✅ Time zone set to {tz}. Reports, reminders and best times now use it."

# --- the report schedule (a setting, not a reminder) -----------------------------------------
SCHEDULE_NOW = ("Scheduled report: <b>{when}</b> ({tz}).\nChange it with e.g. <code>/report schedule weekly mon 09:00</code>, "
                "<code>/report schedule daily 18:00</code> or <code>/report schedule off</code>.")
SCHEDULE_SET = "✅ Scheduled report: <b>{when}</b> ({tz})."
SCHEDULE_BAD_KIND = "say daily, weekly or off first"
SCHEDULE_BAD_DAY = "after weekly, name the day (mon … sun)"
SCHEDULE_BAD_TIME = "end with the time as HH:MM, e.g. 09:00"
SCHEDULE_USAGE = "I couldn't read that schedule: {error}. Example: <code>/report schedule weekly mon 09:00</code>"

# --- the FAQ from the chat (/faq, files) --------------------------------------------------------
FAQ_RETRAIN_BUTTON = "🧠 Train the FAQ now"
FAQ_NO_MODEL = "not trained yet"
FAQ_OVERVIEW = ("<b>Your FAQ</b>: {entries} entries, model {version}.\n"
                "• Send me a CSV file (columns question,answer, optional id,tags) or a YAML file "
                "(questions: [...], answer: ...) to import entries\n"
                "• /faq add – add one entry: the question, then the answer\n"
                "• /faq list – the entries, with buttons to remove them\n"
                "• /faq remove &lt;id&gt; – remove an entry\n"
                "• /faq unanswered – questions I passed on that have no entry yet\n"
                "• /retrain – train the model on the current entries")
FAQ_USAGE = "I don't know “/faq {sub}”. Use /faq add, /faq list, /faq remove &lt;id&gt; or /faq unanswered."
FAQ_FILE_NOT_UTF8 = "I couldn't read {name}: save it as UTF-8 text (CSV or YAML) and send it again."
FAQ_FILE_TYPE = ("I can import FAQ files ending in .csv, .yaml or .yml; “{name}” is none of them. "
                 "Send /faq to see the formats.")
FAQ_FILE_TOO_BIG = "That file is too big for a FAQ (over 2 MB). Split it, or send it as CSV."
FAQ_FILE_PROBLEMS = "I didn't import {name}: {n} problem(s), nothing was changed.\n{problems}{more}"
FAQ_FILE_MORE = "\n… and {n} more."
FAQ_IMPORTED = ("✅ Imported {entries} answers with {questions} questions ({new_entries} new answers, "
                "{new_questions} new questions). Train the FAQ to start using them.")
FAQ_ADD_QUESTION = ("New FAQ entry. Send me the question followers ask (several wordings: one per line). "
                    "/cancel stops.")
FAQ_ANSWER_TOO_LONG = ("That answer is {n} characters long (as Telegram counts them: an emoji is often 2) and a "
                       "Telegram message holds {limit}. Shorten it (or link to a longer text) and send it again.")
FAQ_ANSWER_EMPTY = "The answer is empty: write the answer followers should get."
FAQ_ANSWER_IN_FILE = "the answer to “{question}”: {problem}"
FAQ_ENTRY_GONE = "That FAQ entry is gone."
FAQ_ADD_ANSWER = "Got {n} question(s). Now send me the answer, exactly as I should give it."
FAQ_ADDED = ("✅ Saved as entry {id} with {questions} question(s) ({new} new). You have {total} entries. "
             "Train the FAQ to start using it.")
FAQ_CANCELLED = "Cancelled."
FAQ_NOTHING_TO_CANCEL = "Nothing to cancel."
FAQ_EMPTY = "Your FAQ has no entries yet. Send me a CSV or YAML file, or use /faq add."
FAQ_LIST_HEADER = "<b>FAQ entries</b> ({n}; tap ✖ to remove one):"
FAQ_LIST_LINE = "• <code>{id}</code> “{question}” ({n} questions) → {answer}"
FAQ_LIST_MORE = "… and {n} more."
FAQ_REMOVE_USAGE = "Usage: /faq remove &lt;id&gt; (the ids are in /faq list)."
FAQ_REMOVE_UNKNOWN = "There is no entry {id}. /faq list shows the ids."
FAQ_REMOVED = "Removed entry {id}; {total} entries left. Train the FAQ so I stop using it."
FAQ_UNANSWERED_NONE = "No passed-on questions without an FAQ entry. 🎉"
FAQ_UNANSWERED_HEADER = ("<b>Questions I passed on that have no FAQ entry</b> (answer the open ones by replying "
                         "to my note; /faq add makes an entry):")
FAQ_UNANSWERED_LINE = "• #{id} ({status}) {question}"
RETRAIN_NO_ENTRIES = "There is nothing to train yet: send me a CSV or YAML file, or use /faq add."
UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."

# --- setup and security -----------------------------------------------------------------------
WEBHOOK_SECRET_HOWTO = ("Put it in the environment as {env}=<secret> (or [telegram] webhook_secret); "
                        "the bot hands it to Telegram with setWebhook.")
HINT_CREATOR_IDS = ("[creator] user_ids is empty: nobody can use creator commands. Your numeric id: message "
                    "@userinfobot (it replies with your id) and put it here, e.g. user_ids = [123456789].")
HINT_CHANNEL_ID = ("[channel] id is 0: no channel is chosen yet. Add the bot to your channel as an administrator "
                   "yourself: it offers you (in your private chat) to use it, or put the channel's id (-100…, "
                   "shown by /setup) here.")
HINT_GROUP_ID = ("[channel] discussion_group_id is 0: no discussion group is chosen yet. Add the bot to the "
                 "channel's linked group yourself: it offers to use it, or put the group's id here.")

DEMO_DB_NOT_DEMO = ("{path} exists and is not a demo database, so `creatorbot demo --db` leaves it as it is. "
                    "Give --db a new file name (or the path of an earlier demo database), or move that file away.")

# --- inboxes: channel direct messages, the creator's Business chats, drafts -------------------------
INBOX_LABELS = {"bot": "bot chat", "channel_dm": "channel direct messages", "business": "your chats (Business)"}
INBOX_TAGS = {"bot": "🤖", "channel_dm": "📢", "business": "💼"}
DRAFT_TO_CREATOR = (
    "📝 <b>Draft for {name}</b> (#{id}, {inbox}):\n{question}\n\n"
    "<b>Suggested answer:</b>\n{answer}\n\n<i>Nothing was sent. Send it, edit it, or skip.</i>"
)
DRAFT_NO_SUGGESTION = (
    "📝 <b>Question for you from {name}</b> (#{id}, {inbox}, {reason}):\n{question}\n\n"
    "<i>Nothing was sent. Edit to write the answer, or skip.</i>"
)
HANDOFF_FROM_INBOX = "<i>Came in via {inbox}.</i>"
DRAFT_SEND_BUTTON = "✅ Send"
DRAFT_EDIT_BUTTON = "✏️ Edit"
DRAFT_SKIP_BUTTON = "⏭ Skip"
DRAFT_SENT = "✅ Sent. The question is now an example of that answer."
DRAFT_SENT_PENDING = "✅ Sent. The question waits for review before I learn from it."
DRAFT_EDIT_PROMPT = "✏️ Write the answer for #{id} (your next message goes to {name}; /cancel stops)."
DRAFT_EDIT_REPLY = "✏️ Reply to the draft #{id} with your answer; it goes to {name}."
DRAFT_SKIPPED = "⏭ Skipped: nothing was sent."
DRAFT_DONE = "That draft is already {status}."
DRAFT_NO_SUGGESTION_TOAST = "There is no suggested answer: use Edit."
NEVER_ANSWER_BUTTON = "🚫 Never answer here"
NEVER_ANSWER_DONE = "🚫 I won't answer in that chat any more (/inbox chats lists the chats I leave to you)."
FORGET_PERSON_BUTTON = "🗑 Forget this person"
FORGET_EXPORTS_ELSEWHERE = ("🗑 Someone was forgotten. Exports written with <code>creatorbot export --out</code> "
                            "outside the data folder may still hold what they wrote; delete them by hand "
                            "(or export again):\n{paths}")
FORGET_PERSON_DONE = "🗑 Forgotten: everything stored about that person is gone ({rows} rows)."
INBOX_HEADER = "📥 <b>Your inbox</b> ({n} waiting, newest first):"
INBOX_EMPTY = "📥 Nothing waiting: every question from every inbox is answered."
INBOX_LINE = "{tag} #{id} <b>{kind}</b> · {name}: {question}"
INBOX_MODES = (
    "<b>Modes</b> (auto: answer when confident · draft: you approve every answer · off):\n"
    "🤖 bot chat: <b>{bot}</b>\n📢 channel direct messages: <b>{channel_dm}</b>\n"
    "💼 your chats (Business): <b>{business}</b>\n"
    "<i>/inbox mode business auto|draft|off changes one.</i>"
)
INBOX_MODE_USAGE = ("Use /inbox mode &lt;bot|channel_dm|business&gt; &lt;auto|draft|off&gt;, "
                    "e.g. /inbox mode business draft.")
INBOX_MODE_SET = "{inbox}: <b>{mode}</b> from now on."
INBOX_USAGE = "Use /inbox (the queue), /inbox mode …, /inbox chats, or /inbox answer &lt;chat id&gt; to undo “never answer here”."
INBOX_EXCLUDED_HEADER = "🚫 Chats I never answer in:"
INBOX_EXCLUDED_NONE = "There are no chats I leave to you."
INBOX_CHAT_RESTORED = "I answer in that chat again."
INBOX_CHAT_UNKNOWN = "No such excluded chat."
BUSINESS_CONNECTED = ("💼 Connected to your account. I read your chats and, in {mode} mode, {what}. "
                      "I never answer a chat you wrote in within {hours:g} hours.")
BUSINESS_CONNECTED_NO_REPLY = ("💼 Connected, but without the right to reply: I only read your chats. Allow "
                               "“Reply to messages” in Telegram Business → Chatbots to let me answer.")
BUSINESS_DISCONNECTED = "💼 Your account is disconnected: I no longer read or answer your chats."
BUSINESS_WHAT = {"auto": "answer what I'm sure of and send you the rest",
                 "draft": "send you a draft of each answer to approve",
                 "off": "answer nothing"}
REPORT_BY_INBOX = "Questions by inbox: {inboxes}"
INBOX_CLOSED = ("⚠️ Not sent: the bot may not answer in your own chats right now (the Business connection is off "
                "or may not reply). Send it yourself, or allow “Reply to messages” again.")

# --- what the audience is asking (/asks, the weekly report, /suggest) ---------------------------
ASKS_HEADER = "<b>What your audience is asking</b> ({start} – {end}, {n} follower questions)"
ASKS_THEME = "{rank}. “{label}” — <b>{askers} followers</b> asked ({questions} questions){change}"
ASKS_DETAIL = "    {coverage}\n    → {action}"
ASKS_NEW = ", new this week"
ASKS_SAME = ", about as many as the week before ({before})"
ASKS_UP = ", up from {before} the week before"
ASKS_DOWN = ", down from {before} the week before"
ASKS_COVERAGE = "Your FAQ answered {faq:.0f} % of it; {handed:.0f} % was handed off to you."
ASKS_ACTIONS = {"add_faq": "add an FAQ answer (tap below)", "post": "make a post about it"}
ASKS_ACTION_POST_TAGS = "make a post about it (its askers engage most with {tags})"
ASKS_GONE = "No longer asked: “{label}” ({before} followers the week before)"
ASKS_NONE = ("{n} follower questions this week, but no theme yet: a theme needs at least 3 different followers "
             "asking about the same thing.")
ASKS_FAQ_BUTTON = "➕ FAQ answer for {rank}: {keyword}"
ASKS_WORKING = "Grouping your followers' questions of the last 7 days…"
ASKS_FAILED = "⚠️ I couldn't group the questions just now: {error}"
ASKS_SUGGEST = "\n<b>Ideas from your followers' questions</b> (/asks for more):"
ASKS_SUGGEST_LINE = "• “{label}” — {askers} followers asked{tags}"
ASKS_SUGGEST_TAGS = "; they engage most with {tags}"
ASKS_REPORT_HEADER = "\n<b>What your audience is asking</b> (as of {when}):"
FAQ_FROM_THEME = ("New FAQ entry for the question theme “{label}”. I'll use these {n} question(s) your followers "
                  "asked:\n{questions}\nNow send me the answer, exactly as I should give it. /cancel stops.")
FAQ_FROM_THEME_GONE = "That question theme is gone (its questions were deleted). Send /asks for the current ones."

# --- a surge, explained, with a drafted reply ------------------------------------------------------
SURGE_THEMES_HEADER = "<b>What the negative comments are about:</b>"
SURGE_THEME = "• <b>{keyword}</b>: {comments} comments from {commenters} followers, e.g. “{example}”"
SURGE_UNTHEMED = "• {n} more about other things"
SURGE_WHO = "<b>Who</b>: new followers (first seen in the last {days} days): {new}; long-time followers: {old}."
SURGE_DRAFT = ("✍️ <b>A drafted reply</b> — nothing is posted until you press Send or Pin:\n\n{draft}\n\n"
               "<i>Edit it with /respond your text.</i>")
SURGE_SEND_BUTTON = "💬 Send as comment under the post"
SURGE_PIN_BUTTON = "📌 Pin as channel post"
SURGE_EDIT_BUTTON = "✏️ Edit"
SURGE_DISMISS_BUTTON = "✖ Dismiss"
SURGE_EDIT = ("Copy the draft, change it and send it back as <code>/respond your text</code>:\n\n"
              "<code>{draft}</code>")
SURGE_EDIT_TOAST = "Send /respond with your version."
SURGE_DISMISSED = "Dismissed: nothing was posted."
SURGE_SENT = "💬 Your reply is on its way to the comments under the post."
SURGE_PINNED = "📌 Your reply is on its way to the channel; I'll pin it."
SURGE_SENT_TOAST = "On its way."
SURGE_GONE = "That draft is gone."
SURGE_ALREADY = "That draft is already {status}."
SURGE_NO_THREAD = "I can't comment under that post: it has no discussion thread I know of. Pin it instead?"
SURGE_NO_CHANNEL = "No channel is set up, so I can't post there."
SURGE_RESPOND_NONE = "There is no drafted reply waiting. One comes with the next surge alert."
SURGE_RESPOND_USAGE = "Usage: /respond your text — it replaces the drafted reply, which I show again with its buttons."
SURGE_FOLLOW_UP = "🌤 <b>After the surge of {when}</b> (post: {post}): {summary}"

# --- the weekly plan (/plan) ----------------------------------------------------------------------
PLAN_NOTES = {  # recsys.plan.NOTES in the bot's words
    "never_posted": "#{tag}: never posted yet, a first try",
    "few_posts": "#{tag}: only {posts} post{s}, try it once more",
    "rule": "#{tag}: your rule '{rule}'",
    "ranked": "#{tag}: ranked {rank} of the {of} topics in this plan",
}
PLAN_SUMMARIES = {  # recsys.plan.SUMMARIES in the bot's words
    "too_few": ("{n} post{s} followed the plan: too few to judge against the channel's usual "
                "(at least {need} are needed)."),
    "better": ("The plan's {n} posts got {mean:.1f} interactions per post, {ratio:.2f}× the channel's usual "
               "{usual:.1f} (95 % interval {low:.2f}–{high:.2f}×): better than usual."),
    "worse": ("The plan's {n} posts got {mean:.1f} interactions per post, {ratio:.2f}× the channel's usual "
              "{usual:.1f} (95 % interval {low:.2f}–{high:.2f}×): worse than usual."),
    "unclear": ("The plan's {n} posts got {mean:.1f} interactions per post, {ratio:.2f}× the channel's usual "
                "{usual:.1f} (95 % interval {low:.2f}–{high:.2f}×): not clearly different from usual yet."),
}
PLAN_LAST = ("<b>How your last plan did</b> ({start} – {end}{so_far}): {matched} of {planned} planned posts were "
             "published with their tag within 3 hours of their slot. {summary}")
PLAN_SO_FAR = ", so far"
PLAN_HEADER = "<b>Your plan for {start} – {end}</b> ({tz}; your tag ranking × your audience's best hours):"
PLAN_SLOT = "• {when} — {mark}{note}"
PLAN_EXPLORE_MARK = "🧪 "
PLAN_UNCERTAIN_MARK = "❔ "
PLAN_EMPTY = "Nothing to plan yet: I need channel posts with #hashtags first."
PLAN_UNCERTAIN = ("❔ Uncertain (fewer than {n} posts so far, so how they do is a guess; the plan tries them to "
                  "find out): {tags}")
PLAN_EXPLORE = "🧪 {share:.0f} % of the slots explore under-tried topics."
PLAN_RULES = "Your rules: {rules}. Change them with /plan rules …"
PLAN_NO_RULES = ("No rules yet. Set some, e.g. <code>/plan rules never on Sundays; at most 1 post a day; "
                 "at least one #business a week</code>")
PLAN_UNMET = "⚠️ Could not keep: {unmet}"
PLAN_FOOTER = ("<i>Post with the slot's hashtag within {hours} hours of it and I'll count it as following the plan; "
               "the next /plan says how it did.</i>")
PLAN_WORKING = "Planning your week…"
PLAN_FAILED = "⚠️ I couldn't plan the week just now: {error}"
PLAN_RULES_NOW = "Your plan rules: {rules}"
PLAN_RULES_NONE = ("No plan rules. Set them with e.g. <code>/plan rules never on Sundays; at most 1 post a day; "
                   "at least one #business a week</code> (<code>/plan rules off</code> clears them).")
PLAN_RULES_SET = "✅ Plan rules saved: {rules}. /plan proposes a week that keeps them."
PLAN_RULES_CLEARED = "✅ Plan rules cleared."
PLAN_RULES_BAD = "I didn't save the rules: {error}"

CREATOR_HELP += (  # issue 23: appended, so the list above merges cleanly
    "/asks – what your audience is asking, grouped into themes\n"
    "/plan – next week's posting plan and how the last one did; /plan rules never on Sundays; …\n"
    "/respond &lt;text&gt; – your version of the reply drafted under a surge alert\n"
)
SURGE_DRAFTS = {  # nlp.surge.DRAFTS in the bot's words: {topics} is the top themes' keywords
    "en": {"text": ("Thank you all for telling me what you think about {topics}. I read every comment, I hear you, "
                    "and I'm looking into it. I'll come back with an update soon."),
           "fallback": "my latest post", "and": " and ", "comma": ", "},
    "zh": {"text": "谢谢大家关于{topics}的留言，每一条我都认真看了。我听到了大家的意见，正在想办法改进，很快会给大家一个交代。",
           "fallback": "最近的内容", "and": "和", "comma": "、"},
}
SURGE_MOOD = {  # nlp.surge.MOOD in the bot's words
    "too_few": "Only {n} comment{s} since: too few to tell whether the mood recovered.",
    "recovered": ("The mood recovered: {share:.0%} of the {n} comments since were negative, "
                  "against the usual {usual:.0%}."),
    "not_recovered": ("The mood has not recovered yet: {share:.0%} of the {n} comments since were negative, "
                      "against the usual {usual:.0%}."),
}
