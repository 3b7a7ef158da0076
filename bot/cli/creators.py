"""`creatorbot creators list | add | pause | resume | remove`: the creators one database serves.

The running bot reads the creators table every few seconds (bot/runtime/deployment.py): a creator added here
starts, a paused or removed one stops, without a restart. A token is never stored nor printed: a creator added
here names the environment variable that holds it (`--token-env`), which the running bot reads from its own
environment.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.scope import in_config, seeded_engine, spec_of
from bot.config import DEFAULT_CREATOR, TOKEN_ENV, Settings
from bot.store import creators
from bot.store.creators import ACTIVE, PAUSED, CreatorRow
from bot.store.scope import fleet_sessions

PICKUP = "within 30 s"  # the running bot reads the table every 10 s (deployment.WATCH_SECONDS), then starts it
# what is the creator's own in a data folder they share with the deployment (the "default" creator's is the
# top-level one, which also holds the converted models every creator uses)
OWN_SUBFOLDERS = ("faq", "sentiment", "exports")
CONFIRM = "Type the creator's name to delete everything of theirs: "


def _rows(settings: Settings) -> list[CreatorRow]:
    engine = seeded_engine(settings)
    try:
        with fleet_sessions(engine)() as session:
            return creators.all_creators(session)
    finally:
        engine.dispose()


def _bot(settings: Settings, row: CreatorRow) -> tuple[int | None, str]:
    """The creator's bot id if their token is known here, and how to say so (never the token)."""
    spec = spec_of(settings, row)
    if spec.bot_id is not None:
        return spec.bot_id, f"bot {spec.bot_id}"
    if spec.token:
        return None, "bot token set"
    if row.settings.get(creators.TOKEN_FILE):
        return None, f"token file {row.settings[creators.TOKEN_FILE]}"
    var = _token_env(settings, row)
    return None, f"no token here (${var} not set)" if var else "no token"


def _token_env(settings: Settings, row: CreatorRow) -> str:
    """The environment variable the creator's token is read from ("" when none is named)."""
    named = spec_of(settings, row).token_env or row.token_env
    if not named and row.name == DEFAULT_CREATOR and in_config(settings, row.name) and len(settings.creators) == 1:
        return TOKEN_ENV  # the single-creator form: CREATORBOT_TOKEN, or the [telegram] token of the file
    return named


def _since(when: datetime | None, settings: Settings) -> str:
    if when is None:
        return ""
    local = when.astimezone(settings.tz)
    today = datetime.now(settings.tz).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%Y-%m-%d %H:%M")


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = _rows(settings)
    if args.json:
        out: list[dict[str, Any]] = []
        for row in rows:
            bot_id, _ = _bot(settings, row)
            out.append({"name": row.name, "id": row.id, "status": row.status, "source": row.source,
                        "in_config": in_config(settings, row.name), "bot_id": bot_id,
                        "token_env": _token_env(settings, row) or None,
                        "user_ids": list(row.user_ids), "down_reason": row.down_reason,
                        "down_since": row.down_since.isoformat() if row.down_since else None})
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    table = []
    for row in rows:
        n = len(row.user_ids)
        down = f"down since {_since(row.down_since, settings)}: {row.down_reason}" if row.down_reason else ""
        table.append([row.name, row.status, row.source, _bot(settings, row)[1],
                      f"{n} user id{'' if n == 1 else 's'}", down])
    widths = [max(len(line[i]) for line in table) for i in range(5)] if table else []
    for line in table:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(line, widths, strict=False)), line[5]]).rstrip())
    print(f"{len(rows)} creator(s); `creatorbot creators add NAME --token-env VAR --user-id ID` adds one",
          file=sys.stderr)
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    if not args.token_env and not args.token_file:
        print("error: say where their bot token is: --token-env VAR (a variable the running bot has, e.g. "
              f"CREATORBOT_TOKEN_{args.name.upper().replace('-', '_')}) or --token-file PATH (a file it can read, "
              "picked up without a restart)", file=sys.stderr)
        return 2
    token_file = str(Path(args.token_file).expanduser().absolute()) if args.token_file else ""
    # where the token is read from, as `creators list` names it: each creator needs a bot of their own
    source, kind = (token_file, "a file") if token_file else (f"${args.token_env}", "a variable")

    def reads_the_same(row: CreatorRow) -> bool:
        return (row.settings.get(creators.TOKEN_FILE) == token_file if token_file
                else _token_env(settings, row) == args.token_env)

    engine = seeded_engine(settings)
    try:
        with fleet_sessions(engine)() as session, session.begin():
            for row in creators.all_creators(session):
                if row.name != args.name and reads_the_same(row):
                    print(f"error: {row.name}'s bot reads {source} already: each creator needs a bot of "
                          f"their own from @BotFather, in {kind} of its own", file=sys.stderr)
                    return 2
            creators.add(session, args.name, args.token_env or "", list(args.user_ids or []), token_file=token_file)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if token_file:
        _added_with_file(args.name, token_file)
    else:
        _added_with_variable(args.name, args.token_env)
    print(f"their data goes to {_data_dir(settings, args.name)}; work on it with --creator {args.name}, e.g. "
          f"`creatorbot faq import FILE --creator {args.name}`", file=sys.stderr)
    return 0


