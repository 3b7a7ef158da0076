"""update people: which persons each stored update is about (for /forgetme by id, never by text)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.updates import people_in

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def upgrade() -> None:
    op.create_table(
        'update_people',
        sa.Column('raw_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['raw_id'], ['raw_updates.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('raw_id', 'user_id'),
    )
    op.create_index('ix_update_people_user_id', 'update_people', ['user_id'])
    # Index the updates already stored, so /forgetme finds them too.
    conn = op.get_bind()
    raw = sa.table('raw_updates', sa.column('id', sa.Integer), sa.column('payload', sa.JSON))
    people = sa.table('update_people', sa.column('raw_id', sa.Integer), sa.column('user_id', sa.BigInteger))
    last = 0
    while True:
        rows = conn.execute(sa.select(raw.c.id, raw.c.payload).where(raw.c.id > last)
                            .order_by(raw.c.id).limit(BATCH)).all()
        if not rows:
            break
        found = [{"raw_id": rid, "user_id": pid} for rid, payload in rows for pid in sorted(people_in(payload))]
        if found:
            conn.execute(people.insert(), found)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index('ix_update_people_user_id', table_name='update_people')
    op.drop_table('update_people')
