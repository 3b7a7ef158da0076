"""live models: the FAQ version every worker answers with, recorded in the database

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = bot.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    # No backfill: until the first publication, workers read the pointer file in the data directory.
    op.create_table(
        'live_models',
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('published_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('kind'),
    )


def downgrade() -> None:
    op.drop_table('live_models')
