"""The creator's FAQ file: CSV (`question,answer[,id,tags]`) or YAML (`questions: [...]`, `answer:`).

Every error names the line. Several questions may share one answer (one entry); one question may
not map to two different answers; answers must fit Telegram's 4096-character limit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_ANSWER = 4096
MAX_QUESTION = 4096


class FaqFileError(Exception):
    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass
class FaqEntry:
    id: str
    answer: str
    questions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def normalize_question(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def entry_id_for(answer: str) -> str:
    return "a" + hashlib.sha1(answer.strip().encode()).hexdigest()[:8]


def _tags(value: Any) -> list[str]:
    if isinstance(value, list):
        parts = [str(v) for v in value]
    else:
        parts = re.split(r"[\s|,;]+", str(value or ""))
    return [p.strip().lstrip("#").lower() for p in parts if p.strip().lstrip("#")]


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []
        self.entries: dict[str, FaqEntry] = {}
        self.by_answer: dict[str, str] = {}
        self.question_owner: dict[str, tuple[str, int]] = {}

    def add(self, line: int, questions: list[str], answer: str, entry_id: str | None, tags: list[str]) -> None:
        answer = answer.strip()
        if not answer:
            self.problems.append(f"line {line}: the answer is empty — write the answer the bot should give")
            return
        if len(answer) > MAX_ANSWER:
            self.problems.append(
                f"line {line}: the answer has {len(answer)} characters; Telegram allows {MAX_ANSWER} — shorten it")
            return
        eid = (entry_id or "").strip() or self.by_answer.get(answer) or entry_id_for(answer)
        entry = self.entries.get(eid)
        if entry is None:
            entry = self.entries[eid] = FaqEntry(eid, answer)
            self.by_answer.setdefault(answer, eid)
        elif entry.answer != answer:
            self.problems.append(f"line {line}: id {eid!r} already has a different answer — use another id")
            return
        for tag in tags:
            if tag not in entry.tags:
                entry.tags.append(tag)
        for q in questions:
            q = q.strip()
            if not q:
                self.problems.append(f"line {line}: a question is empty — remove it or write it out")
                continue
            if len(q) > MAX_QUESTION:
                self.problems.append(f"line {line}: a question is over {MAX_QUESTION} characters — shorten it")
                continue
            key = normalize_question(q)
            owner = self.question_owner.get(key)
            if owner is not None and owner[0] != eid:
                self.problems.append(
                    f"line {line}: the question {q!r} already has another answer (line {owner[1]}) — "
                    "keep it under one answer")
                continue
            if owner is None:
                self.question_owner[key] = (eid, line)
                entry.questions.append(q)

    def result(self) -> list[FaqEntry]:
        for entry in self.entries.values():
            if not entry.questions:
                self.problems.append(f"entry {entry.id!r} has an answer but no question — add at least one")
        if not self.entries and not self.problems:
            self.problems.append("the file has no entries")
        if self.problems:
            raise FaqFileError(self.path, self.problems)
        return list(self.entries.values())


def parse_csv(text: str, path: str = "<csv>") -> list[FaqEntry]:
    b = _Builder(path)
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    missing = {"question", "answer"} - set(fields)
    if missing:
        raise FaqFileError(path, [f"line 1: the header needs the columns question,answer (missing: "
                                  f"{', '.join(sorted(missing))}); optional: id, tags"])
    reader.fieldnames = fields
    for row in reader:
        line = reader.line_num
        b.add(line, [row.get("question") or ""], row.get("answer") or "", row.get("id"), _tags(row.get("tags")))
    return b.result()


def parse_yaml(text: str, path: str = "<yaml>") -> list[FaqEntry]:
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
        data: dict[str, Any] = dict(loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]
        data["__line__"] = node.start_mark.line + 1
        return data

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise FaqFileError(path, [f"not valid YAML: {exc}"]) from exc
    if isinstance(doc, dict) and "entries" in doc:
        doc = doc["entries"]
    if not isinstance(doc, list):
        raise FaqFileError(path, ["line 1: expected a list of entries, each with questions: [...] and answer:"])
    b = _Builder(path)
    for item in doc:
        if not isinstance(item, dict):
            b.problems.append("an entry is not a mapping: write questions: [...] and answer: ...")
            continue
        line = int(item.get("__line__", 0))
        questions = item.get("questions", item.get("question", []))
        if isinstance(questions, str):
            questions = [questions]
        if not isinstance(questions, list) or not questions:
            b.problems.append(f"line {line}: the entry has no questions — add questions: [\"...\"]")
            continue
        unknown = set(item) - {"questions", "question", "answer", "id", "tags", "__line__"}
        if unknown:
            b.problems.append(f"line {line}: unknown field(s) {', '.join(sorted(unknown))} — "
                              "use questions, answer, id, tags")
            continue
        b.add(line, [str(q) for q in questions], str(item.get("answer") or ""),
              str(item["id"]) if item.get("id") is not None else None, _tags(item.get("tags")))
    return b.result()


def parse_faq_text(text: str, name: str) -> list[FaqEntry]:
    """Parse FAQ text by the file name's extension (.csv, .yaml/.yml); raise FaqFileError listing every problem."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return parse_csv(text.removeprefix("\ufeff"), name)
    if suffix in (".yaml", ".yml"):
        return parse_yaml(text.removeprefix("\ufeff"), name)
    raise FaqFileError(name, [f"unknown file type {suffix!r}: use .csv or .yaml"])


def load_faq(path: str | Path) -> list[FaqEntry]:
    """Parse a FAQ file by its extension (.csv, .yaml/.yml); raise FaqFileError listing every problem."""
    p = Path(path)
    if not p.exists():
        raise FaqFileError(str(p), ["file not found"])
    return parse_faq_text(p.read_text(encoding="utf-8-sig"), str(p))


def banking77_split(root: Path, shots: int, seed: int = 0) -> tuple[list[str], list[int], list[str], list[int]]:
    """BANKING77 as (train texts, train labels, test texts, test labels): `shots` training questions
    per intent drawn with `seed`, and the whole test set; labels index the sorted intent names."""
    import numpy as np

    def read(name: str) -> list[tuple[str, str]]:
        with (root / name).open(encoding="utf-8") as f:
            return [(r["text"], r["category"]) for r in csv.DictReader(f)]

    train, test = read("train.csv"), read("test.csv")
    labels = sorted({c for _, c in train})
    by: dict[str, list[str]] = {}
    for text, c in train:
        by.setdefault(c, []).append(text)
    rng = np.random.default_rng(seed)
    tx, ty = [], []
    for i, c in enumerate(labels):
        for j in rng.permutation(len(by[c]))[:shots]:
            tx.append(by[c][j])
            ty.append(i)
    return tx, ty, [t for t, _ in test], [labels.index(c) for _, c in test]
