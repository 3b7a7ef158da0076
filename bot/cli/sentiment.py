"""`creatorbot sentiment classify | train`."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli.scope import creator_models, creator_sentiment_dir, creator_settings, whose
from bot.config import Settings
from bot.kernel.model_factory import model_factory

LABEL_IDS = {"negative": 0, "neutral": 1, "positive": 2, "0": 0, "1": 1, "2": 2}


def read_texts(path: Path) -> list[str]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if "text" not in (reader.fieldnames or []):
                raise ValueError(f"{path}:1: the CSV needs a column named text")
            return [row["text"] or "" for row in reader]
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cmd_classify(args: argparse.Namespace, settings: Settings) -> int:
    texts = read_texts(Path(args.input))
    # the bot's own routed models: English to the LoRA model, Chinese and other scripts to multilingual-e5
    if args.model:  # a model directory: nobody's own model is used
        if getattr(args, "creator", None) is not None:
            creator_settings(args, settings)  # a --creator given anyway is still checked
        model = model_factory(settings, sentiment=Path(args.model)).sentiment()
    else:  # the creator's own trained model if they have one, else the shipped one
        own, _ = creator_settings(args, settings)
        model = creator_models(settings, own).sentiment()
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        for start in range(0, len(texts), 256):
            batch = texts[start : start + 256]
            for text, p in zip(batch, model.predict(batch), strict=True):
                out.write(json.dumps({"text": text, "label": p.label, "negative": round(p.negative, 4),
                                      "neutral": round(p.neutral, 4), "positive": round(p.positive, 4)},
                                     ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def read_labelled(path: Path) -> tuple[list[str], list[int]]:
    texts, labels, problems = [], [], []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not {"text", "label"} <= set(reader.fieldnames or []):
            raise ValueError(f"{path}:1: the CSV needs the columns text,label")
        for row in reader:
            label = LABEL_IDS.get((row["label"] or "").strip().lower())
            if label is None:
                problems.append(f"{path}:{reader.line_num}: label {row['label']!r} is not negative, neutral or positive")
                continue
            texts.append(row["text"] or "")
            labels.append(label)
    for p in problems:
        print(f"skipped: {p}", file=sys.stderr)
    return texts, labels


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.faq import tqdm_progress
    from nlp.sentiment import SentimentModel, TrainConfig

    texts, labels = read_labelled(Path(args.data))
    own, creator_id = creator_settings(args, settings)
    if args.include_corrections:
        from sqlalchemy import select

        from bot.store.db import migrated_sessions
        from bot.store.models import SentimentCorrection

        with migrated_sessions(settings.database.url, creator_id)() as session:
            rows = session.execute(select(SentimentCorrection.text, SentimentCorrection.new_label)).all()
        extra = [(t, LABEL_IDS[label]) for t, label in rows if t]
        texts += [t for t, _ in extra]
        labels += [lab for _, lab in extra]
        print(f"with {len(extra)} corrections{whose(own)} from the database", file=sys.stderr)
    if not texts:
        print("error: no labelled texts to train on", file=sys.stderr)
        return 2
    progress = tqdm_progress()
    model = SentimentModel.fit(texts, labels, TrainConfig(epochs=args.epochs, max_examples=args.max_examples),
                               progress=lambda d, t: progress("training", d, t),
                               start_from=None if args.from_scratch else creator_sentiment_dir(settings, own))
    out = Path(args.out) if args.out else own.data_dir / "sentiment" / "current"
    model.save(out)
    shared = settings.data_dir / "sentiment" / "current"
    if whose(own) and out.resolve() != shared.resolve():
        print(f"sentiment model{whose(own)} saved in {out} ({len(texts)} texts): `sentiment classify --creator "
              f"{own.creator_name}` uses it; the running bot labels every creator's comments with one model, "
              f"{shared} (train with --out {shared} to replace that one)", file=sys.stderr)
    else:
        print(f"sentiment model saved in {out} ({len(texts)} texts); the bot uses it after a restart",
              file=sys.stderr)
    return 0


def add_sentiment_commands(sub: Any, common: Any) -> None:
    sent = sub.add_parser("sentiment", help="comment sentiment: classify files, train")
    sent_sub = sent.add_subparsers(dest="sentiment_command", required=True, metavar="ACTION")
    c = sent_sub.add_parser("classify", help="label texts (.txt one per line, or .csv with a text column)")
    c.add_argument("--input", required=True)
    c.add_argument("--output", help="JSONL file (default: stdout)")
    c.add_argument("--model", help="an English model directory (default: yours if trained, else the shipped one); "
                                   "text in other scripts goes to the multilingual model, as in the bot")
    c.set_defaults(func=cmd_classify)
    t = sent_sub.add_parser("train", help="train (or extend) the classifier on a CSV with text,label")
    t.add_argument("--data", required=True)
    t.add_argument("--include-corrections", action="store_true", help="add the creator's stored relabellings")
    t.add_argument("--from-scratch", action="store_true", help="start from the base model, not the current adapter")
    t.add_argument("--epochs", type=float, default=1.0)
    t.add_argument("--max-examples", type=int, default=0)
    t.add_argument("--out", help="where to save (default: the creator's data folder, sentiment/current)")
    t.set_defaults(func=cmd_train)
    for p in (c, t):
        common(p)
