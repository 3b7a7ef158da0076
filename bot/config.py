"""TOML configuration -> frozen dataclasses.

Every key has a default, so every command runs without a config file. Errors name the key,
the bad value and the fix; unknown keys are rejected with the closest valid key suggested.
Times of day ("HH:MM") and weekdays ("mon") are parsed here, once, into fields the rest of the
bot uses (`ScheduleConfig.report_clock`, `report_weekday_index`, ...).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import difflib
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recsys.plan import RULE_FORMS, RuleError, parse_rules

TOKEN_ENV = "CREATORBOT_TOKEN"
WEBHOOK_SECRET_ENV = "CREATORBOT_WEBHOOK_SECRET"
WEBHOOK_PORT_ENV = "CREATORBOT_WEBHOOK_PORT"  # each worker of a fleet its own port, one config file
HEALTH_PORT_ENV = "CREATORBOT_HEALTH_PORT"  # likewise for /healthz and /metrics
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Telegram allows 1-256 characters of A-Za-z0-9_- in a webhook secret; we insist on 32 or more.
WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{32,256}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as config values; Monday is 0, as in datetime
DEFAULT_CREATOR = "default"  # the one creator of a config without [[creators]]
# A creator's name: it names their data folder (<data_dir>/creators/<name>) and webhook path.
CREATOR_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")


def parse_clock(value: str) -> dt.time | None:
    """A 24-hour "HH:MM" config value as a time of day (None: not one)."""
    if not _TIME_RE.match(value):
        return None
    hh, mm = value.split(":")
    return dt.time(int(hh), int(mm))


def parse_weekday(value: str) -> int | None:
    """A weekday config value ("mon" ... "sun") as 0 ... 6 (None: not one)."""
    return WEEKDAYS.index(value) if value in WEEKDAYS else None


def _parsed(section: str, key: str, value: str, parse: Any) -> Any:
    """`parse(value)`, or the ConfigError that names the key and the fix."""
    parsed = parse(value)
    if parsed is None:
        raise ConfigError(f"[{section}]", [_check_value(section, key, value) or f"[{section}] {key} = {value!r} is not valid"])
    return parsed


class ConfigError(Exception):
    """One or more problems in a config file; `problems` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the configuration:\n{lines}")


@dataclass(frozen=True)
class TelegramConfig:
    token: str = ""
    base_url: str = "https://api.telegram.org"
    mode: str = "polling"
    poll_timeout: int = 30
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = ""


@dataclass(frozen=True)
class CreatorConfig:
    user_ids: tuple[int, ...] = ()
    inbox_chat_id: int = 0


@dataclass(frozen=True)
class ChannelConfig:
    id: int = 0
    discussion_group_id: int = 0


@dataclass(frozen=True)
class DatabaseConfig:
    """PostgreSQL only, the timeouts: a database that stops answering (a partitioned network) fails
    a call within seconds instead of freezing a worker until the operating system's TCP timeout."""

    url: str = "sqlite:///creatorbot.db"
    retention_days: int = 0
    connect_timeout_seconds: int = 10  # opening a connection
    statement_timeout_seconds: float = 60.0  # one statement, on the server (0: the role's or database's own)
    keepalives_idle_seconds: int = 30  # TCP keepalives after this much silence; a dead peer is dropped soon after


@dataclass(frozen=True)
class PathsConfig:
    data_dir: str = "creatorbot-data"


@dataclass(frozen=True)
class ScheduleConfig:
    timezone: str = "UTC"
    report: str = "weekly"
    report_time: str = "09:00"
    report_weekday: str = "mon"
    member_count_time: str = "00:05"
    reminder_grace_minutes: int = 60
    report_clock: dt.time = field(init=False, repr=False, compare=False)  # report_time, local to `timezone`
    report_weekday_index: int = field(init=False, repr=False, compare=False)  # report_weekday: 0 is Monday
    member_count_clock: dt.time = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "report_clock", _parsed("schedule", "report_time", self.report_time, parse_clock))
        object.__setattr__(self, "report_weekday_index",
                           _parsed("schedule", "report_weekday", self.report_weekday, parse_weekday))
        object.__setattr__(self, "member_count_clock",
                           _parsed("schedule", "member_count_time", self.member_count_time, parse_clock))


@dataclass(frozen=True)
class LimitsConfig:
    follower_messages_per_minute: int = 12
    send_per_chat_per_second: float = 1.0
    send_per_second: float = 30.0
    send_per_group_per_minute: int = 20


