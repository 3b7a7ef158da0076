"""creators: every row belongs to one creator (creator_id on every table of creator data); an existing
database becomes creator `default` (id 1) with nothing lost

Each table is rebuilt the same way on SQLite and PostgreSQL: the old one is renamed aside (its indexes
renamed or dropped so their names are free), the new one created with `creator_id` in its keys, the rows
copied with creator 1, the old one dropped (children first). Row counts are checked before the old tables go.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 20:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.models import UTCDateTime

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ASIDE = "_pre14"
# parents before children (the order of Base.metadata.sorted_tables when this revision was written)
TABLES = ['ask_snapshots', 'business_connections', 'channel_posts', 'chat_dialogs', 'direct_messages', 'error_notices', 'faq_answers', 'faq_entries', 'follower_counts', 'followers', 'handoffs', 'inbox_chats', 'known_chats', 'live_models', 'membership_events', 'model_forgets', 'outbox', 'posting_plans', 'raw_updates', 'reminders', 'runtime_leases', 'send_pace', 'sentiment_alerts', 'setting_overrides', 'comments', 'faq_examples', 'outbox_people', 'post_reactions', 'post_tags', 'surge_responses', 'update_people', 'faq_example_people', 'sentiment_corrections']
SERVED = ["raw_updates", "followers", "faq_entries", "channel_posts", "reminders", "setting_overrides", "outbox"]
INTEGER_KEYS = ['ask_snapshots', 'channel_posts', 'comments', 'direct_messages', 'faq_answers', 'faq_examples', 'follower_counts', 'handoffs', 'inbox_chats', 'membership_events', 'outbox', 'posting_plans', 'raw_updates', 'reminders', 'sentiment_alerts', 'sentiment_corrections', 'surge_responses']  # tables whose `id` counts up: PostgreSQL's sequence goes on from the copied rows


def _create_tables() -> None:
    op.create_table('creators',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('token_env', sa.String(length=128), nullable=False),
        sa.Column('user_ids', sa.JSON(), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('down_reason', sa.Text(), nullable=True),
        sa.Column('down_since', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name')
        )
    op.create_table('ask_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('start', UTCDateTime(timezone=True), nullable=False),
        sa.Column('end', UTCDateTime(timezone=True), nullable=False),
        sa.Column('questions', sa.Integer(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_ask_snapshots_created_at'), 'ask_snapshots', ['created_at'], unique=False)
    op.create_index(op.f('ix_ask_snapshots_creator_id'), 'ask_snapshots', ['creator_id'], unique=False)
    op.create_table('business_connections',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('user_chat_id', sa.BigInteger(), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        sa.Column('can_reply', sa.Boolean(), nullable=False),
        sa.Column('can_read_messages', sa.Boolean(), nullable=False),
        sa.Column('accepted', sa.Boolean(), nullable=False),
        sa.Column('connected_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'id')
        )
    op.create_index(op.f('ix_business_connections_user_id'), 'business_connections', ['user_id'], unique=False)
    op.create_table('channel_posts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('posted_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('edited_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('discussion_message_id', sa.BigInteger(), nullable=True),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('creator_id', 'chat_id', 'message_id', name='uq_channel_posts_message')
        )
    op.create_index(op.f('ix_channel_posts_creator_id'), 'channel_posts', ['creator_id'], unique=False)
    op.create_index(op.f('ix_channel_posts_discussion_message_id'), 'channel_posts', ['discussion_message_id'], unique=False)
    op.create_index(op.f('ix_channel_posts_posted_at'), 'channel_posts', ['posted_at'], unique=False)
    op.create_table('chat_dialogs',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'chat_id')
        )
    op.create_table('direct_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('inbox', sa.String(length=12), server_default='bot', nullable=False),
        sa.Column('business_connection_id', sa.String(length=64), nullable=True),
        sa.Column('topic_id', sa.BigInteger(), nullable=True),
        sa.Column('from_creator', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('content_type', sa.String(length=20), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('update_id', sa.BigInteger(), nullable=True),
        sa.Column('sentiment', sa.String(length=10), nullable=True),
        sa.Column('p_negative', sa.Float(), nullable=True),
        sa.Column('p_neutral', sa.Float(), nullable=True),
        sa.Column('p_positive', sa.Float(), nullable=True),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('creator_id', 'chat_id', 'message_id', 'direction', 'inbox', name='uq_direct_messages_message')
        )
    op.create_index(op.f('ix_direct_messages_business_connection_id'), 'direct_messages', ['business_connection_id'], unique=False)
    op.create_index(op.f('ix_direct_messages_created_at'), 'direct_messages', ['created_at'], unique=False)
    op.create_index(op.f('ix_direct_messages_creator_id'), 'direct_messages', ['creator_id'], unique=False)
    op.create_index(op.f('ix_direct_messages_user_id'), 'direct_messages', ['user_id'], unique=False)
    op.create_table('error_notices',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=200), nullable=False),
        sa.Column('last_notified_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'kind')
        )
    op.create_table('faq_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('question', sa.Text(), nullable=True),
        sa.Column('entry_id', sa.String(length=64), nullable=False),
        sa.Column('confidence', sa.Float(), nullable=False),
        sa.Column('model_version', sa.String(length=20), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('inbox', sa.String(length=12), server_default='bot', nullable=False),
        sa.Column('feedback', sa.String(length=4), nullable=True),
        sa.Column('feedback_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('threshold', sa.Float(), nullable=True),
        sa.Column('review', sa.String(length=10), nullable=True),
        sa.Column('listed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('list_outbox_id', sa.Integer(), nullable=True),
        sa.Column('fix_outbox_id', sa.Integer(), nullable=True),
        sa.Column('learned_entry_id', sa.String(length=64), nullable=True),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_faq_answers_created_at'), 'faq_answers', ['created_at'], unique=False)
    op.create_index(op.f('ix_faq_answers_creator_id'), 'faq_answers', ['creator_id'], unique=False)
    op.create_index(op.f('ix_faq_answers_fix_outbox_id'), 'faq_answers', ['fix_outbox_id'], unique=False)
    op.create_index(op.f('ix_faq_answers_listed_at'), 'faq_answers', ['listed_at'], unique=False)
    op.create_index(op.f('ix_faq_answers_user_id'), 'faq_answers', ['user_id'], unique=False)
    op.create_table('faq_entries',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'id')
        )
    op.create_table('follower_counts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('taken_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_follower_counts_creator_id'), 'follower_counts', ['creator_id'], unique=False)
    op.create_index(op.f('ix_follower_counts_taken_at'), 'follower_counts', ['taken_at'], unique=False)
    op.create_table('followers',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('first_name', sa.String(length=128), nullable=False),
        sa.Column('last_name', sa.String(length=128), nullable=True),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('language_code', sa.String(length=16), nullable=True),
        sa.Column('first_seen', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'user_id')
        )
    op.create_table('handoffs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('question', sa.Text(), nullable=True),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('confidence', sa.Float(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('creator_outbox_id', sa.Integer(), nullable=True),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('learned_entry_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('inbox', sa.String(length=12), server_default='bot', nullable=False),
        sa.Column('business_connection_id', sa.String(length=64), nullable=True),
        sa.Column('topic_id', sa.BigInteger(), nullable=True),
        sa.Column('kind', sa.String(length=8), server_default='handoff', nullable=False),
        sa.Column('suggested_answer', sa.Text(), nullable=True),
        sa.Column('suggested_entry_id', sa.String(length=64), nullable=True),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_handoffs_creator_id'), 'handoffs', ['creator_id'], unique=False)
    op.create_index(op.f('ix_handoffs_creator_outbox_id'), 'handoffs', ['creator_outbox_id'], unique=False)
    op.create_index(op.f('ix_handoffs_status'), 'handoffs', ['status'], unique=False)
    op.create_index(op.f('ix_handoffs_user_id'), 'handoffs', ['user_id'], unique=False)
    op.create_table('inbox_chats',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inbox', sa.String(length=12), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('topic_id', sa.BigInteger(), nullable=True),
        sa.Column('user_id', sa.BigInteger(), nullable=True),
        sa.Column('business_connection_id', sa.String(length=64), nullable=True),
        sa.Column('excluded', sa.Boolean(), nullable=False),
        sa.Column('creator_last_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('creator_id', 'inbox', 'chat_id', 'topic_id', name='uq_inbox_chats_chat')
        )
    op.create_index(op.f('ix_inbox_chats_creator_id'), 'inbox_chats', ['creator_id'], unique=False)
    op.create_index(op.f('ix_inbox_chats_user_id'), 'inbox_chats', ['user_id'], unique=False)
    op.create_table('known_chats',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('type', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=256), nullable=False),
        sa.Column('bot_status', sa.String(length=20), nullable=False),
        sa.Column('parent_chat_id', sa.BigInteger(), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'chat_id')
        )
    op.create_table('live_models',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('published_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'kind')
        )
    op.create_table('membership_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('event', sa.String(length=5), nullable=False),
        sa.Column('old_status', sa.String(length=20), nullable=False),
        sa.Column('new_status', sa.String(length=20), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('update_id', sa.BigInteger(), nullable=True),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('creator_id', 'update_id', name='uq_membership_events_update')
        )
    op.create_index('ix_membership_chat_at', 'membership_events', ['creator_id', 'chat_id', 'at'], unique=False)
    op.create_index(op.f('ix_membership_events_creator_id'), 'membership_events', ['creator_id'], unique=False)
    op.create_table('model_forgets',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'kind')
        )
    op.create_table('outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('method', sa.String(length=40), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('file_field', sa.String(length=20), nullable=True),
        sa.Column('file_name', sa.String(length=128), nullable=True),
        sa.Column('file_data', sa.LargeBinary(), nullable=True),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('handoff_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('sent_message_id', sa.BigInteger(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_outbox_chat_id'), 'outbox', ['chat_id'], unique=False)
    op.create_index(op.f('ix_outbox_creator_id'), 'outbox', ['creator_id'], unique=False)
    op.create_index(op.f('ix_outbox_handoff_id'), 'outbox', ['handoff_id'], unique=False)
    op.create_index('ix_outbox_queue', 'outbox', ['creator_id', 'status', 'chat_id', 'id'], unique=False)
    op.create_index('ix_outbox_sent_message', 'outbox', ['creator_id', 'chat_id', 'sent_message_id'], unique=False)
    op.create_index('ix_outbox_status_due', 'outbox', ['status', 'next_attempt_at'], unique=False)
    op.create_table('posting_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('start', UTCDateTime(timezone=True), nullable=False),
        sa.Column('end', UTCDateTime(timezone=True), nullable=False),
        sa.Column('slots', sa.JSON(), nullable=False),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.Column('explore_share', sa.Float(), nullable=False),
        sa.Column('unmet', sa.JSON(), nullable=False),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_posting_plans_created_at'), 'posting_plans', ['created_at'], unique=False)
    op.create_index(op.f('ix_posting_plans_creator_id'), 'posting_plans', ['creator_id'], unique=False)
    op.create_index(op.f('ix_posting_plans_start'), 'posting_plans', ['start'], unique=False)
    op.create_table('raw_updates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('update_id', sa.BigInteger(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=64), nullable=False),
        sa.Column('chat_key', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('processed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('not_before', UTCDateTime(timezone=True), nullable=False),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('creator_id', 'dedupe_key', name='uq_raw_updates_dedupe')
        )
    op.create_index(op.f('ix_raw_updates_creator_id'), 'raw_updates', ['creator_id'], unique=False)
    op.create_index('ix_raw_updates_queue', 'raw_updates', ['creator_id', 'status', 'chat_key', 'update_id'], unique=False)
    op.create_index(op.f('ix_raw_updates_status'), 'raw_updates', ['status'], unique=False)
    op.create_index(op.f('ix_raw_updates_update_id'), 'raw_updates', ['update_id'], unique=False)
    op.create_table('reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('due_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('recurrence', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('sent_count', sa.Integer(), nullable=False),
        sa.Column('last_sent_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('missed_count', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_reminders_creator_id'), 'reminders', ['creator_id'], unique=False)
    op.create_index('ix_reminders_status_due', 'reminders', ['creator_id', 'status', 'due_at'], unique=False)
    op.create_table('runtime_leases',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('holder', sa.String(length=64), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'name')
        )
    op.create_table('send_pace',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('next_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'chat_id')
        )
    op.create_table('sentiment_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=True),
        sa.Column('negative', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('baseline', sa.Float(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_sentiment_alerts_created_at'), 'sentiment_alerts', ['created_at'], unique=False)
    op.create_index(op.f('ix_sentiment_alerts_creator_id'), 'sentiment_alerts', ['creator_id'], unique=False)
    op.create_table('setting_overrides',
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('creator_id', 'key')
        )
    op.create_table('comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.BigInteger(), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('sentiment', sa.String(length=10), nullable=True),
        sa.Column('p_negative', sa.Float(), nullable=True),
        sa.Column('p_neutral', sa.Float(), nullable=True),
        sa.Column('p_positive', sa.Float(), nullable=True),
        sa.Column('sentiment_source', sa.String(length=10), nullable=True),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['post_id'], ['channel_posts.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('creator_id', 'chat_id', 'message_id', name='uq_comments_message')
        )
    op.create_index(op.f('ix_comments_created_at'), 'comments', ['created_at'], unique=False)
    op.create_index(op.f('ix_comments_creator_id'), 'comments', ['creator_id'], unique=False)
    op.create_index(op.f('ix_comments_post_id'), 'comments', ['post_id'], unique=False)
    op.create_index(op.f('ix_comments_sentiment'), 'comments', ['sentiment'], unique=False)
    op.create_index(op.f('ix_comments_user_id'), 'comments', ['user_id'], unique=False)
    op.create_table('faq_examples',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.String(length=64), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('question_hash', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id', 'entry_id'], ['faq_entries.creator_id', 'faq_entries.id'], name='fk_faq_examples_entry', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('creator_id', 'entry_id', 'question_hash', name='uq_faq_examples_entry_question_hash')
        )
    op.create_index(op.f('ix_faq_examples_creator_id'), 'faq_examples', ['creator_id'], unique=False)
    op.create_index(op.f('ix_faq_examples_entry_id'), 'faq_examples', ['entry_id'], unique=False)
    op.create_table('outbox_people',
        sa.Column('outbox_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('outbox_id', 'user_id')
        )
    op.create_index(op.f('ix_outbox_people_creator_id'), 'outbox_people', ['creator_id'], unique=False)
    op.create_index(op.f('ix_outbox_people_user_id'), 'outbox_people', ['user_id'], unique=False)
    op.create_table('post_reactions',
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['post_id'], ['channel_posts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('post_id')
        )
    op.create_index(op.f('ix_post_reactions_creator_id'), 'post_reactions', ['creator_id'], unique=False)
    op.create_table('post_tags',
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('tag', sa.String(length=64), nullable=False),
        sa.Column('weight', sa.Float(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['post_id'], ['channel_posts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('post_id', 'tag')
        )
    op.create_index(op.f('ix_post_tags_creator_id'), 'post_tags', ['creator_id'], unique=False)
    op.create_table('surge_responses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=True),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.Column('draft', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('usual_share', sa.Float(), nullable=False),
        sa.Column('follow_up_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('followed_up_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('recovery', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['alert_id'], ['sentiment_alerts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_surge_responses_alert_id'), 'surge_responses', ['alert_id'], unique=False)
    op.create_index(op.f('ix_surge_responses_creator_id'), 'surge_responses', ['creator_id'], unique=False)
    op.create_index(op.f('ix_surge_responses_follow_up_at'), 'surge_responses', ['follow_up_at'], unique=False)
    op.create_table('update_people',
        sa.Column('raw_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['raw_id'], ['raw_updates.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('raw_id', 'user_id')
        )
    op.create_index(op.f('ix_update_people_creator_id'), 'update_people', ['creator_id'], unique=False)
    op.create_index(op.f('ix_update_people_user_id'), 'update_people', ['user_id'], unique=False)
    op.create_table('faq_example_people',
        sa.Column('example_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['example_id'], ['faq_examples.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('example_id', 'user_id')
        )
    op.create_index(op.f('ix_faq_example_people_creator_id'), 'faq_example_people', ['creator_id'], unique=False)
    op.create_index(op.f('ix_faq_example_people_user_id'), 'faq_example_people', ['user_id'], unique=False)
    op.create_table('sentiment_corrections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('old_label', sa.String(length=10), nullable=True),
        sa.Column('new_label', sa.String(length=10), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('creator_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['creator_id'], ['creators.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_sentiment_corrections_comment_id'), 'sentiment_corrections', ['comment_id'], unique=False)
    op.create_index(op.f('ix_sentiment_corrections_creator_id'), 'sentiment_corrections', ['creator_id'], unique=False)
        # ### end Alembic commands ###


def upgrade() -> None:
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    existing = set(sa.inspect(conn).get_table_names())
    # a database that served a creator (not one that was only created: 0010 puts a row in model_forgets)
    had_data = any(conn.execute(sa.text(f'SELECT 1 FROM "{t}" LIMIT 1')).first() for t in SERVED if t in existing)
    for table in TABLES:
        op.rename_table(table, table + ASIDE)
        if pg:  # index names (keys and unique constraints too) are schema-wide: move them aside
            rows = conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE tablename = :t"), {"t": table + ASIDE})
            for (name,) in rows.all():
                op.execute(f'ALTER INDEX "{name}" RENAME TO "{name[:50]}{ASIDE}"')
        else:  # SQLite: explicit indexes have database-wide names (its own for constraints do not)
            for index in sa.inspect(conn).get_indexes(table + ASIDE):
                if index["name"]:
                    op.drop_index(index["name"], table_name=table + ASIDE)
    _create_tables()
    conn.execute(sa.text("INSERT INTO creators (id, name, token_env, user_ids, settings, status, source, created_at, "
                         "updated_at) VALUES (1, 'default', '', '[]', '{}', :status, 'config', :now, :now)"),
                 {"status": "active" if had_data else "placeholder", "now": _now()})
    for table in TABLES:
        old = [c["name"] for c in sa.inspect(conn).get_columns(table + ASIDE)]
        cols = ", ".join(f'"{c}"' for c in old)
        conn.execute(sa.text(f'INSERT INTO "{table}" ({cols}, creator_id) SELECT {cols}, 1 FROM "{table}{ASIDE}"'))
        before = conn.execute(sa.text(f'SELECT count(*) FROM "{table}{ASIDE}"')).scalar()
        after = conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar()
        if before != after:
            raise RuntimeError(f"{table}: {before} rows before, {after} after: nothing was changed")
    for table in reversed(TABLES):
        op.drop_table(table + ASIDE)
    if pg:
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('creators', 'id'), 1)"))
        for table in INTEGER_KEYS:
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"COALESCE((SELECT max(id) FROM \"{table}\"), 0) + 1, false)"))


def _now() -> object:
    import datetime as dt
    return dt.datetime.now(dt.UTC)


def downgrade() -> None:
    raise NotImplementedError("creators cannot be merged back into one: restore the backup taken before upgrading")
