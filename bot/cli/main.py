"""The `creatorbot` command."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bot import texts
from bot.cli.creators import add_creator_commands
from bot.cli.faq import add_faq_commands
from bot.cli.reports import add_report_commands
from bot.cli.scope import CREATOR_HELP
from bot.cli.sentiment import add_sentiment_commands
from bot.cli.topics import add_topic_commands
from bot.config import (
    DEFAULT_CREATOR,
    WEBHOOK_SECRET_ENV,
    ConfigError,
    CreatorSpec,
    Settings,
    generate_webhook_secret,
    load_settings,
)
from bot.store.creators import UnknownCreator

Command = Callable[[argparse.Namespace, Settings], int]


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


def cmd_check_config(args: argparse.Namespace, settings: Settings) -> int:
    if args.generate_secret:
        print(generate_webhook_secret())
        print(texts.WEBHOOK_SECRET_HOWTO.format(env=WEBHOOK_SECRET_ENV), file=sys.stderr)
        return 0
    path = args.path or args.config
    from bot.setup.checklist import chat_settings_report

    file_settings = load_settings(path)  # raises ConfigError with every problem
    print(f"{path or '<defaults>'}: configuration is valid", file=sys.stderr)
    changed = chat_settings_report(file_settings)
    if changed:
        print("settings changed in the chat (they win over the file):", *changed, sep="\n", file=sys.stderr)
    creators = file_settings.creators
    if len(creators) == 1 and creators[0].name == DEFAULT_CREATOR:  # the single-creator form
        for hint in missing_id_hints(file_settings):
            print(hint, file=sys.stderr)
        return 0
    for spec in creators:
        print(creator_line(spec), file=sys.stderr)
    for spec in creators:
        if not spec.token:
            print(f'warning: [[creators]] "{spec.name}" has no bot token: {_token_fix(spec)} (their bot cannot '
                  "start without it)", file=sys.stderr)
        for hint in missing_id_hints(file_settings.for_creator(spec)):
            # "[creator] user_ids" and "[channel] id" are keys of the creator's own table here
            own = hint.replace("[creator] ", "", 1).replace("[channel] ", "channel.", 1)
            print(f'[[creators]] "{spec.name}" {own}', file=sys.stderr)
    return 0


def _token_fix(spec: CreatorSpec) -> str:
    if spec.token_env:
        return f"set ${spec.token_env}"
    return 'set token_env = "NAME" in its table and the bot token in that environment variable'


def creator_line(spec: CreatorSpec) -> str:
    """One creator for `check-config`: name, bot and how many user ids (never the token)."""
    bot = f"bot {spec.bot_id}" if spec.bot_id is not None else (
        "bot token set" if spec.token else f"no token: set ${spec.token_env}" if spec.token_env else
        "no token: set token_env")
    n = len(spec.user_ids)
    paused = ", paused" if spec.paused else ""
    return f"  {spec.name}: {bot}, {n} user id{'' if n == 1 else 's'}{paused}"


def missing_id_hints(settings: Settings) -> list[str]:
    """How to find the ids the bot needs before it accepts anything from a channel or group."""
    hints = []
    if not settings.creator.user_ids:
        hints.append(texts.HINT_CREATOR_IDS)
    if not settings.channel.id:
        hints.append(texts.HINT_CHANNEL_ID)
    if not settings.channel.discussion_group_id:
        hints.append(texts.HINT_GROUP_ID)
    return hints


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.db import safe_url, upgrade

    upgrade(settings.database.url)
    print(f"database at {safe_url(settings.database.url)} is up to date", file=sys.stderr)
    return 0


# Test-only: "module:attribute" of an encoder / classifier factory that replaces the real models,
# so tests and benchmarks can run whole worker processes without loading them. Never set in production.
TEST_ENCODER_ENV = "CREATORBOT_TEST_ONLY_ENCODER_FACTORY"
TEST_CLASSIFIER_ENV = "CREATORBOT_TEST_ONLY_CLASSIFIER_FACTORY"
TEST_FEATURE_ENV = "CREATORBOT_TEST_ONLY_FEATURE"  # a callable that registers more (fault-injection tests)


def _test_only_factory(env_name: str) -> Any:
    spec = os.environ.get(env_name)
    if not spec:
        return None
    module, _, attribute = spec.partition(":")
    logging.getLogger(__name__).warning("%s is set: using %s instead of the real model (tests only)",
                                        env_name, spec)
    return getattr(importlib.import_module(module), attribute)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import create_deployment
    from bot.runtime.shared import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread starts
    deployment = create_deployment(settings, encoder_factory=_test_only_factory(TEST_ENCODER_ENV),
                                   classifier_factory=_test_only_factory(TEST_CLASSIFIER_ENV),
                                   extend=_test_only_factory(TEST_FEATURE_ENV))
    asyncio.run(deployment.run_forever())
    # Everything is committed and closed. A model call still running in a worker thread (a comment
    # being classified) would hold up the interpreter's exit for seconds: do not wait for it.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def cmd_prepare(args: argparse.Namespace, settings: Settings) -> int:
    """Make the models' one-time exports now, so that the first `run` answers at once."""
    from bot.app import compose
    from bot.kernel.model_factory import model_factory
    from bot.runtime.worker import prepare_models

    started = time.monotonic()
    problems = prepare_models(compose(), model_factory(settings))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"models ready in {settings.data_dir / 'models'} ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo.runner import run_demo

    return asyncio.run(run_demo(db_path=args.db, out=sys.stdout, serve=args.serve, port=args.port))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="creatorbot", description="A self-hosted Telegram assistant for a creator's channel.")
    parser.add_argument("--config", metavar="PATH", help="TOML config (default: embedded defaults)")
    parser.add_argument("--creator", metavar="NAME",
                        help=CREATOR_HELP + "; for faq, topics, sentiment, report and export")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                       help="TOML config (default: embedded defaults)")
        p.set_defaults(func=func)
        return p

    add("run", cmd_run, "run the bot (polling, or webhook when configured)")
    add("prepare", cmd_prepare, "make the models' one-time exports now (a first `run` does it before it connects)")
    demo = add("demo", cmd_demo, "offline demo: a local Bot API sandbox, the real bot and a scripted channel")
    demo.add_argument("--db", metavar="PATH", help="keep the demo database at PATH")
    demo.add_argument("--serve", action="store_true",
                      help="keep running afterwards: a chat page to try the bot and the creator's dashboard")
    demo.add_argument("--port", type=int, default=8765, help="HTTP port for --serve (default 8765; 0: any free port)")
    check = add("check-config", cmd_check_config, "validate a config file")
    check.add_argument("path", nargs="?", help="the file to check (default: --config)")
    check.add_argument("--generate-secret", action="store_true",
                       help="print a strong random webhook secret and exit")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
    up.set_defaults(func=cmd_db_upgrade)

    def config_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                       help="TOML config (default: embedded defaults)")

    def common(p: argparse.ArgumentParser) -> None:
        """--config and --creator, after the sub-command too: commands on one creator's data."""
        config_option(p)
        p.add_argument("--creator", metavar="NAME", default=argparse.SUPPRESS, help=CREATOR_HELP)
        p.set_defaults(takes_creator=True)

    add_creator_commands(sub, config_option)
    add_faq_commands(sub, common)
    add_topic_commands(sub, common)
    add_sentiment_commands(sub, common)
    add_report_commands(sub, common)
    return parser


def _command_name(args: argparse.Namespace) -> str:
    action = next((getattr(args, key) for key in ("db_command", "creators_command") if getattr(args, key, None)), "")
    return f"{args.command} {action}".strip()


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.umask(0o077)  # the database, models and exports hold followers' messages: private to this user
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.creator is not None and not getattr(args, "takes_creator", False):
        print(f"error: --creator is not for `{_command_name(args)}`: it is for faq, topics, sentiment, report and "
              "export (`run` serves every active creator; `creators` commands name the creator themselves)",
              file=sys.stderr)
        return 2
    try:
        settings = _settings(args)
        return int(args.func(args, settings))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, UnknownCreator) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