def _added_with_variable(name: str, var: str) -> None:
    token = os.environ.get(var, "")
    head, sep, _ = token.partition(":")
    bot = f"bot {head}" if sep and head.isascii() and head.isdigit() else "their bot"
    print(f"added creator {name} ({bot}); the running bot starts serving them {PICKUP}", file=sys.stderr)
    if not token:
        print(f"warning: ${var} is not set in this shell; the running bot reads ${var} from "
              "its own environment: set it there (until then `creatorbot creators list` shows them down: "
              f"\"no token: set {var}\")", file=sys.stderr)


def _added_with_file(name: str, path: str) -> None:
    print(f"added creator {name} (token from {path}); the running bot starts serving them {PICKUP}", file=sys.stderr)
    try:
        creators.token_from_file(path)
    except ValueError as exc:
        print(f"warning: {exc}; the running bot reads it at each try (until then `creatorbot creators list` "
              "shows them down with the reason)", file=sys.stderr)


def _set_status(args: argparse.Namespace, settings: Settings, status: str) -> int:
    engine = seeded_engine(settings)
    try:
        with fleet_sessions(engine)() as session, session.begin():
            before = creators.by_name(session, args.name).status
            creators.set_status(session, args.name, status)
    finally:
        engine.dispose()
    spec = next((s for s in settings.creators if s.name == args.name), None)
    if status == PAUSED:
        done = "is paused already" if before == PAUSED else "is paused"
        print(f"{args.name} {done}: their bot stops answering {PICKUP}; nothing is deleted "
              f"(`creatorbot creators resume {args.name}` undoes it)", file=sys.stderr)
    else:
        done = "is active already" if before == ACTIVE else "is active again"
        print(f"{args.name} {done}: the running bot serves them {PICKUP}", file=sys.stderr)
        if spec is not None and spec.paused:
            print(f'warning: the config says paused = true in the [[creators]] table of "{args.name}": remove it '
                  "there too, or the next start pauses them again", file=sys.stderr)
    return 0


def cmd_pause(args: argparse.Namespace, settings: Settings) -> int:
    return _set_status(args, settings, PAUSED)


def cmd_resume(args: argparse.Namespace, settings: Settings) -> int:
    return _set_status(args, settings, ACTIVE)


def _data_dir(settings: Settings, name: str) -> Path:
    """The creator's data folder (for_creator: <data_dir>/creators/<name>, the top-level one for "default")."""
    spec = next((s for s in settings.creators if s.name == name), None)
    if spec is not None:
        return settings.for_creator(spec).data_dir
    return settings.data_dir if name == DEFAULT_CREATOR else settings.data_dir / "creators" / name


def _folders(settings: Settings, name: str) -> tuple[list[Path], bool]:
    """The folders removing the creator deletes, and whether that is only some of their data folder (it is the
    deployment's top-level one, or holds it: never deleted as a whole)."""
    own, top = _data_dir(settings, name).resolve(), settings.data_dir.resolve()
    if own == top or own in top.parents:
        return [own / sub for sub in OWN_SUBFOLDERS if (own / sub).exists()], True
    return ([own] if own.exists() else []), False


def _size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    return len(files), sum(p.stat().st_size for p in files if p.exists())


