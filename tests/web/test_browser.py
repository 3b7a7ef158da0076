"""The dashboard and the sandbox chat page in a real browser (Playwright driving the system's Chromium).

One world for the module: the sandbox, the real bot (fake models), eight weeks of demo history and
the `demo --serve` web site, on an event loop in a thread; the tests drive Chromium with Playwright's
sync API. Skips when Playwright or Chromium is missing (`.ci/run` installs Debian's `chromium`).
Set CREATORBOT_SCREENSHOTS=docs to refresh the screenshots in docs/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.demo.history import TIMEZONE, play_history, store_follower_counts
from bot.demo.runner import CREATOR_ID, BrowserSandbox
from bot.faq.training import import_and_train
from bot.store.models import FaqEntryRow, utcnow
from bot.web.auth import sign_init_data
from bot.web.views import PAGES, TITLES
from botapi_sandbox.server import BotApiSandbox
from nlp.faq_data import load_faq
from tests.bot_harness import Harness
from tests.conftest import settings_for
from tests.fakes import KeywordSentiment, fake_encoders

CHROMIUM = os.environ.get("CREATORBOT_CHROMIUM", "/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "bot" / "demo_data" / "faq.yaml"
HOSTILE = '<img src=x onerror="window.__pwned=1"><b>bold?</b> & <script>window.__pwned=2</script>'
UNKNOWN = "Do you have a discount code for the Berlin marathon?"


class World:
    """The bot and the browser sandbox on their own event loop."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.base = ""

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 300) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        from bot.app import create_runtime

        self.sandbox = sandbox = BotApiSandbox()
        await sandbox.start()
        self.site = BrowserSandbox(sandbox, 0)
        url = await self.site.bind()
        settings = settings_for(sandbox, f"sqlite:///{self.tmp / 'bot.db'}", self.tmp / "data",
                                schedule={"timezone": TIMEZONE}, web={"public_url": url},
                                sentiment={"min_comments": 6})
        await asyncio.to_thread(import_and_train, settings, load_faq(SAMPLE), fake_encoders, 0.95)
        history = play_history(sandbox, utcnow())
        self.runtime = create_runtime(settings, encoder_factory=fake_encoders, classifier_factory=KeywordSentiment)
        await self.runtime.start()
        self.bot = Harness(self.runtime, sandbox)
        await self.bot.settle(300)
        with self.bot.sessions() as s, s.begin():
            store_follower_counts(s, settings.channel.id, history)
        ana, ben = sandbox.user(101, "Ana"), sandbox.user(102, "Ben")
        sandbox.connect_business(sandbox.user(CREATOR_ID, "Maya"))  # Maya's own chats reach the bot (draft mode)
        _, forward = sandbox.channel_post("Big news: the course is paid-only now #business")
        sandbox.comment(forward, ana, HOSTILE)
        for i, text in enumerate(("I hate paywalls", "Terrible decision", "Worst news today", "I hate this",
                                  "So disappointed", "Awful, unfollowing")):
            sandbox.comment(forward, sandbox.user(600 + i, f"Fan{i}"), text)
        sandbox.comment(forward, ben, "Congrats, love it")
        chloe = sandbox.user(103, "Chloé")
        sandbox.send_private(chloe, "Which camera do you use?")  # answered: the questions chart has data
        await self.bot.settle()
        self.base = await self.site.start(self.runtime)

    async def _stop(self) -> None:
        await self.site.stop()
        await self.runtime.stop()
        await self.sandbox.stop()

    def __enter__(self) -> World:
        self.thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with World(tmp_path_factory.mktemp("browser")) as w:
        yield w


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 430, "height": 900}, device_scale_factor=1)
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


def open_dashboard(page: Any, world: World) -> None:
    page.goto(f"{world.base}/sandbox/open?user_id={CREATOR_ID}&url=/dashboard/")
    page.wait_for_selector("main[data-loaded=overview]")


def show(page: Any, name: str) -> None:
    """Open a tab (tapping the open one reloads it) and wait until the page is there."""
    page.evaluate("document.getElementById('page').dataset.loaded = ''")
    page.click(f"#tabs a[data-page={name}]")
    page.wait_for_selector(f"main[data-loaded={name}][aria-busy=false]")


