"""`creatorbot faq import | train | ask | review`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli.scope import creator_models, creator_settings, whose
from bot.config import Settings
from bot.store.db import migrated_sessions

AddCommand = Callable[[str, Any, str], argparse.ArgumentParser]


def tqdm_progress() -> Callable[[str, int, int], None]:
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, leave=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


def _flag(own: Settings) -> str:
    """The --creator of a command to run next (none for a single-creator config's one creator)."""
    return f" --creator {own.creator_name}" if whose(own) else ""


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.faq.entries import import_entries
    from nlp.faq_data import FaqFileError, load_faq

    try:
        entries = load_faq(args.file)
    except FaqFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from bot.faq.authoring import answer_problem

    problems = [f"{args.file}: the answer to {(e.questions or [e.id])[0]!r}: {problem}"
                for e in entries if (problem := answer_problem(e.answer)) is not None]
    if problems:  # the bot could never send such an answer: nothing is imported
        print("error: nothing imported:", *problems, sep="\n  ", file=sys.stderr)
        return 2
    own, creator_id = creator_settings(args, settings)
    sessions = migrated_sessions(settings.database.url, creator_id)
    with sessions() as session, session.begin():
        summary = import_entries(session, entries)
    print(f"imported {summary.entries} answers with {summary.questions} questions{whose(own)} "
          f"({summary.new_entries} new answers, {summary.new_questions} new questions); "
          f"run `creatorbot faq train{_flag(own)}` to use them", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from bot.faq.model import faq_model_for, train_from_database

    own, creator_id = creator_settings(args, settings)
    sessions = migrated_sessions(settings.database.url, creator_id)
    model = faq_model_for(own, models=creator_models(settings, own), sessions=sessions)
    try:
        version, matcher = train_from_database(model, sessions, own.faq.target_precision,
                                               own.faq.min_margin, tqdm_progress())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cal = matcher.calibration
    print(f"FAQ model {version}{whose(own)} saved in {model.root / version} and published: "
          f"{len(matcher.meta.entry_ids)} answers, {matcher.meta.n_examples} questions, "
          f"threshold {cal.threshold:.3f} ({cal.source}), {matcher.meta.train_seconds:.1f} s; "
          "running workers switch to it within seconds", file=sys.stderr)
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.faq.model import faq_model_for
    from bot.kernel.model_factory import model_factory

    if args.model:  # a model directory: nobody's data is read (the encoders are every creator's)
        if getattr(args, "creator", None) is not None:
            creator_settings(args, settings)  # a --creator given anyway is still checked
        models = model_factory(settings)
        path = Path(args.model)
    else:  # the version the bot answers with
        own, creator_id = creator_settings(args, settings)
        models = creator_models(settings, own)
        live = faq_model_for(own, models=models, sessions=migrated_sessions(settings.database.url, creator_id))
        root, name = live.root, live.published()
        if name is None:
            print(f"error: no trained FAQ model{whose(own)} in {root}: run `creatorbot faq train{_flag(own)}` or "
                  "pass --model DIR", file=sys.stderr)
            return 2
        path = root / name
    if not (path / "meta.json").exists():
        print(f"error: {path} is not a FAQ model directory (no meta.json)", file=sys.stderr)
        return 2
    matcher = models.load_faq(path)
    lines = Path(args.input).read_text(encoding="utf-8").splitlines()
    questions = [q.strip() for q in lines if q.strip()]
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        for start in range(0, len(questions), 64):
            batch = questions[start : start + 64]
            for q, m in zip(batch, matcher.match(batch), strict=True):
                out.write(json.dumps({"question": q, "entry_id": m.entry_id, "answer": m.answer,
                                      "confidence": round(m.confidence, 4), "margin": round(m.margin, 4),
                                      "handoff": m.handoff, "reason": m.reason}, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    """List learned examples waiting for review; accept or reject them by id."""
    from bot.faq.entries import pending_examples, review_examples

    own, creator_id = creator_settings(args, settings)
    with migrated_sessions(settings.database.url, creator_id)() as session, session.begin():
        if args.accept or args.reject:
            accepted, rejected = review_examples(session, args.accept or [], args.reject or [])
            print(f"accepted {accepted}, rejected {rejected}{whose(own)}; `creatorbot faq train{_flag(own)}` uses "
                  "the accepted ones", file=sys.stderr)
            return 0
        rows = pending_examples(session)
        for example, answer in rows:
            print(json.dumps({"id": example.id, "question": example.question, "answer": answer},
                             ensure_ascii=False))
        print(f"{len(rows)} example(s){whose(own)} wait for review: --accept ID ... / --reject ID ...",
              file=sys.stderr)
    return 0


def add_faq_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    faq = sub.add_parser("faq", help="the creator's FAQ: import, train, ask")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True, metavar="ACTION")
    imp = faq_sub.add_parser("import", help="validate a FAQ file (.csv or .yaml) and store its entries")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)
    train = faq_sub.add_parser("train", help="train and publish a new FAQ model version")
    train.set_defaults(func=cmd_train)
    ask = faq_sub.add_parser("ask", help="answer questions from a file, one JSON object per line")
    ask.add_argument("--input", required=True, help="a text file, one question per line")
    ask.add_argument("--output", help="JSONL file (default: stdout)")
    ask.add_argument("--model", help="a FAQ model directory (default: the published version)")
    ask.set_defaults(func=cmd_ask)
    review = faq_sub.add_parser("review", help="learned examples waiting for review (auto_accept_answers = false)")
    review.add_argument("--accept", type=int, nargs="+", metavar="ID", help="make these examples training data")
    review.add_argument("--reject", type=int, nargs="+", metavar="ID", help="delete these examples")
    review.set_defaults(func=cmd_review)
    for p in (imp, train, ask, review):
        common(p)
