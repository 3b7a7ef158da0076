"""`creatorbot demo --serve` end to end with the real models (slow): the transcript, then the chat
page and the dashboard in Chromium (when it is installed), then Ctrl-C."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_demo_prints_the_transcript_serves_both_pages_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    out, log = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as sink, log.open("w") as errors:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--db", str(db), "--serve", "--port", "0"],
                                stdout=sink, stderr=errors, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 900
        while "Ctrl-C stops." not in out.read_text() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(1)
        text = out.read_text()
        assert "Ctrl-C stops." in text, text[-3000:]
        for expected in ("== The channel ==", "bot → Ana: Hi Ana!", "I shoot with a Sony A7 IV",
                         "bot → 李雷: 航拍用的是大疆", "Negative comments are surging", "⏰ Reminder: post the sunrise",
                         "💬 The creator answered your question", "📊 Week report",
                         "== 8 weeks of channel history", "as in /besttime): Wed 19:00",
                         "== The channel's direct messages ==", "bot → Dana (channel direct messages): My tripod",
                         "📝 Draft for Eli", "bot → Eli, as Maya in her own chat (Business): I shoot with",
                         "bot → Finn, as Maya in her own chat (Business): Sure, with a credit",
                         "What your audience is asking (", "New FAQ entry for the question theme",
                         "What the negative comments are about:", "A drafted reply", "bot → the comments: Thank you",
                         "After the surge of", "How your last plan did", "Your plan for"):
            assert expected in text, expected
        themes = text[text.index("What the negative comments are about:"):].splitlines()
        assert themes[1].strip().startswith("• price:"), themes[:3]  # the complaint theme comes first
        assert "5 of 6 planned posts were published" in text  # last week's plan, recognised
        best = text[text.index("Best times to post"):].splitlines()[1]
        assert best.strip().startswith("• Wed") and " 19:00 " in best, best  # the planted slot
        chat_url = re.search(r"chat with the bot.*?: (http://\S+)", text)
        dash_url = re.search(r"dashboard \(signed in as Maya\): (http://\S+)", text)
        assert chat_url and dash_url
        if shutil.which(CHROMIUM):
            _drive(chat_url.group(1), dash_url.group(1))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    err = log.read_text()
    assert proc.returncode == 0, err[-3000:]
    assert "was missed by" not in err  # APScheduler runs a late job instead of warning
    assert db.exists() and (tmp_path / "report-week.png").read_bytes()[:4] == b"\x89PNG"


def _drive(chat_url: str, dash_url: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 430, "height": 900})
        context.set_default_timeout(120_000)
        page = context.new_page()
        page.goto(chat_url + "?as=101")
        page.wait_for_selector("body[data-ready=yes] #log[data-chat='101']")
        assert "Sony A7 IV" in page.inner_text("#log")  # the scripted conversation is there
        page.fill("#text", "Which tripod do you use?")
        page.click("#send button")
        page.wait_for_selector("#log .msg.bot:has-text('Peak Design')")
        page.goto(chat_url + "?as=104&to=channel")  # a follower in the channel's direct messages
        page.wait_for_selector("body[data-ready=yes] #log[data-chat='104'][data-to=channel]")
        page.fill("#text", "Which camera do you use?")
        page.click("#send button")
        page.wait_for_selector("#log .msg.bot:has-text('Sony A7 IV')")
        page.goto(chat_url + "?as=105&to=business")  # a follower writing to Maya's own account: a draft
        page.wait_for_selector("body[data-ready=yes] #log[data-chat='105'][data-to=business]")
        page.fill("#text", "Which tripod do you use?")
        page.click("#send button")
        page.wait_for_selector("#log .msg.user:has-text('Which tripod do you use?')")
        page.goto(dash_url)
        page.wait_for_selector("main[data-loaded=overview]")
        assert page.locator("main svg.chart").count() == 3
        page.click("#tabs a[data-page=inbox]")
        page.wait_for_selector("main[data-loaded=inbox][aria-busy=false] li.draft:has-text('Which tripod')")
        page.click("#tabs a[data-page=besttime]")
        page.wait_for_selector("main[data-loaded=besttime][aria-busy=false]")
        assert page.locator("ol.slots li").first.inner_text().startswith("Wed")
        page.click("#tabs a[data-page=asks]")
        page.wait_for_selector("main[data-loaded=asks][aria-busy=false]")
        assert page.locator("main .theme").count() >= 3 and "followers" in page.inner_text("main")
        page.click("#tabs a[data-page=plan]")
        page.wait_for_selector("main[data-loaded=plan][aria-busy=false]")
        assert "How your last plan did" in page.inner_text("main") and page.locator("ol.slots li").count() == 5
        browser.close()