@dataclass(frozen=True)
class FaqConfig:
    target_precision: float = 0.95
    min_margin: float = 0.0
    auto_accept_answers: bool = True
    retrain_time: str = "03:30"
    retrain_after_examples: int = 0  # retrain once this many new examples exist since the live version (0: off)
    burst_pending_updates: int = 20  # no automatic retrain while more stored updates than this wait
    burst_updates_per_minute: int = 60  # ... or while more updates than this arrived in the last minute
    review_time: str = "19:00"  # the daily "were these right?" list, local to [schedule] timezone
    review_size: int = 5  # answers in it at most (0: no list)
    review_band: float = 0.15  # only answers whose confidence was at most this far above the threshold
    retrain_clock: dt.time = field(init=False, repr=False, compare=False)  # retrain_time, local to [schedule] timezone
    review_clock: dt.time = field(init=False, repr=False, compare=False)  # review_time, local to [schedule] timezone

    def __post_init__(self) -> None:
        object.__setattr__(self, "retrain_clock", _parsed("faq", "retrain_time", self.retrain_time, parse_clock))
        object.__setattr__(self, "review_clock", _parsed("faq", "review_time", self.review_time, parse_clock))


@dataclass(frozen=True)
class SentimentConfig:
    window_minutes: int = 30
    min_comments: int = 8
    surge_ratio: float = 2.0
    min_negative_share: float = 0.4
    cooldown_minutes: int = 120
    follow_up_hours: float = 3.0  # after a surge alert: did the mood recover in these hours?
    dm_quiet_seconds: float = 30.0  # direct messages are classified once none came for this long...
    dm_max_wait_minutes: float = 15.0  # ...or once the oldest waited this long


@dataclass(frozen=True)
class RecsysConfig:
    weight_comment: float = 3.0
    weight_reaction: float = 1.0
    weight_dm: float = 2.0
    half_life_days: float = 30.0
    auto_reminders: bool = False
    # question themes (/asks): the cosine-distance cut per encoder; 0 uses the cut tuned for the shipped encoders
    theme_threshold: float = 0.0
    theme_threshold_multilingual: float = 0.0
    plan_rules: tuple[str, ...] = ()  # /plan's rules, e.g. "never on Sundays" (set with /plan rules ...)
    plan_explore_share: float = 0.2  # share of a plan's slots for under-tried topics


@dataclass(frozen=True)
class ModelsConfig:
    routing: str = "auto"
    multilingual_dir: str = ""
    engine: str = "onnx"
    faq_heads_mb: int = 256  # the creators' loaded FAQ heads together; the least recently used go first (0: no limit)


@dataclass(frozen=True)
class WebConfig:
    """The dashboard (a Telegram Mini App). `public_url` is the HTTPS address Telegram opens
    (ending in /dashboard/); in polling mode the bot serves it on `listen`:`port` (0: not served),
    in webhook mode on the webhook server."""

    public_url: str = ""
    listen: str = "127.0.0.1"
    port: int = 0
    auth_max_age_minutes: int = 1440


@dataclass(frozen=True)
class RuntimeConfig:
    lease_seconds: float = 30.0  # a dead worker's claimed updates and messages are taken over after this
    health_listen: str = "127.0.0.1"
    health_port: int = 0  # serve /healthz and /metrics here (0: off); never on the public webhook port


@dataclass(frozen=True)
class SmallTalkConfig:
    """Short answers in the creator's voice to greetings, thanks, goodbyes, "are you a bot?" and emoji."""

    enabled: bool = True
    greeting: str = "Hi! 👋 Ask me anything about the channel."
    greeting_zh: str = "你好！👋 有关频道的问题尽管问我。"
    thanks: str = "You're welcome! 😊"
    thanks_zh: str = "不客气！😊"
    goodbye: str = "Bye, see you in the comments! 👋"
    goodbye_zh: str = "再见，评论区见！👋"
    bot: str = ("I'm the channel's assistant bot: I answer from the creator's FAQ and pass everything else "
                "on to the creator.")
    bot_zh: str = "我是频道的助手机器人：我用创作者的常见问题回答，其他问题会转给创作者本人。"
    ack: str = "👍"
    emoji: str = "😊"


INBOX_MODES = ("auto", "draft", "off")