def _human(size: int) -> str:
    value, unit = float(size), "bytes"
    for bigger in ("KB", "MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    engine = seeded_engine(settings)
    try:
        with fleet_sessions(engine)() as session:
            row = creators.by_name(session, args.name)
        counts = creators.data_counts(engine, row.id)
        folders, partial = _folders(settings, args.name)
        own = _data_dir(settings, args.name)
        print(f"removing {args.name} deletes:")
        for table, n in counts.items():
            print(f"  {table}: {n} row{'' if n == 1 else 's'}")
        if not counts:
            print("  no rows of data (only the creator itself)")
        for folder in folders:
            files, size = _size(folder)
            print(f"  {folder}/ ({files} file{'' if files == 1 else 's'}, {_human(size)})")
        if partial:
            print(f"  (their data folder {own} is the deployment's own: only {', '.join(s + '/' for s in OWN_SUBFOLDERS)}"
                  " in it are theirs; the rest, e.g. the converted models, stays)")
        elif not folders:
            print(f"  (no data folder: {own} does not exist)")
        if args.dry_run:
            print("nothing deleted (--dry-run)", file=sys.stderr)
            return 0
        if not args.yes:
            print(CONFIRM, end="", file=sys.stderr, flush=True)
            answer = sys.stdin.readline().strip()
            if answer != args.name:
                print(f"error: {answer!r} is not {args.name!r}: nothing deleted", file=sys.stderr)
                return 1
        with fleet_sessions(engine)() as session, session.begin():
            creators.remove(session, args.name)
    finally:
        engine.dispose()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    where = f"; deleted {', '.join(str(f) for f in folders)}" if folders else ""
    print(f"removed {args.name} and every row of theirs{where}; the running bot stops serving them {PICKUP}",
          file=sys.stderr)
    if in_config(settings, args.name):
        if args.name == DEFAULT_CREATOR and not any(s.name != DEFAULT_CREATOR for s in settings.creators):
            print(f'note: "{DEFAULT_CREATOR}" is the creator of a single-creator config ([creator] and the '
                  "[telegram] token): the next start, or the next command, makes it again, with no data",
                  file=sys.stderr)
        else:
            print(f'note: the config names "{args.name}": remove its [[creators]] table too, or it is seeded '
                  "again at the next start (with no data)", file=sys.stderr)
    return 0


def add_creator_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    group = sub.add_parser("creators", help="the creators this database serves: list, add, pause, resume, remove")
    actions = group.add_subparsers(dest="creators_command", required=True, metavar="ACTION")
    ls = actions.add_parser("list", help="every creator: status, source, bot, user ids, why it is down")
    ls.add_argument("--json", action="store_true", help="one JSON array on stdout, for scripts")
    ls.set_defaults(func=cmd_list)
    add = actions.add_parser("add", help="a creator with a bot of their own; the running bot starts it "
                                         f"{PICKUP}")
    add.add_argument("name", metavar="NAME", help='1-32 lowercase letters, digits, "-" or "_" (names their data folder)')
    add.add_argument("--token-env", metavar="VAR",
                     help="the environment variable of the running bot that holds this creator's bot token")
    add.add_argument("--token-file", metavar="PATH",
                     help="or a file holding the token (mode 600), read by the running bot at each start of this "
                          "creator: a new bot is served without a restart")
    add.add_argument("--user-id", dest="user_ids", type=int, action="append", metavar="ID",
                     help="the creator's Telegram user id (repeat for several accounts)")
    add.set_defaults(func=cmd_add)
    pause = actions.add_parser("pause", help=f"stop serving a creator ({PICKUP}); nothing is deleted")
    pause.add_argument("name", metavar="NAME")
    pause.set_defaults(func=cmd_pause)
    resume = actions.add_parser("resume", help=f"serve a paused creator again ({PICKUP})")
    resume.add_argument("name", metavar="NAME")
    resume.set_defaults(func=cmd_resume)
    rm = actions.add_parser("remove", help="delete a creator and all of their data (asks first)")
    rm.add_argument("name", metavar="NAME")
    rm.add_argument("--dry-run", action="store_true", help="only show what would be deleted")
    rm.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    rm.set_defaults(func=cmd_remove)
    for p in (ls, add, pause, resume, rm):
        common(p)