def screenshots() -> Path | None:
    return ROOT / "docs" if os.environ.get("CREATORBOT_SCREENSHOTS") == "docs" else None


def test_every_dashboard_page_renders_its_charts(page: Any, world: World) -> None:
    open_dashboard(page, world)
    for name in PAGES:
        show(page, name)
        assert page.locator("main h1").first.inner_text().startswith(TITLES[name].split()[0])
        charts = page.locator("main svg.chart")
        if name != "reminders":
            assert charts.count() >= 1, name
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box and box["width"] > 300 and box["height"] > 100, (name, box)
                assert charts.nth(i).locator("path, rect, image, use").count() > 10
        if (docs := screenshots()) is not None:
            height = min(page.evaluate("document.body.scrollHeight"), 1600)
            page.screenshot(path=str(docs / f"dashboard-{name}.png"), full_page=True,
                            clip={"x": 0, "y": 0, "width": 430, "height": height})
    show(page, "besttime")
    assert "Wed" in page.locator("ol.slots li").first.inner_text()
    assert "19:00" in page.locator("ol.slots li").first.inner_text()


def test_forged_or_stale_init_data_gets_401(page: Any, world: World) -> None:
    token = world.sandbox.token
    for init in (sign_init_data({"id": CREATOR_ID, "first_name": "Maya"}, "999:FORGED"),
                 sign_init_data({"id": CREATOR_ID, "first_name": "Maya"}, token, auth_date=int(time.time()) - 3 * 86400),
                 sign_init_data({"id": 101, "first_name": "Ana"}, token), ""):
        resp = page.request.get(f"{world.base}/dashboard/api/page/overview", headers={"Authorization": f"tma {init}"})
        assert resp.status == 401
    page.goto(f"{world.base}/dashboard/#tgWebAppData=" + sign_init_data({"id": CREATOR_ID}, "999:FORGED"))
    page.wait_for_selector("main p.error")
    assert "Not authorised" in page.inner_text("main")
    assert page.locator("main svg").count() == 0


def test_a_followers_html_shows_as_text(page: Any, world: World) -> None:
    open_dashboard(page, world)
    show(page, "sentiment")
    shown = page.locator("main .text", has_text="<img src=x")
    assert shown.count() >= 1
    assert HOSTILE in shown.first.inner_text()
    assert page.locator("main img, main script, main b:text('bold?')").count() == 0
    assert page.evaluate("window.__pwned") is None
    # relabel in place: the surge's comments are listed with their labels
    surge = page.locator("section.card").first
    assert "negative" in surge.inner_text()
    surge.locator("form.relabel").first.locator("button[value=neutral]").click()
    page.wait_for_selector("main[data-loaded=sentiment][aria-busy=false]")


def chat(page: Any, world: World, user_id: int) -> None:
    page.goto(f"{world.base}/sandbox/?as={user_id}")
    page.wait_for_selector(f"body[data-ready=yes] #log[data-chat='{user_id}']")


def reply(page: Any, text: str) -> Any:
    """Wait for a bot message containing `text` in the chat page (the transcript in the failure)."""
    selector = f"#log .msg.bot:has-text({text!r})"
    try:
        page.wait_for_selector(selector, timeout=60_000)
    except sync_api.TimeoutError as exc:
        raise AssertionError(f"no bot message with {text!r}; the chat shows:\n{page.inner_text('#log')}") from exc
    return page.locator(selector).last


def say(page: Any, text: str) -> None:
    page.fill("#text", text)
    page.click("#send button")


