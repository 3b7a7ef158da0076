"""update people: which persons each raw update is about (for /forgetme by id)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 01:50:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'update_people',
        sa.Column('update_id', sa.BigInteger(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['update_id'], ['raw_updates.update_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('update_id', 'user_id'),
    )
    op.create_index('ix_update_people_user_id', 'update_people', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_update_people_user_id', table_name='update_people')
    op.drop_table('update_people')
