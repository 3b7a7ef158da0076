"""inboxes: channel direct messages and the creator's Business chats, drafts, inbox of each message

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = bot.store.models.UTCDateTime(timezone=True)
# SQLite reflects the old unnamed unique constraint under this name, so batch mode can drop it
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
OLD_UNIQUE = {"postgresql": "direct_messages_chat_id_message_id_direction_key",
              "sqlite": "uq_direct_messages_chat_id"}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('direct_messages', naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column('inbox', sa.String(length=12), server_default='bot', nullable=False))
        batch_op.add_column(sa.Column('business_connection_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('topic_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('from_creator', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_constraint(OLD_UNIQUE.get(dialect, OLD_UNIQUE['postgresql']), type_='unique')
        batch_op.create_unique_constraint('uq_direct_messages_message',
                                          ['chat_id', 'message_id', 'direction', 'inbox'])
        batch_op.create_index('ix_direct_messages_business_connection_id', ['business_connection_id'])
    with op.batch_alter_table('handoffs') as batch_op:
        batch_op.add_column(sa.Column('inbox', sa.String(length=12), server_default='bot', nullable=False))
        batch_op.add_column(sa.Column('business_connection_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('topic_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=8), server_default='handoff', nullable=False))
        batch_op.add_column(sa.Column('suggested_answer', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('suggested_entry_id', sa.String(length=64), nullable=True))
    with op.batch_alter_table('faq_answers') as batch_op:
        batch_op.add_column(sa.Column('inbox', sa.String(length=12), server_default='bot', nullable=False))
    with op.batch_alter_table('known_chats') as batch_op:
        batch_op.add_column(sa.Column('parent_chat_id', sa.BigInteger(), nullable=True))
    op.create_table(
        'business_connections',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('user_chat_id', sa.BigInteger(), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        sa.Column('can_reply', sa.Boolean(), nullable=False),
        sa.Column('can_read_messages', sa.Boolean(), nullable=False),
        sa.Column('accepted', sa.Boolean(), nullable=False),
        sa.Column('connected_at', UTC, nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_business_connections_user_id', 'business_connections', ['user_id'])
    op.create_table(
        'inbox_chats',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inbox', sa.String(length=12), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('topic_id', sa.BigInteger(), nullable=True),
        sa.Column('user_id', sa.BigInteger(), nullable=True),
        sa.Column('business_connection_id', sa.String(length=64), nullable=True),
        sa.Column('excluded', sa.Boolean(), nullable=False),
        sa.Column('creator_last_at', UTC, nullable=True),
        sa.Column('updated_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inbox', 'chat_id', 'topic_id', name='uq_inbox_chats_chat'),
    )
    op.create_index('ix_inbox_chats_user_id', 'inbox_chats', ['user_id'])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index('ix_inbox_chats_user_id', table_name='inbox_chats')
    op.drop_table('inbox_chats')
    op.drop_index('ix_business_connections_user_id', table_name='business_connections')
    op.drop_table('business_connections')
    with op.batch_alter_table('known_chats') as batch_op:
        batch_op.drop_column('parent_chat_id')
    with op.batch_alter_table('faq_answers') as batch_op:
        batch_op.drop_column('inbox')
    with op.batch_alter_table('handoffs') as batch_op:
        for column in ('suggested_entry_id', 'suggested_answer', 'kind', 'topic_id', 'business_connection_id',
                       'inbox'):
            batch_op.drop_column(column)
    op.execute(sa.text("DELETE FROM direct_messages WHERE inbox <> 'bot'"))
    with op.batch_alter_table('direct_messages') as batch_op:
        batch_op.drop_index('ix_direct_messages_business_connection_id')
        batch_op.drop_constraint('uq_direct_messages_message', type_='unique')
        batch_op.create_unique_constraint(OLD_UNIQUE.get(dialect, OLD_UNIQUE['postgresql']),
                                          ['chat_id', 'message_id', 'direction'])
        for column in ('from_creator', 'topic_id', 'business_connection_id', 'inbox'):
            batch_op.drop_column(column)