def test_faq_edit_and_retrain_from_the_dashboard_change_the_bots_answer(browser: Any, world: World) -> None:
    context = browser.new_context(viewport={"width": 430, "height": 900})
    context.set_default_timeout(60_000)
    follower, dash = context.new_page(), context.new_page()
    chat(follower, world, 101)
    say(follower, "Which tripod do you use?")
    reply(follower, "Peak Design")
    follower.locator("#log .msg.bot:has-text('Peak Design') button", has_text="👍").click()
    follower.wait_for_function("!document.querySelector('#log .msg.bot button')")  # buttons removed

    open_dashboard(dash, world)
    show(dash, "faq")
    entry = dash.locator("section#entry-tripod")
    entry.locator("textarea").fill("These days a Gitzo Traveler: 1.2 kg, fits in the side pocket.")
    entry.locator("button", has_text="Save answer").click()
    dash.wait_for_selector("section#entry-tripod textarea:text('Gitzo Traveler')")
    live_before = dash.locator("tr.live td").first.inner_text()
    dash.click("button:has-text('Retrain now')")
    deadline = time.monotonic() + 120
    while dash.locator("tr.live td").first.inner_text() == live_before and time.monotonic() < deadline:
        time.sleep(0.5)
        show(dash, "faq")
    assert dash.locator("tr.live td").first.inner_text() != live_before
    if (docs := screenshots()) is not None:
        dash.screenshot(path=str(docs / "dashboard-faq-after-retrain.png"))

    say(follower, "Which tripod do you use?")
    reply(follower, "Gitzo Traveler")
    context.close()


def test_chat_page_handoff_relay_and_the_dashboard_button(browser: Any, world: World) -> None:
    context = browser.new_context(viewport={"width": 430, "height": 900})
    context.set_default_timeout(60_000)
    ben, maya = context.new_page(), context.new_page()
    chat(ben, world, 102)
    say(ben, UNKNOWN)
    reply(ben, "passed it on")
    chat(maya, world, CREATOR_ID)
    note = maya.locator("#log .msg.bot", has_text="Question from Ben").last
    note.wait_for()
    note.locator(".reply").click()
    say(maya, "No code for that one, sorry — but the shop has 10 % off this week.")
    reply(maya, "On its way")
    reply(ben, "The creator answered")
    assert "10 % off" in ben.inner_text("#log")
    say(ben, "<b>thanks</b> & bye")
    ben.wait_for_selector("#log .msg.user:has-text('<b>thanks</b> & bye')")
    assert ben.locator("#log b").count() == 0

    say(maya, "/dashboard")
    button = maya.locator("#log .msg.bot button", has_text="Open dashboard").last
    button.wait_for()
    with context.expect_page() as opened:
        button.click()
    dash = opened.value
    dash.wait_for_selector("main[data-loaded=overview]")
    assert dash.locator("main svg.chart").count() >= 1
    if (docs := screenshots()) is not None:
        maya.screenshot(path=str(docs / "sandbox-chat-creator.png"))
    context.close()


def test_a_draft_is_approved_on_the_dashboards_inbox_page(browser: Any, world: World) -> None:
    """A follower writes to the creator's own account (Business, draft mode): nothing reaches them until the
    creator sends the draft from the Inbox page."""
    sandbox = world.sandbox
    eli = sandbox.user(105, "Eli")
    connection = sandbox.business_connection_of(CREATOR_ID)
    assert connection is not None
    sandbox.business_message(connection, eli, "Which tripod do you use?")
    world.run(world.bot.settle())
    assert not sandbox.business_sent.get(105)
    context = browser.new_context(viewport={"width": 430, "height": 900})
    context.set_default_timeout(60_000)
    dash = context.new_page()
    open_dashboard(dash, world)
    show(dash, "inbox")
    item = dash.locator("main li.draft", has_text="Which tripod do you use?")
    assert "your chats (Business)" in item.inner_text() and "Eli" in item.inner_text()
    with world.bot.sessions() as s:  # the tripod answer as it is now (another test may have edited it)
        tripod = s.get(FaqEntryRow, "tripod")
        assert tripod is not None
        answer = tripod.answer
    assert answer in item.locator(".suggestion").inner_text()
    if (docs := screenshots()) is not None:
        dash.screenshot(path=str(docs / "dashboard-inbox.png"), full_page=True)
    item.locator("form[data-action='inbox/send'] button").click()
    dash.wait_for_selector("main[data-loaded=inbox][aria-busy=false]")
    deadline = time.monotonic() + 30
    while not sandbox.business_sent.get(105) and time.monotonic() < deadline:
        time.sleep(0.2)
    (sent,) = sandbox.business_sent[105]
    assert sent["text"] == answer and sent["business_connection_id"] == connection["id"]
    assert dash.locator("main li.draft", has_text="Which tripod do you use?").count() == 0
    context.close()
