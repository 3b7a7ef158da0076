"""follower_copies: whose words a derived row carries (a question-theme snapshot's keyword, a surge's
summary and draft, the creator's FAQ dialog pre-filled from a theme), so /forgetme finds them by id;
export_files: where `creatorbot export --out` wrote its files; reminders: attempts, retry_at, last_error
(a reminder whose delivery failed is tried again under the one retry policy)

Existing sentiment alerts get their provenance from the comments their buttons name (outbox_people),
so an alert written before this revision is found the same way as a new one.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:30:00

"""
import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.models import UTCDateTime

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RELABEL = re.compile(r"^sl:([0-9]+):")  # bot.kernel.buttons.RELABEL as written until now


def upgrade() -> None:
    op.create_table('follower_copies',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('row_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'kind', 'row_id', 'user_id'),
        )
    op.create_index('ix_follower_copies_person', 'follower_copies', ['creator_id', 'user_id'], unique=False)
    op.create_table('export_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('path', sa.Text(), nullable=False),
        sa.Column('written_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        )
    op.create_index('ix_export_files_creator_id', 'export_files', ['creator_id'], unique=False)
    with op.batch_alter_table("reminders") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("retry_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    conn = op.get_bind()
    alerts = conn.execute(sa.text("SELECT id, creator_id, params FROM outbox WHERE purpose = 'sentiment-alert'"))
    for outbox_id, creator_id, params in alerts.fetchall():
        params = json.loads(params) if isinstance(params, str) else params
        ids = set()
        for line in (params or {}).get("buttons") or []:
            for _label, data in line:
                found = _RELABEL.match(str(data))
                if found:
                    ids.add(int(found.group(1)))
        if not ids:
            continue
        users = conn.execute(sa.text("SELECT DISTINCT user_id FROM comments WHERE creator_id = :c AND user_id IS NOT NULL"
                                     " AND id IN (" + ",".join(str(i) for i in sorted(ids)) + ")"),
                             {"c": creator_id}).scalars().all()
        for user_id in users:
            conn.execute(sa.text("INSERT INTO outbox_people (creator_id, outbox_id, user_id) VALUES (:c, :o, :u)"
                                 " ON CONFLICT DO NOTHING"), {"c": creator_id, "o": outbox_id, "u": user_id})


def downgrade() -> None:
    with op.batch_alter_table("reminders") as batch:
        for column in ("last_error", "retry_at", "attempts"):
            batch.drop_column(column)
    op.drop_index('ix_export_files_creator_id', table_name='export_files')
    op.drop_table('export_files')
    op.drop_index('ix_follower_copies_person', table_name='follower_copies')
    op.drop_table('follower_copies')
