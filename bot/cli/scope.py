"""Which creator a CLI command works for: `--creator NAME`, or the only creator there is.

The creators are the config's (`[[creators]]`, or the one "default" of a single-creator config) and those
added with `creatorbot creators add` (the creators table). Every command that opens the database first writes
the config's creators into the table (as `creatorbot run` does at start), so a creator of the config is known
before the bot ever ran.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from bot.config import DEFAULT_CREATOR, CreatorSpec, Settings
from bot.store import creators
from bot.store.creators import CreatorRow
from bot.store.db import make_engine, upgrade
from bot.store.scope import fleet_sessions

if TYPE_CHECKING:
    from nlp.model_factory import ModelFactory

CREATOR_HELP = "the creator whose data this is (needed when the database serves several; see `creatorbot creators list`)"


class NoCreatorChosen(ValueError):
    """Several creators, and the command did not say which one."""

    def __init__(self, known: list[str]) -> None:
        self.known = known
        super().__init__(f"several creators: name one with --creator ({', '.join(known)})")


def seeded_engine(settings: Settings) -> Engine:
    """The database of the config, migrated, with the config's creators written into the creators table."""
    upgrade(settings.database.url)
    engine = make_engine(settings.database.url, settings.database)
    if settings.creators:
        with fleet_sessions(engine)() as session, session.begin():
            creators.seed(session, list(settings.creators))
    return engine


def spec_of(settings: Settings, row: CreatorRow, env: Mapping[str, str] | None = None) -> CreatorSpec:
    """The creator of `row` as the running bot sees it: the config's [[creators]] table when it names them,
    else what the row says (a creator added with the CLI; their token from $token_env of `env`)."""
    for spec in settings.creators:
        if spec.name == row.name:
            return spec
    from bot.runtime.deployment import spec_from_row

    return spec_from_row(row, dict(os.environ if env is None else env), settings)


def in_config(settings: Settings, name: str) -> bool:
    return any(spec.name == name for spec in settings.creators)


def creator_settings(args: argparse.Namespace, settings: Settings) -> tuple[Settings, int]:
    """The settings of the creator the command is for (`--creator`, or the only one) and their row id.

    The settings are `settings.for_creator(...)`: the creator's own data folder, tables and user ids.
    UnknownCreator when `--creator` names nobody; NoCreatorChosen when it is left out and there are several."""
    name: str | None = getattr(args, "creator", None)
    engine = seeded_engine(settings)
    try:
        if not settings.creators and name in (None, DEFAULT_CREATOR):  # settings made in code: "default"
            return settings, creators.creator_id_of(engine, DEFAULT_CREATOR, create=True)
        with fleet_sessions(engine)() as session:
            if name is not None:
                row = creators.by_name(session, name)
            else:
                rows = creators.all_creators(session)
                if len(rows) != 1:
                    raise NoCreatorChosen([r.name for r in rows])
                row = rows[0]
    finally:
        engine.dispose()
    return settings.for_creator(spec_of(settings, row)), row.id


def creator_sentiment_dir(settings: Settings, own: Settings) -> Path:
    """The English sentiment model for the creator of `own`: one they trained for themselves
    (`sentiment train --creator`), else the deployment's (the top-level data folder's, which the running bot
    uses for every creator), else the shipped one."""
    from bot.kernel.model_factory import sentiment_dir

    mine = own.data_dir / "sentiment" / "current"
    return mine if (mine / "meta.json").exists() else sentiment_dir(settings)


def creator_models(settings: Settings, own: Settings, sentiment: Path | None = None) -> ModelFactory:
    """The models for the creator of `own`: the encoders shared by every creator (converted once, under the
    top-level data folder of `settings`, as the running bot has them) and `creator_sentiment_dir` (`sentiment`
    overrides it)."""
    from bot.kernel.model_factory import model_factory

    return model_factory(settings, sentiment=sentiment or creator_sentiment_dir(settings, own))


def whose(own: Settings) -> str:
    """' for <name>' in messages; nothing for the one creator of a single-creator config."""
    return "" if own.creator_name == DEFAULT_CREATOR else f" for {own.creator_name}"