@dataclass(frozen=True)
class InboxConfig:
    """How the bot answers in each inbox: auto (answer when confident, hand off otherwise), draft (the
    creator approves every answer), off. `creator_active_hours`: a Business chat where the creator
    wrote within this many hours is left to them."""

    bot_chat: str = "auto"
    channel_dm: str = "auto"
    business: str = "draft"
    creator_active_hours: float = 12.0


CREATOR_TABLES = ("channel", "inbox", "schedule")  # the tables a [[creators]] entry may give for itself


@dataclass(frozen=True)
class CreatorSpec:
    """One creator of a process that serves several, each with a bot of their own (`[[creators]]`).

    `token` is resolved: the environment variable `token_env` when set, else the table's `token`.
    channel / inbox / schedule: None when the creator gives none (the top-level tables apply), else
    already merged key by key over the top-level table."""

    name: str
    token_env: str = ""
    token: str = ""
    user_ids: tuple[int, ...] = ()
    inbox_chat_id: int = 0
    channel: ChannelConfig | None = None
    inbox: InboxConfig | None = None
    schedule: ScheduleConfig | None = None
    language: str = ""  # "" or a short code such as "en", "zh"
    paused: bool = False

    @property
    def bot_id(self) -> int | None:
        """The bot's numeric id, the part of the token before ":" (None: no token, or not one)."""
        head, sep, _ = self.token.partition(":")
        return int(head) if sep and head.isascii() and head.isdigit() else None


