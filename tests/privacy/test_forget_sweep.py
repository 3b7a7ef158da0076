"""The /forgetme sweep (issue 31, Must show): one follower's unique words planted through every path that
stores follower text, through the real application and the sandbox Bot API, then /forgetme: none of the
words, and not their id, is left in any table or any file under the data folder.

The paths: the bot's chat (a handoff the creator answers, learned), the channel's direct messages, a
Business chat (a draft and the creator's button press), comments (a question theme, a negative surge with
its alert and drafted reply), /asks and its "add an FAQ answer" (saved, and one left open), /suggest, the
weekly report, the daily export and one written to the data folder, and a trained model version. Every
table is read whole (`_values`), so a table added later is swept too; tests/privacy/test_provenance.py
fails first when such a table does not say whose words it holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import texts
from bot.store.models import FaqExample, Handoff
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for
from tests.inbox.conftest import prepare
from tests.privacy.test_forgetme import _blob, _values, retrain_and_export
from tests.topics.test_asks_bot import ask_and_wait

XENA = 7320001
BOT_CHAT, CHANNEL_DM, BUSINESS, COMMENT, SURGE = "wombat9931", "quokka5521", "numbat4417", "bilby7788", "dingo2211"
MARKERS = (BOT_CHAT, CHANNEL_DM, BUSINESS, COMMENT, SURGE, "Xenaphon")
SHIPPING = ["how long does shipping take?", "is shipping free?", "what does shipping cost?"]
NEGATIVE = ["the new price is awful", "terrible price for a course", "I hate the new price", "this price is a scam",
            "worst price increase ever"]


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row}


def _everything(bot: Any, data: Path) -> tuple[str, list[tuple[str, str]]]:
    """Every value of every table as text, and every file under the data folder with its content."""
    rows = " ".join(_blob(v) for _, row in _values(bot) for v in row)
    files = [(str(p), p.read_bytes().decode("utf-8", "replace")) for p in data.rglob("*") if p.is_file()]
    return rows, files


async def test_a_followers_words_through_every_path_are_in_no_table_and_no_file_after_forgetme(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = settings_for(sandbox, sqlite_url, data, recsys={"theme_threshold": 0.8,
                                                               "theme_threshold_multilingual": 0.8},
                            sentiment={"min_comments": 6, "window_minutes": 30})
    prepare(settings)  # the sample FAQ, version 1
    maya = sandbox.user(CREATOR_ID, "Maya")
    xena = sandbox.user(XENA, "Xenaphon", username="xenaphon_x")
    others = [sandbox.user(7320100 + i, f"Other{i}") for i in range(8)]
    sandbox.enable_direct_messages()
    async with running_bot(settings, sandbox) as bot:
        services = bot.runtime.services
        connection = sandbox.connect_business(maya)
        _, post = sandbox.channel_post("My photo course: new price from today #business")
        for who in (xena, *others[:3]):
            sandbox.member(who, joined=True)
        # the bot's chat, the channel's direct messages, a Business chat: all about shipping (a theme); the
        # creator answers each handoff (learned as an example of hers) and presses Skip on her Business draft
        sandbox.send_private(xena, "/start")
        for ask in (lambda q: sandbox.send_private(xena, q), lambda q: sandbox.channel_dm(xena, q)):
            question = f"how long does shipping to {BOT_CHAT} take?" if not bot.replies_to(XENA)[1:] else \
                f"is shipping to {CHANNEL_DM} free?"
            ask(question)
            await bot.settle()
            note = next(m for m in reversed(sandbox.sent[CREATOR_ID]) if question in (m.get("text") or ""))
            sandbox.send_private(maya, "Three to five days, tracked.", reply_to=note)
            await bot.settle()
        assert bot.replies_to(XENA)[-1].endswith("Three to five days, tracked.")
        sandbox.business_message(connection, xena, f"what does shipping to {BUSINESS} cost?")
        await bot.settle()
        draft = next(m for m in sandbox.sent[CREATOR_ID] if BUSINESS in (m.get("text") or "") and m.get("reply_markup"))
        sandbox.press(maya, draft, _buttons(draft)[texts.DRAFT_SKIP_BUTTON])
        for who, question in zip(others, SHIPPING, strict=False):
            sandbox.send_private(who, question)
        # comments: a question, then a surge of negative comments, hers first (quoted in the alert)
        sandbox.comment(post, xena, f"which camera for {COMMENT} trips?")
        sandbox.comment(post, xena, f"the {SURGE} price is awful")
        for who, text in zip(others, NEGATIVE, strict=False):
            sandbox.comment(post, who, text)
        await bot.settle()
        await wait_for(lambda: any("drafted reply" in t for t in sandbox.texts_to(CREATOR_ID)), 30, "the surge")


        # /asks and its one-tap FAQ answer: saved once, and once left waiting for the answer
        reply = await ask_and_wait(sandbox, bot, maya)
        add = next(data for label, data in _buttons(reply).items() if "shipping" in label)
        sandbox.press(maya, reply, add)
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("New FAQ entry for the question theme")
        sandbox.send_private(maya, "Shipping is free in the EU and takes 3–5 days.")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("✅ Saved as entry")
        sandbox.send_private(maya, "/suggest")
        sandbox.send_private(maya, "/report week")
        await bot.settle()
        sandbox.press(maya, reply, add)  # the dialog now waits, quoting her questions
        await bot.settle()
        await retrain_and_export(sandbox, bot, maya, data)
        with bot.sessions() as s:
            learned = s.scalars(select(FaqExample.question).where(FaqExample.question.contains(BOT_CHAT))).all()
            assert learned and s.scalar(select(Handoff).where(Handoff.user_id == XENA)) is not None
        rows, files = _everything(bot, data)
        missing = [m for m in MARKERS if m not in rows]
        assert missing == [], "the test did not store these"
        # a model version holds her questions as embeddings and hashed n-grams (no text): it must go
        trained_with_her = {p.name for p in (data / "faq").glob("v*")}
        assert trained_with_her
        assert any(BOT_CHAT in content for path, content in files if "/exports/" in path)
        quoted = {m for m in MARKERS for t in bot.replies_to(CREATOR_ID) if m in t}
        assert {BOT_CHAT, CHANNEL_DM, BUSINESS, SURGE} <= quoted  # the creator-facing messages quoted her

        sandbox.send_private(xena, "/forgetme")
        await bot.settle()
        await wait_for(lambda: not services.background, 120, "the retrain without her questions")
        await bot.settle()
        assert bot.replies_to(XENA)[-1] == texts.FORGETME_DONE

        rows, files = _everything(bot, data)
        for table, row in _values(bot):
            for value in row:
                blob = _blob(value)
                assert not any(m in blob for m in MARKERS), (table, row)
                assert value != XENA and str(XENA) not in blob, (table, row)
        for path, content in files:
            assert not any(m in content for m in MARKERS) and str(XENA) not in content, path
        left = {p.name for p in (data / "faq").glob("v*")}
        assert left and not left & trained_with_her  # retrained without her; the versions with her deleted
        # the others' questions are still there: the waiting dialog kept theirs, the FAQ kept its answer
        with bot.sessions() as s:
            kept = set(s.scalars(select(FaqExample.question)))
        assert set(SHIPPING) <= kept
