"""FAQ answers remember the threshold they were given at and their place in the creator's daily
"were these right?" review (FaqAnswer.review, listed_at, list_outbox_id, fix_outbox_id,
learned_entry_id); FAQ examples may now be "negative" (a status value, no schema change)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = bot.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    # No backfill: older answers have no threshold (the daily list then uses the live model's).
    with op.batch_alter_table("faq_answers") as batch:
        batch.add_column(sa.Column("threshold", sa.Float(), nullable=True))
        batch.add_column(sa.Column("review", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("listed_at", UTC, nullable=True))
        batch.add_column(sa.Column("list_outbox_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("fix_outbox_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("learned_entry_id", sa.String(length=64), nullable=True))
        batch.create_index("ix_faq_answers_listed_at", ["listed_at"])
        batch.create_index("ix_faq_answers_fix_outbox_id", ["fix_outbox_id"])


def downgrade() -> None:
    op.execute("DELETE FROM faq_examples WHERE status = 'negative'")
    with op.batch_alter_table("faq_answers") as batch:
        batch.drop_index("ix_faq_answers_fix_outbox_id")
        batch.drop_index("ix_faq_answers_listed_at")
        for column in ("learned_entry_id", "fix_outbox_id", "list_outbox_id", "listed_at", "review", "threshold"):
            batch.drop_column(column)
