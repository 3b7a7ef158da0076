"""TOML configuration -> frozen dataclasses.

Every key has a default, so every command runs without a config file. Errors name the key,
the bad value and the fix; unknown keys are rejected with the closest valid key suggested.
Times of day ("HH:MM") and weekdays ("mon") are parsed here, once, into fields the rest of the
bot uses (`ScheduleConfig.report_clock`, `report_weekday_index`, ...).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import ipaddress
import os
import re
import secrets
import tomllib
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
        ("limits", "follower_messages_per_minute"): (lambda v: v >= 1, "use a whole number of at least 1"),
        ("models", "routing"): (
            lambda v: v in ("auto", "multilingual"),
            '"auto" (English to MiniLM, other scripts to multilingual-e5) or "multilingual" (one model for all)'),
        ("models", "engine"): (
            lambda v: v in ("onnx", "torch"),
            '"onnx" (ONNX Runtime, exported once into the data directory) or "torch" (transformers)'),
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
    return f"[{section}] {key} = {value!r} is not valid: {check[1]}"


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


def parse_settings(raw: dict[str, Any], source: str = "<config>", env: dict[str, str] | None = None) -> Settings:
    """Validate a parsed TOML document and build `Settings`; raise ConfigError listing every problem."""
    env = dict(os.environ) if env is None else env
    problems: list[str] = []
    sections: dict[str, Any] = {}
    section_types = get_type_hints(Settings)
    for name, value in raw.items():
        if name not in section_types:
            problems.append(f"unknown section [{name}]: {_suggest(name, list(section_types))}")
            continue
        if not isinstance(value, dict):
            problems.append(f"{name} must be a table: write it as [{name}] with keys below it")
            continue
        cls = section_types[name]
        hints = _keys(cls)
        kwargs: dict[str, Any] = {}
        for key, val in value.items():
            if key not in hints:
                problems.append(f"unknown key [{name}] {key}: {_suggest(key, list(hints))}")
                continue
            ok, coerced = _coerce(hints[key], val)
            if not ok:
                problems.append(
                    f"[{name}] {key} = {val!r} has the wrong type: use {_type_name(hints[key])}"
                )
                continue
            err = _check_value(name, key, coerced)
            if err:
                problems.append(err)
                continue
            kwargs[key] = coerced
        sections[name] = cls(**kwargs)
    settings = Settings(**sections)
    settings = _apply_env(settings, env)
    if settings.telegram.mode == "webhook" and not settings.telegram.webhook_url:
        problems.append(
            '[telegram] webhook_url is empty but mode = "webhook": set the public HTTPS URL '
            'Telegram should call, or use mode = "polling"'
        )
    problems += _cross_checks(settings)
    if problems:
        raise ConfigError(source, problems)
    return settings


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
    section_types = get_type_hints(Settings)
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
