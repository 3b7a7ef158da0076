"""/asks and the hourly theme snapshot: read, then group off the event loop and outside any transaction,
then write (bot/topics/themes.py groups, bot/kernel/asks.py stores; this is when and where it runs)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import texts
from bot.kernel import asks
from bot.kernel.outbox import send_text
from bot.kernel.services import Services
from bot.store.models import utcnow
from bot.topics import themes

log = logging.getLogger(__name__)
SUGGEST_MAX_AGE = timedelta(days=2)  # /suggest shows themes of a snapshot this fresh


def _read(services: Services) -> themes.AsksInput:
    with services.sessions() as session:
        return themes.read_input(session, services.settings, utcnow())


def _compute(services: Services, inp: themes.AsksInput) -> asks.Asks:
    models = services.models
    if models is None:
        raise RuntimeError("no models")
    return themes.compute(inp, models.encoder(), models.multilingual_encoder)


async def refresh(services: Services, chat_id: int | None = None) -> asks.Asks | None:
    """Group the week's questions and store the snapshot; with `chat_id`, send /asks's reply there."""
    try:
        inp = await asyncio.to_thread(_read, services)
        result = await asyncio.to_thread(_compute, services, inp)
    except Exception as exc:
        log.exception("grouping the questions failed")
        if chat_id is not None:
            async with services.unit() as session:
                send_text(session, chat_id, texts.ASKS_FAILED.format(error=texts.esc(str(exc))))
        return None
    async with services.unit() as session:
        asks.save(session, result)
        if chat_id is not None:
            text, buttons = render(result, services.settings.tz)
            send_text(session, chat_id, text, buttons=buttons, about=result.quoted)
    return result


def render(result: asks.Asks, tz: Any, limit: int = 8) -> tuple[str, list[list[tuple[str, str]]]]:
    """The /asks message (Telegram HTML) and its buttons (one "add an FAQ answer" per theme that needs one)."""
    start, end = result.start.astimezone(tz), (result.end - timedelta(seconds=1)).astimezone(tz)
    lines = [texts.ASKS_HEADER.format(start=f"{start:%d %b}", end=f"{end:%d %b}", n=result.questions)]
    lines += asks.section_lines(result, limit)
    return "\n".join(lines), asks.buttons(result, limit)


def suggest_lines(session: Session, limit: int = 3) -> tuple[list[str], set[int]]:
    """/suggest's ideas from the latest themes (a stored snapshot: no model runs here), and the
    followers whose questions they quote."""
    latest = asks.latest(session, SUGGEST_MAX_AGE)
    if latest is None or not latest.themes:
        return [], set()
    lines = [texts.ASKS_SUGGEST]
    for t in latest.themes[:limit]:
        tags = texts.ASKS_SUGGEST_TAGS.format(tags=", ".join(f"#{texts.esc(x)}" for x in t.tags)) if t.tags else ""
        lines.append(texts.ASKS_SUGGEST_LINE.format(label=texts.esc(texts.clip(t.label, 100)), askers=t.askers,
                                                    tags=tags))
    return lines, latest.quoted
