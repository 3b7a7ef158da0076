"""Telegram Mini App authentication: validate (and, for the demo, sign) `initData`.

Telegram signs the launch parameters with a key derived from the bot token:
secret = HMAC-SHA256(key="WebAppData", msg=bot_token), hash = hex(HMAC-SHA256(key=secret,
msg=data_check_string)), where data_check_string is every field but `hash`, sorted by key, as
"key=value" lines. https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode


class AuthError(Exception):
    """initData missing, forged, stale, or not a creator's."""


@dataclass(frozen=True)
class WebAppUser:
    id: int
    first_name: str
    auth_date: int


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def validate_init_data(init_data: str, bot_token: str, max_age_s: float, now: float | None = None) -> WebAppUser:
    """The user of a valid, fresh `initData` string; AuthError otherwise."""
    if not init_data:
        raise AuthError("no initData: open the dashboard from the bot's button in Telegram")
    try:
        fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    except ValueError as exc:
        raise AuthError("initData is not a query string") from exc
    given = fields.get("hash", "")
    expected = hmac.new(_secret(bot_token), _check_string(fields).encode(), hashlib.sha256).hexdigest()
    # bytes, not str: compare_digest raises TypeError on a non-ASCII str (a 500 instead of a 401)
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode()):
        raise AuthError("initData signature does not match")
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError, OverflowError) as exc:
        raise AuthError("initData lacks auth_date or user") from exc
    age = (time.time() if now is None else now) - auth_date
    if age > max_age_s or age < -60:
        raise AuthError("initData is stale: reopen the dashboard from Telegram")
    return WebAppUser(user_id, str(user.get("first_name", "")) if isinstance(user, dict) else "", auth_date)


def sign_init_data(user: dict[str, object], bot_token: str, auth_date: int | None = None) -> str:
    """initData as Telegram would send it (the offline demo and tests play Telegram's part)."""
    fields = {"auth_date": str(int(time.time()) if auth_date is None else auth_date),
              "query_id": "sandbox", "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False)}
    fields["hash"] = hmac.new(_secret(bot_token), _check_string(fields).encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)
