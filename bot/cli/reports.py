"""`creatorbot report` and `creatorbot export`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli.scope import creator_settings, whose
from bot.config import Settings


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reports.chart import render_chart
    from bot.reports.report import build_report, render_text
    from bot.store.db import migrated_sessions
    from bot.store.models import utcnow

    own, creator_id = creator_settings(args, settings)
    with migrated_sessions(settings.database.url, creator_id)() as session:
        report = build_report(session, own, args.period, utcnow())
    if args.out:
        Path(args.out).write_bytes(render_chart(report, own.tz))
        print(f"chart written to {args.out}", file=sys.stderr)
    if args.format == "json":
        json.dump(report.as_json(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        import re

        print(re.sub(r"</?[a-z]+>", "", render_text(report, own.tz)).replace("&lt;", "<")
              .replace("&gt;", ">").replace("&amp;", "&"))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.kernel.export import write_export
    from bot.store.db import migrated_sessions

    own, creator_id = creator_settings(args, settings)
    with migrated_sessions(settings.database.url, creator_id)() as session, session.begin():
        paths = write_export(session, Path(args.out), record=True)  # /forgetme finds it later
    print(f"wrote {len(paths)} files{whose(own)} to {args.out}", file=sys.stderr)
    return 0


def add_report_commands(sub: Any, common: Any) -> None:
    rep = sub.add_parser("report", help="the engagement report (text or JSON on stdout, chart as PNG)")
    rep.add_argument("--period", choices=("day", "week", "month"), default="week")
    rep.add_argument("--out", help="write the chart PNG here")
    rep.add_argument("--format", choices=("text", "json"), default="text")
    rep.set_defaults(func=cmd_report)
    exp = sub.add_parser("export", help="CSV files of posts, comments, DMs, reactions and follower counts")
    exp.add_argument("--out", required=True, help="a directory")
    exp.set_defaults(func=cmd_export)
    for p in (rep, exp):
        common(p)