def webhook_secret_for(secret: str, name: str) -> str:
    """Creator `name`'s own webhook secret, derived from the top-level one (HMAC-SHA256, 43 characters)."""
    digest = hmac.new(secret.encode(), name.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Settings:
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    creator: CreatorConfig = field(default_factory=CreatorConfig)
    channel: ChannelConfig = field(default_factory=ChannelConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    faq: FaqConfig = field(default_factory=FaqConfig)
    sentiment: SentimentConfig = field(default_factory=SentimentConfig)
    recsys: RecsysConfig = field(default_factory=RecsysConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    web: WebConfig = field(default_factory=WebConfig)
    smalltalk: SmallTalkConfig = field(default_factory=SmallTalkConfig)
    inbox: InboxConfig = field(default_factory=InboxConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    creators: tuple[CreatorSpec, ...] = ()  # every creator of the file ([[creators]], or the one "default")
    creator_name: str = DEFAULT_CREATOR  # which creator these settings are for

    def for_creator(self, spec: CreatorSpec) -> Settings:
        """The settings of the one creator `spec`: their token, user ids and tables, their own data
        folder (<data_dir>/creators/<name>, the "default" creator keeps <data_dir>) and, in webhook
        mode, their own webhook path (<webhook_url>/<name>) and secret."""
        tg = dataclasses.replace(self.telegram, token=spec.token)
        paths = self.paths
        if spec.name != DEFAULT_CREATOR:
            paths = dataclasses.replace(paths, data_dir=str(Path(paths.data_dir) / "creators" / spec.name))
            if tg.mode == "webhook":
                tg = dataclasses.replace(
                    tg, webhook_url=f"{tg.webhook_url.rstrip('/')}/{spec.name}",
                    # no secret stays no secret, so that the check refuses it
                    webhook_secret=webhook_secret_for(tg.webhook_secret, spec.name) if tg.webhook_secret else "")
        web = self.web
        if spec.name != DEFAULT_CREATOR and web.public_url.rstrip("/").endswith("/dashboard"):
            # the deployment serves every creator's dashboard on one port, others' under /<name>/dashboard/
            base = web.public_url.rstrip("/").removesuffix("/dashboard")
            web = dataclasses.replace(web, public_url=f"{base}/{spec.name}/dashboard/")
        return dataclasses.replace(
            self, telegram=tg, paths=paths, web=web,
            creator=CreatorConfig(user_ids=spec.user_ids, inbox_chat_id=spec.inbox_chat_id),
            channel=self.channel if spec.channel is None else spec.channel,
            inbox=self.inbox if spec.inbox is None else spec.inbox,
            schedule=self.schedule if spec.schedule is None else spec.schedule,
            creator_name=spec.name, creators=(spec,))

    def creator_spec(self, name: str) -> CreatorSpec:
        """The creator called `name`; ConfigError naming the configured ones when there is none."""
        for spec in self.creators:
            if spec.name == name:
                return spec
        known = ", ".join(f'"{spec.name}"' for spec in self.creators) or "none"
        raise ConfigError("[[creators]]", [f'no creator is named "{name}": the configured creators are {known}'])

    @property
    def data_dir(self) -> Path:
        return Path(self.paths.data_dir)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.schedule.timezone)

    def is_creator(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.creator.user_ids

    @property
    def creator_chat_id(self) -> int | None:
        """Where handoffs and alerts go: the inbox group if configured, else the first creator."""
        if self.creator.inbox_chat_id:
            return self.creator.inbox_chat_id
        return self.creator.user_ids[0] if self.creator.user_ids else None


# --- checks on single values: return an error message (with the fix) or None -----------------

def _plan_rules_ok(rules: Any) -> bool:
    try:
        parse_rules(list(rules))
    except RuleError:
        return False
    return True


def _check_value(section: str, key: str, value: Any) -> str | None:
    fix = _check_fix(section, key, value)
    return None if fix is None else f"[{section}] {key} = {value!r} is not valid: {fix}"


def _check_fix(section: str, key: str, value: Any) -> str | None:
    """How to fix `value` for `[section] key` (None: it is fine)."""
    checks: dict[tuple[str, str], tuple[Any, str]] = {
        ("telegram", "mode"): (lambda v: v in ("polling", "webhook"), 'use "polling" or "webhook"'),
        ("telegram", "base_url"): (
            _is_safe_api_url,
            'use an https:// URL such as "https://api.telegram.org"; plain http:// only to this machine, '
            'e.g. "http://127.0.0.1:8081" (the token and every message would cross the network unencrypted)',
        ),
        ("telegram", "poll_timeout"): (lambda v: 0 <= v <= 50, "use a number of seconds from 0 to 50"),
        ("telegram", "webhook_port"): (lambda v: 1 <= v <= 65535, "use a TCP port from 1 to 65535"),
        ("runtime", "lease_seconds"): (lambda v: 2 <= v <= 3600, "use 2 to 3600 seconds"),
        ("runtime", "health_port"): (lambda v: 0 <= v <= 65535, "use a TCP port from 1 to 65535, or 0 for none"),
        ("schedule", "timezone"): (_is_timezone, 'use an IANA time zone name such as "Europe/Berlin"'),
        ("schedule", "report"): (
            lambda v: v in ("off", "daily", "weekly"), 'use "off", "daily" or "weekly"'
        ),
        ("schedule", "report_time"): (lambda v: bool(_TIME_RE.match(v)), 'use 24-hour "HH:MM", e.g. "09:00"'),
        ("schedule", "member_count_time"): (lambda v: bool(_TIME_RE.match(v)), 'use 24-hour "HH:MM"'),
        ("schedule", "report_weekday"): (lambda v: v in WEEKDAYS, f"use one of {', '.join(WEEKDAYS)}"),
        ("faq", "target_precision"): (lambda v: 0.5 <= v < 1.0, "use a share between 0.5 and 0.999, e.g. 0.95"),
        ("faq", "retrain_time"): (lambda v: bool(_TIME_RE.match(v)), 'use 24-hour "HH:MM"'),
        ("faq", "review_time"): (lambda v: bool(_TIME_RE.match(v)), 'use 24-hour "HH:MM", e.g. "19:00"'),
        ("faq", "review_size"): (lambda v: 0 <= v <= 20, "use 0 (no daily list) to 20 answers"),
        ("faq", "review_band"): (lambda v: 0 < v <= 1, "use a confidence distance between 0 and 1, e.g. 0.15"),
        ("faq", "retrain_after_examples"): (lambda v: v >= 0, "use 0 (off) or a number of new examples"),
        ("faq", "burst_pending_updates"): (lambda v: v >= 0, "use a number of updates, 0 or more"),
        ("faq", "burst_updates_per_minute"): (lambda v: v >= 1, "use a number of updates per minute, 1 or more"),
        ("database", "url"): (
            lambda v: "://" in v, 'use an SQLAlchemy URL such as "sqlite:///creatorbot.db"'
        ),
        ("database", "retention_days"): (lambda v: v >= 0, "use 0 (keep forever) or a number of days"),
        ("database", "connect_timeout_seconds"): (lambda v: 2 <= v <= 300, "use 2 to 300 seconds, e.g. 10"),
        ("database", "statement_timeout_seconds"): (
            lambda v: v == 0 or 1 <= v <= 86400, "use 1 to 86400 seconds, e.g. 60, or 0 for the server's own"),
        ("database", "keepalives_idle_seconds"): (lambda v: 1 <= v <= 3600, "use 1 to 3600 seconds, e.g. 30"),
        ("runtime", "health_listen"): (lambda v: bool(v.strip()), 'use an address such as "127.0.0.1"'),
        ("sentiment", "dm_quiet_seconds"): (lambda v: v >= 0, "use a number of seconds, 0 (at once) or more"),
        ("sentiment", "dm_max_wait_minutes"): (lambda v: v >= 0, "use a number of minutes, 0 (at once) or more"),
        ("limits", "follower_messages_per_minute"): (lambda v: v >= 1, "use a whole number of at least 1"),
        ("models", "routing"): (
            lambda v: v in ("auto", "multilingual"),
            '"auto" (English to MiniLM, other scripts to multilingual-e5) or "multilingual" (one model for all)'),
        ("models", "engine"): (
            lambda v: v in ("onnx", "torch"),
            '"onnx" (ONNX Runtime, exported once into the data directory) or "torch" (transformers)'),
        ("models", "faq_heads_mb"): (lambda v: v >= 0, "use a number of megabytes, e.g. 256, or 0 for no limit"),
        ("sentiment", "min_negative_share"): (lambda v: 0 < v <= 1, "use a share between 0 and 1"),
        ("web", "public_url"): (lambda v: not v or v.startswith(("https://", "http://")),
                                'use the HTTPS URL of the dashboard, e.g. "https://bot.example.com/dashboard/"'),
        ("web", "port"): (lambda v: 0 <= v <= 65535, "use a TCP port from 1 to 65535, or 0 for no dashboard server"),
        ("web", "auth_max_age_minutes"): (lambda v: v >= 1, "use a number of minutes of at least 1"),
        ("sentiment", "surge_ratio"): (lambda v: v >= 1, "use a ratio of at least 1, e.g. 2.0"),
        ("inbox", "bot_chat"): (lambda v: v in INBOX_MODES, 'use "auto", "draft" or "off"'),
        ("inbox", "channel_dm"): (lambda v: v in INBOX_MODES, 'use "auto", "draft" or "off"'),
        ("inbox", "business"): (lambda v: v in INBOX_MODES, 'use "auto", "draft" or "off"'),
        ("inbox", "creator_active_hours"): (lambda v: 0 <= v <= 720, "use 0 to 720 hours (0: never wait)"),
        ("recsys", "theme_threshold"): (lambda v: 0 <= v < 2, "use a cosine distance from 0 (the tuned cut) to 2"),
        ("recsys", "theme_threshold_multilingual"): (lambda v: 0 <= v < 2,
                                                     "use a cosine distance from 0 (the tuned cut) to 2"),
        ("recsys", "plan_rules"): (_plan_rules_ok, "use rules such as " + "; ".join(RULE_FORMS)),
        ("recsys", "plan_explore_share"): (lambda v: 0 <= v <= 1, "use a share between 0 and 1, e.g. 0.2"),
    }
    check = checks.get((section, key))
    if check is None or check[0](value):
        return None
    return str(check[1])


def _is_safe_api_url(url: str) -> bool:
    """https anywhere; plain http only to a server on this machine (a local telegram-bot-api, the sandbox)."""
    if url.startswith("https://"):
        return True
    if not url.startswith("http://"):
        return False
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def generate_webhook_secret() -> str:
    """A strong webhook secret (64 characters of A-Za-z0-9_-)."""
    return secrets.token_urlsafe(48)


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is tuple:
        return f"a list of {get_args(tp)[0].__name__}"
    return {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}[tp]


def _coerce(tp: Any, value: Any) -> tuple[bool, Any]:
    origin = get_origin(tp)
    if origin is tuple:
        inner = get_args(tp)[0]
        if not isinstance(value, list):
            return False, None
        items = [_coerce(inner, v) for v in value]
        if not all(ok for ok, _ in items):
            return False, None
        return True, tuple(v for _, v in items)
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok, float(value) if ok else None
    if tp is str:
        return isinstance(value, str), value
    raise TypeError(tp)


def _keys(cls: Any) -> dict[str, Any]:
    """The config keys of a section and their types (fields parsed from them are not keys)."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    if close:
        return f'did you mean "{close[0]}"?'
    return f"valid keys are: {', '.join(options)}"


def _sections() -> dict[str, Any]:
    """The tables of a config file ([telegram], [creator], ...) and their dataclasses."""
    return {name: tp for name, tp in get_type_hints(Settings).items() if dataclasses.is_dataclass(tp)}


def _read_table(cls: Any, section: str, table: dict[str, Any], problems: list[str], where: str = "",
                show: Callable[[Any], str] = repr) -> dict[str, Any]:
    """The checked values of one `[section]` table of `cls`'s keys; what does not fit goes to `problems`.

    `where` names the table in messages: "" for the top-level [section], else the creator's, e.g.
    '[[creators]] "cook" ' (their `schedule.timezone`); `show` writes a value in a message."""
    hints = _keys(cls)

    def key_name(key: str) -> str:
        return f"{where}{section}.{key}" if where else f"[{section}] {key}"

    kwargs: dict[str, Any] = {}
    for key, val in table.items():
        if key not in hints:
            problems.append(f"unknown key {key_name(key)}: {_suggest(key, list(hints))}")
            continue
        ok, coerced = _coerce(hints[key], val)
        if not ok:
            problems.append(f"{key_name(key)} = {show(val)} has the wrong type: use {_type_name(hints[key])}")
            continue
        fix = _check_fix(section, key, coerced)
        if fix:
            problems.append(f"{key_name(key)} = {show(coerced)} is not valid: {fix}")
            continue
        kwargs[key] = coerced
    return kwargs


def parse_settings(raw: dict[str, Any], source: str = "<config>", env: dict[str, str] | None = None) -> Settings:
    """Validate a parsed TOML document and build `Settings`; raise ConfigError listing every problem.

    Without [[creators]], `creators` holds the one creator of [creator] and the [telegram] token, named
    "default"; with them, one `CreatorSpec` per table, in the file's order."""
    env = dict(os.environ) if env is None else env
    problems: list[str] = []
    sections: dict[str, Any] = {}
    section_types = _sections()
    for name, value in raw.items():
        if name == "creators":
            continue
        if name not in section_types:
            problems.append(f"unknown section [{name}]: {_suggest(name, [*section_types, 'creators'])}")
            continue
        if not isinstance(value, dict):
            problems.append(f"{name} must be a table: write it as [{name}] with keys below it")
            continue
        cls = section_types[name]
        sections[name] = cls(**_read_table(cls, name, value, problems))
    settings = Settings(**sections)
    settings = _apply_env(settings, env)
    if settings.telegram.mode == "webhook" and not settings.telegram.webhook_url:
        problems.append(
            '[telegram] webhook_url is empty but mode = "webhook": set the public HTTPS URL '
            'Telegram should call, or use mode = "polling"'
        )
    checked = _cross_checks(settings)
    problems += checked
    if "creators" in raw:
        creators = _parse_creators(raw["creators"], settings, env, problems)
        for key in ("user_ids", "inbox_chat_id"):
            if getattr(settings.creator, key):
                problems.append(
                    f"[creator] {key} and [[creators]] are both given: with [[creators]] each creator has their "
                    f"own, so move {key} into the [[creators]] table of the creator it belongs to and leave it "
                    "out of [creator]")
        problems += _creators_problems(creators)
        for spec in creators:  # each creator's own settings, e.g. an inbox that is their channel
            for problem in _cross_checks(settings.for_creator(spec)):
                if problem not in checked:
                    own = problem.removeprefix("[creator] ")  # their inbox_chat_id is a key of their table
                    problems.append(f'[[creators]] "{spec.name}"{" " if own != problem else ": "}{own}')
    else:
        tg, creator = settings.telegram, settings.creator
        creators = (CreatorSpec(name=DEFAULT_CREATOR, token=tg.token,
                                token_env=TOKEN_ENV if env.get(TOKEN_ENV) else "",
                                user_ids=creator.user_ids, inbox_chat_id=creator.inbox_chat_id),)
    if problems:
        raise ConfigError(source, problems)
    return dataclasses.replace(settings, creators=creators)


def _toml(value: Any) -> str:
    """A value as TOML writes it (messages about [[creators]])."""
    try:
        return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)
    except TypeError:
        return repr(value)


def _creator_fix(key: str, value: Any) -> str | None:
    """How to fix `value` for a [[creators]] table's own `key` (None: it is fine)."""
    if key == "name" and not CREATOR_NAME_RE.match(value):
        slug = re.sub(r"[^a-z0-9_-]+", "-", value.lower()).strip("-_")[:32] or "maya"
        return ('use 1 to 32 lowercase letters, digits, "-" and "_", starting with a letter or digit, '
                f'e.g. "{slug}" (it names the creator\'s data folder)')
    if key == "token_env" and value and not _ENV_NAME_RE.match(value):
        return 'use the name of the environment variable that holds the bot token, e.g. "MAYA_BOT_TOKEN"'
    if key == "language" and value and not _LANGUAGE_RE.match(value):
        return 'use a short language code such as "en" or "zh", or leave it out'
    return None


def _parse_creators(raw: Any, settings: Settings, env: dict[str, str], problems: list[str]) -> tuple[CreatorSpec, ...]:
    """The [[creators]] tables as `CreatorSpec`s, their channel / inbox / schedule merged key by key over
    the top-level tables of `settings`; what does not fit goes to `problems`."""
    if not isinstance(raw, list) or not all(isinstance(table, dict) for table in raw):
        problems.append("creators must be an array of tables: write each creator as a [[creators]] table (two "
                        "brackets) with their name, token_env and user_ids below it")
        return ()
    if not raw:
        problems.append("creators = [] names no creator: add a [[creators]] table for each, or leave creators out "
                        "for a single creator ([creator] and CREATORBOT_TOKEN)")
    keys = _keys(CreatorSpec)
    specs: list[CreatorSpec] = []
    for number, table in enumerate(raw, 1):
        name = table.get("name")
        ok_name = isinstance(name, str) and CREATOR_NAME_RE.match(name)
        label = f'[[creators]] "{name}"' if ok_name else f"[[creators]] #{number}"
        kwargs: dict[str, Any] = {}
        for key, val in table.items():
            if key in CREATOR_TABLES:
                if not isinstance(val, dict):
                    problems.append(f"{label} {key} must be a table: write it as [creators.{key}] with keys below "
                                    "it, after that creator's [[creators]] line")
                    continue
                top = getattr(settings, key)
                kwargs[key] = dataclasses.replace(top, **_read_table(type(top), key, val, problems, f"{label} ", _toml))
                continue
            if key not in keys:
                problems.append(f"unknown key {label} {key}: {_suggest(key, list(keys))}")
                continue
            ok, coerced = _coerce(keys[key], val)
            if not ok:
                problems.append(f"{label} {key} = {_toml(val)} has the wrong type: use {_type_name(keys[key])}")
                continue
            fix = _creator_fix(key, coerced)
            if fix:
                problems.append(f"{label} {key} = {_toml(coerced)} is not valid: {fix}")
                continue
            kwargs[key] = coerced
        if "name" not in table:
            problems.append(f'{label} has no name: add one, e.g. name = "maya" (1 to 32 lowercase letters, digits, '
                            '"-" and "_"; it names the creator\'s data folder)')
        if "name" not in kwargs:
            continue
        # a creator with other problems is still checked against the others (all problems at once)
        token_env = kwargs.get("token_env", "")
        # the environment wins over a token written in the file, as CREATORBOT_TOKEN over [telegram] token
        kwargs["token"] = (env.get(token_env, "") if token_env else "") or kwargs.get("token", "")
        specs.append(CreatorSpec(**kwargs))
    return tuple(specs)


def _names(names: list[str]) -> str:
    quoted = [f'"{n}"' for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _creators_problems(specs: tuple[CreatorSpec, ...]) -> list[str]:
    """Problems between creators: a name or a bot used twice (one person in two creators is fine)."""
    count = {2: "two", 3: "three", 4: "four"}
    problems: list[str] = []
    by_name: dict[str, int] = {}
    for spec in specs:
        by_name[spec.name] = by_name.get(spec.name, 0) + 1
    for name, n in by_name.items():
        if n > 1:
            problems.append(f'{count.get(n, str(n))} [[creators]] are named "{name}": give each creator a name of '
                            f"their own (it names their data folder, creators/{name})")
    by_bot: dict[tuple[str, str], list[str]] = {}
    for spec in specs:
        if spec.token:
            bot = ("id", str(spec.bot_id)) if spec.bot_id is not None else ("token", spec.token)
            by_bot.setdefault(bot, []).append(spec.name)
    for (kind, value), names in by_bot.items():
        if len(names) > 1:
            same = f"the same bot (id {value})" if kind == "id" else "the same bot token"  # never the token itself
            problems.append(f"{count.get(len(names), str(len(names)))} [[creators]] use {same}: each creator needs "
                            f"a bot of their own from @BotFather ({_names(names)} share it)")
    return problems


def _cross_checks(settings: Settings) -> list[str]:
    """Problems that involve more than one key."""
    problems: list[str] = []
    tg, creator, channel = settings.telegram, settings.creator, settings.channel
    if tg.mode == "webhook" and not WEBHOOK_SECRET_RE.match(tg.webhook_secret):
        problems.append(
            '[telegram] webhook_secret must be 32 to 256 characters of A-Z, a-z, 0-9, "_" and "-" when '
            'mode = "webhook" (without it anyone who reaches the endpoint can post updates as the creator): '
            f"set {WEBHOOK_SECRET_ENV} or webhook_secret; `creatorbot check-config --generate-secret` makes one")
    health = settings.runtime.health_port
    if health and ((tg.mode == "webhook" and health == tg.webhook_port) or health == settings.web.port):
        problems.append(
            f"[runtime] health_port = {health} is also the {'webhook' if health == tg.webhook_port else 'dashboard'} "
            "port: /healthz and /metrics tell queue depths and loop states, so they get a port of their own "
            "(on 127.0.0.1 unless health_listen says otherwise)")
    if creator.inbox_chat_id and creator.inbox_chat_id in (channel.discussion_group_id, channel.id):
        problems.append(
            f"[creator] inbox_chat_id = {creator.inbox_chat_id} is the channel or its public discussion group: "
            "handoff notes carry followers' names and private questions. Use a private group with only you "
            "in it, or 0 for your private chat with the bot")
    return problems


def _apply_env(settings: Settings, env: dict[str, str]) -> Settings:
    tg = settings.telegram
    if env.get(TOKEN_ENV):
        tg = dataclasses.replace(tg, token=env[TOKEN_ENV])
    if env.get(WEBHOOK_SECRET_ENV):
        tg = dataclasses.replace(tg, webhook_secret=env[WEBHOOK_SECRET_ENV])
    if env.get(WEBHOOK_PORT_ENV):
        port = env[WEBHOOK_PORT_ENV]
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ConfigError(WEBHOOK_PORT_ENV, [f"{WEBHOOK_PORT_ENV}={port!r}: use a TCP port from 1 to 65535"])
        tg = dataclasses.replace(tg, webhook_port=int(port))
    runtime = settings.runtime
    if env.get(HEALTH_PORT_ENV):
        port = env[HEALTH_PORT_ENV]
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ConfigError(HEALTH_PORT_ENV, [f"{HEALTH_PORT_ENV}={port!r}: use a TCP port from 1 to 65535"])
        runtime = dataclasses.replace(runtime, health_port=int(port))
    return dataclasses.replace(settings, telegram=tg, runtime=runtime)


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Load a TOML file (or the embedded defaults when `path` is None)."""
    if path is None:
        return parse_settings({}, "<defaults>", env)
    p = Path(path)
    if not p.exists():
        raise ConfigError(str(p), ["file not found: create it from config.example.toml or drop --config"])
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), [f"not valid TOML ({exc}): check quotes and brackets on that line"]) from exc
    return parse_settings(raw, str(p), env)


def with_overrides(settings: Settings, values: dict[str, Any], source: str = "<chat settings>") -> Settings:
    """`settings` with `{"section.key": value}` applied (settings changed in the chat win over the file).

    Each value is checked like the same key in a file; ConfigError lists the ones that do not fit.
    """
    problems: list[str] = []
    section_types = _sections()
    changed: dict[str, dict[str, Any]] = {}
    for dotted, value in values.items():
        section, _, key = dotted.partition(".")
        cls = section_types.get(section)
        hints = _keys(cls) if cls is not None else {}
        if key not in hints:
            problems.append(f"unknown setting {dotted}")
            continue
        ok, coerced = _coerce(hints[key], value)
        err = None if ok else f"{dotted} = {value!r} has the wrong type: use {_type_name(hints[key])}"
        err = err or _check_value(section, key, coerced)
        if err:
            problems.append(err)
            continue
        changed.setdefault(section, {})[key] = coerced
    if problems:
        raise ConfigError(source, problems)
    result = dataclasses.replace(settings, **{
        section: dataclasses.replace(getattr(settings, section), **keys) for section, keys in changed.items()})
    problems = _cross_checks(result)
    if problems:
        raise ConfigError(source, problems)
    return result
