"""what followers ask (ask_snapshots), surge responses with drafts and mood follow-ups, weekly posting plans

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 09:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.models import UTCDateTime

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ask_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_ask_snapshots_created_at", "ask_snapshots", ["created_at"])
    op.create_table(
        "surge_responses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("sentiment_alerts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("draft", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("usual_share", sa.Float(), nullable=False),
        sa.Column("follow_up_at", UTCDateTime(), nullable=False),
        sa.Column("followed_up_at", UTCDateTime(), nullable=True),
        sa.Column("recovery", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_surge_responses_alert_id", "surge_responses", ["alert_id"])
    op.create_index("ix_surge_responses_follow_up_at", "surge_responses", ["follow_up_at"])
    op.create_table(
        "posting_plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=False),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("explore_share", sa.Float(), nullable=False),
        sa.Column("unmet", sa.JSON(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_posting_plans_start", "posting_plans", ["start"])
    op.create_index("ix_posting_plans_created_at", "posting_plans", ["created_at"])


def downgrade() -> None:
    op.drop_table("posting_plans")
    op.drop_table("surge_responses")
    op.drop_table("ask_snapshots")
