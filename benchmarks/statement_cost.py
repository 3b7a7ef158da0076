"""CPU per call of the hot path's statements, through the ORM and as Core built once (issue 30).

Each statement runs in its own transaction on a fresh SQLite file, `--calls` times, timed with
`time.process_time` (CPU, not wall time): the same row change written the way the ORM takes it (an entity
statement with literal values, or an object and a flush) and the way the bot runs it now (a Core statement on
the table, built once, its values bound, on the session's connection: `bot/store/db.py` `core`).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/statement_cost.py [--calls 1500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bot.faq.answering import _SET_OUTBOX  # noqa: E402
from bot.store.db import core, migrated_sessions, plain_update  # noqa: E402
from bot.store.models import FaqAnswer, OutboxMessage, utcnow  # noqa: E402
from bot.store.outbox_queue import OUTBOX, mark_sent  # noqa: E402
from bot.store.scope import insert_row  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500)
    n = parser.parse_args().calls
    sessions = migrated_sessions(f"sqlite:///{tempfile.mkdtemp()}/statements.db")
    with sessions() as s, s.begin():
        s.add_all(OutboxMessage(chat_id=1000 + i, method="text", params={"text": "x"}, claimed_by="w")
                  for i in range(3 * n))

    def per_call(work: Callable[[Session, int], Any], first: int = 0) -> float:
        start = time.process_time()
        for i in range(n):
            with sessions() as s, s.begin():
                work(s, first + i + 1)
        return (time.process_time() - start) / n * 1e6

    def orm_mark(s: Session, i: int) -> None:
        s.execute(plain_update(OutboxMessage).where(OutboxMessage.id == i, OutboxMessage.claimed_by == "w",
                                                    OutboxMessage.status == "pending")
                  .values(status="sent", lease_until=None, sent_at=utcnow(), attempts=OutboxMessage.attempts + 1,
                          sent_message_id=5))

    def orm_answer(s: Session, i: int) -> None:
        answer = FaqAnswer(user_id=i, chat_id=i, question="q", entry_id="e", confidence=0.9, model_version="v")
        s.add(answer)
        s.flush()
        answer.outbox_id = i

    def core_answer(s: Session, i: int) -> None:
        answer_id = insert_row(s, FaqAnswer, {"user_id": i, "chat_id": i, "question": "q", "entry_id": "e",
                                              "confidence": 0.9, "model_version": "v"})
        core(s, _SET_OUTBOX, {"answer_id": answer_id, "outbox_id": i})

    rows = [
        ("an empty transaction", per_call(lambda s, i: None), None),
        ("is the row still ours (SELECT by id)",
         per_call(lambda s, i: s.scalar(select(OutboxMessage.id).where(
             OutboxMessage.id == i, OutboxMessage.claimed_by == "w", OutboxMessage.status == "pending"))),
         per_call(lambda s, i: OUTBOX.holds(s, "w", i), n)),
        ("mark a row sent (UPDATE by id)", per_call(orm_mark), per_call(lambda s, i: mark_sent(s, i, "w", 5), n)),
        ("a FAQ answer and its outbox id (INSERT + UPDATE)", per_call(orm_answer), per_call(core_answer, n)),
    ]
    print(f"# {n} calls each, CPU µs per call (transaction included), SQLite")
    print("| statement | ORM | Core, built once |")
    print("|---|---|---|")
    for name, orm, built in rows:
        print(f"| {name} | {orm:.0f} | {'' if built is None else f'{built:.0f}'} |")


if __name__ == "__main__":
    main()
