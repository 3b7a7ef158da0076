"""Each creator's dashboard in a process serving several (`Deployment`): one port, maya's at
/maya/dashboard/ and luca's at /luca/dashboard/, each opened only with initData signed by its own bot's
token for one of its own creators, and each showing only its own creator's data."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from aiohttp import ClientSession

from bot.web.auth import sign_init_data
from botapi_sandbox.server import BotApiSandbox
from tests.runtime.test_many_creators import LUCA, LUCA_TOKEN, MAYA, two_creators

MAYA_USER = {"id": MAYA, "first_name": "Maya"}
LUCA_USER = {"id": LUCA, "first_name": "Luca"}
# what only one of them has: maya's FAQ (bot/demo_data/faq.yaml) and luca's (COOK_FAQ)
MAYA_ONLY = ('id="entry-tripod"', 'id="entry-camera"', "Peak Design")
LUCA_ONLY = ('id="entry-oven"', 'id="entry-knife"', "gyuto", "230 °C")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tma(user: dict[str, object], token: str) -> dict[str, str]:
    return {"Authorization": "tma " + sign_init_data(user, token, auth_date=int(time.time()))}


async def test_each_dashboard_opens_only_with_its_own_bots_init_data_and_shows_only_its_creators_data(
        sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> None:
    port = free_port()
    web = {"port": port, "public_url": f"http://127.0.0.1:{port}/dashboard/"}
    async with two_creators(sandbox, db_url, tmp_path, web=web) as two, ClientSession() as http:
        maya_token, luca_token = two.maya_bot.token, LUCA_TOKEN
        assert maya_token != luca_token
        base = f"http://127.0.0.1:{port}"

        async def get(path: str, headers: dict[str, str]) -> tuple[int, str]:
            async with http.get(base + path, headers=headers) as resp:
                return resp.status, await resp.text()

        maya_faq, luca_faq = "/maya/dashboard/api/page/faq", "/luca/dashboard/api/page/faq"
        maya_auth, luca_auth = tma(MAYA_USER, maya_token), tma(LUCA_USER, luca_token)

        # maya's initData: maya's dashboard, maya's data, none of luca's
        status, html = await get(maya_faq, maya_auth)
        assert status == 200, html
        assert all(s in html for s in MAYA_ONLY), html[:500]
        assert not any(s in html for s in LUCA_ONLY)
        # luca's initData: luca's dashboard, luca's data, none of maya's
        status, html = await get(luca_faq, luca_auth)
        assert status == 200, html
        assert all(s in html for s in LUCA_ONLY), html[:500]
        assert not any(s in html for s in MAYA_ONLY)
        # each one's initData on the other's dashboard: 401 (the signature is the other bot's)
        for path, headers in ((luca_faq, maya_auth), (maya_faq, luca_auth)):
            status, text = await get(path, headers)
            assert status == 401 and "signature" in text, (path, status, text)
            assert not any(s in text for s in (*MAYA_ONLY, *LUCA_ONLY))
        # signed by the right bot but for the other creator's account: not a creator of this bot
        for path, headers in ((luca_faq, tma(MAYA_USER, luca_token)), (maya_faq, tma(LUCA_USER, maya_token))):
            status, text = await get(path, headers)
            assert status == 401 and "not a creator" in text, (path, status, text)
        # every page, both ways
        for page in ("overview", "inbox", "faq", "asks", "reminders"):
            for name, good, bad in (("maya", maya_auth, luca_auth), ("luca", luca_auth, maya_auth)):
                assert (await get(f"/{name}/dashboard/api/page/{page}", good))[0] == 200, (name, page)
                assert (await get(f"/{name}/dashboard/api/page/{page}", bad))[0] == 401, (name, page)
        # an action with maya's initData on luca's dashboard changes nothing of luca's
        async with http.post(base + "/luca/dashboard/api/faq/entry", headers=maya_auth,
                             data={"entry_id": "oven", "answer": "Hijacked."}) as resp:
            assert resp.status == 401
        status, html = await get(luca_faq, luca_auth)
        assert "Hijacked." not in html and "230 °C" in html
        # no creator is named "default": nothing at the plain path
        assert (await get("/dashboard/api/page/faq", maya_auth))[0] == 404
        # each creator's menu button opens their own dashboard, through their own bot
        assert two.maya_bot.menu_buttons[MAYA]["web_app"]["url"] == f"{base}/maya/dashboard/"
        assert two.luca_bot.menu_buttons[LUCA]["web_app"]["url"] == f"{base}/luca/dashboard/"
        assert LUCA not in two.maya_bot.menu_buttons and MAYA not in two.luca_bot.menu_buttons
        # the shell page carries no data and is there for both
        for name in ("maya", "luca"):
            status, html = await get(f"/{name}/dashboard/", {})
            assert status == 200 and "dashboard.js" in html
