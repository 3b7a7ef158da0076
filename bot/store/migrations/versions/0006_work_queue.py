"""the database is the work queue: claims and leases, update_id reuse, fleet-wide send pace, roles

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 01:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import bot.store.models
from bot.store.updates import chat_key, dedupe_key, update_kind


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UTC = bot.store.models.UTCDateTime(timezone=True)


def _raw_updates_table(name: str) -> sa.Table:
    return op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('update_id', sa.BigInteger(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=64), nullable=False),
        sa.Column('chat_key', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('received_at', UTC, nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('processed_at', UTC, nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('not_before', UTC, nullable=False),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('lease_until', UTC, nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_raw_updates'),
        sa.UniqueConstraint('dedupe_key', name='uq_raw_updates_dedupe_key'),
    )


def upgrade() -> None:
    new = _raw_updates_table('raw_updates_queue')
    conn = op.get_bind()
    old = sa.table('raw_updates', sa.column('update_id'), sa.column('kind'), sa.column('payload', sa.JSON()),
                   sa.column('received_at', UTC), sa.column('status'), sa.column('processed_at', UTC),
                   sa.column('error'))
    rows = [dict(r._mapping) for r in conn.execute(sa.select(old).order_by(old.c.update_id))]
    for start in range(0, len(rows), 500):
        conn.execute(new.insert(), [
            {**r, 'dedupe_key': dedupe_key(r['payload']), 'chat_key': chat_key(r['payload']),
             'kind': r['kind'] or update_kind(r['payload']), 'attempts': 0, 'not_before': r['received_at']}
            for r in rows[start:start + 500]])
    with op.batch_alter_table('raw_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_updates_status')
    op.drop_table('raw_updates')
    op.rename_table('raw_updates_queue', 'raw_updates')
    op.create_index('ix_raw_updates_status', 'raw_updates', ['status'])
    op.create_index('ix_raw_updates_update_id', 'raw_updates', ['update_id'])
    op.create_index('ix_raw_updates_queue', 'raw_updates', ['status', 'chat_key', 'update_id'])

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_until', UTC, nullable=True))
        batch_op.create_index('ix_outbox_queue', ['status', 'chat_id', 'id'])

    op.create_table(
        'send_pace',
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('next_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('chat_id'),
    )
    op.create_table(
        'runtime_leases',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('holder', sa.String(length=64), nullable=False),
        sa.Column('expires_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('runtime_leases')
    op.drop_table('send_pace')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_queue')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')
    op.drop_index('ix_raw_updates_queue', 'raw_updates')
    op.drop_index('ix_raw_updates_update_id', 'raw_updates')
    op.drop_index('ix_raw_updates_status', 'raw_updates')
    old = op.create_table(
        'raw_updates_old',
        sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('received_at', UTC, nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('processed_at', UTC, nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('update_id'),
    )
    conn = op.get_bind()
    conn.execute(sa.text(
        "INSERT INTO raw_updates_old (update_id, kind, payload, received_at, status, processed_at, error) "
        "SELECT update_id, kind, payload, received_at, status, processed_at, error FROM raw_updates r "
        "WHERE r.id = (SELECT max(id) FROM raw_updates q WHERE q.update_id = r.update_id)"))
    op.drop_table('raw_updates')
    op.rename_table('raw_updates_old', 'raw_updates')
    op.create_index('ix_raw_updates_status', 'raw_updates', ['status'])
