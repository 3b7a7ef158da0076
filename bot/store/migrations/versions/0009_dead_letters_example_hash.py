"""one word for a dead letter ("dead" in raw_updates and outbox); FAQ examples unique by a hash of the
question, not the text (PostgreSQL's btree rows hold at most 2,704 bytes); outbox rows name their
handoff in a typed column instead of a "handoff:ID" purpose

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:30:00

"""
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}  # names SQLite's unnamed constraint for batch mode


def _old_unique(bind: sa.engine.Connection) -> str:
    if bind.dialect.name == "postgresql":
        names = [u["name"] for u in sa.inspect(bind).get_unique_constraints("faq_examples")
                 if u["column_names"] == ["entry_id", "question"]]
        return names[0]
    return "uq_faq_examples_entry_id"


def upgrade() -> None:
    op.execute("UPDATE raw_updates SET status = 'dead' WHERE status = 'error'")
    op.execute("UPDATE outbox SET status = 'dead' WHERE status = 'failed'")
    bind = op.get_bind()
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("handoff_id", sa.Integer(), nullable=True))
        batch.create_index("ix_outbox_handoff_id", ["handoff_id"])
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("purpose", sa.String),
                      sa.column("handoff_id", sa.Integer))
    for row_id, purpose in bind.execute(sa.select(outbox.c.id, outbox.c.purpose).where(
            sa.or_(outbox.c.purpose.like("handoff:%"), outbox.c.purpose.like("relay:%")))).all():
        kind, _, handoff = purpose.partition(":")
        if handoff.isdigit():
            bind.execute(outbox.update().where(outbox.c.id == row_id).values(purpose=kind, handoff_id=int(handoff)))
    with op.batch_alter_table("faq_examples", naming_convention=SQLITE_NAMES) as batch:
        batch.add_column(sa.Column("question_hash", sa.String(length=64), nullable=True))
    examples = sa.table("faq_examples", sa.column("id", sa.Integer), sa.column("question", sa.Text),
                        sa.column("question_hash", sa.String))
    for row_id, question in bind.execute(sa.select(examples.c.id, examples.c.question)).all():
        bind.execute(examples.update().where(examples.c.id == row_id)
                     .values(question_hash=hashlib.sha256(question.encode()).hexdigest()))
    with op.batch_alter_table("faq_examples", naming_convention=SQLITE_NAMES) as batch:
        batch.drop_constraint(_old_unique(bind), type_="unique")
        batch.alter_column("question_hash", nullable=False)
        batch.create_unique_constraint("uq_faq_examples_entry_question_hash", ["entry_id", "question_hash"])


def downgrade() -> None:
    with op.batch_alter_table("faq_examples", naming_convention=SQLITE_NAMES) as batch:
        batch.drop_constraint("uq_faq_examples_entry_question_hash", type_="unique")
        batch.drop_column("question_hash")
        batch.create_unique_constraint("uq_faq_examples_entry_id", ["entry_id", "question"])
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_handoff_id")
        batch.drop_column("handoff_id")
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'dead'")
    op.execute("UPDATE raw_updates SET status = 'error' WHERE status = 'dead'")
