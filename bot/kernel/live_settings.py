"""Live settings: the config file's, with the ones the creator changed in the chat applied.

Stored in `setting_overrides`; every worker picks up a change within seconds (`refresh_settings`),
and features react to a change through `Registry.settings_changed`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import WEEKDAYS, Settings, with_overrides
from bot.kernel.services import Services
from bot.store.models import SettingOverride

# Settings the creator may change in the chat (others stay in the config file).
CHAT_SETTINGS = ("channel.id", "channel.discussion_group_id", "creator.inbox_chat_id", "schedule.timezone",
                 "schedule.report", "schedule.report_time", "schedule.report_weekday",
                 "inbox.bot_chat", "inbox.channel_dm", "inbox.business",
                 "recsys.plan_rules")
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


def overrides(session: Session) -> dict[str, Any]:
    return {row.key: row.value for row in session.scalars(select(SettingOverride).order_by(SettingOverride.key))}


def effective_settings(file_settings: Settings, session: Session) -> Settings:
    """The file's settings with the ones changed in the chat applied."""
    return with_overrides(file_settings, overrides(session))


def change_settings(services: Services, session: Session, values: dict[str, Any]) -> Settings:
    """Validate, store and apply settings changed in the chat; raises ConfigError for a bad value."""
    unknown = [k for k in values if k not in CHAT_SETTINGS]
    if unknown:
        raise ValueError(f"not changeable in the chat: {', '.join(unknown)}")
    base = services.file_settings or services.settings
    settings = with_overrides(base, {**overrides(session), **values})  # raises before anything is stored
    for key, value in values.items():
        row = session.get(SettingOverride, key)
        if row is None:
            session.add(SettingOverride(key=key, value=value))
        else:
            row.value = value
    session.flush()
    services.settings = settings
    for react in services.registry.settings_changed:  # e.g. the report schedule follows the timezone
        react(session, settings)
    return settings


def refresh_settings(services: Services, session: Session) -> None:
    """Pick up settings another worker changed in the chat."""
    base = services.file_settings
    if base is not None:
        services.settings = effective_settings(base, session)


def parse_report_schedule(words: list[str]) -> dict[str, Any]:
    """`off`, `daily 18:00` or `weekly mon 09:00` -> settings; ValueError says which part is wrong."""
    w = [x.lower() for x in words]
    if w == ["off"]:
        return {"schedule.report": "off"}
    if not w or w[0] not in ("daily", "weekly"):
        raise ValueError(texts.SCHEDULE_BAD_KIND)
    values: dict[str, Any] = {"schedule.report": w[0]}
    rest = w[1:]
    if w[0] == "weekly":
        if not rest or rest[0][:3] not in WEEKDAYS:
            raise ValueError(texts.SCHEDULE_BAD_DAY)
        values["schedule.report_weekday"] = rest[0][:3]
        rest = rest[1:]
    clock = _HHMM.match(rest[0]) if len(rest) == 1 else None
    if clock is None:
        raise ValueError(texts.SCHEDULE_BAD_TIME)
    values["schedule.report_time"] = f"{int(clock.group(1)):02d}:{clock.group(2)}"  # as the config writes it
    return values


def report_schedule_text(settings: Settings) -> str:
    sched = settings.schedule
    if sched.report == "off":
        return "off"
    if sched.report == "daily":
        return f"daily at {sched.report_time}"
    return f"weekly on {sched.report_weekday.capitalize()} at {sched.report_time}"
