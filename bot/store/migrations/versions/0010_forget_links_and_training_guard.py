"""forget links and the training guard: which followers' words each FAQ example and outbox row
carries (for /forgetme by id, never by text), and the count of forgets a FAQ version is checked
against before it is published

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00

"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
DIGEST = 'handoff-digest'


def upgrade() -> None:
    op.create_table(
        'faq_example_people',
        sa.Column('example_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['example_id'], ['faq_examples.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('example_id', 'user_id'),
    )
    op.create_index('ix_faq_example_people_user_id', 'faq_example_people', ['user_id'])
    op.create_table(
        'outbox_people',
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('outbox_id', 'user_id'),
    )
    op.create_index('ix_outbox_people_user_id', 'outbox_people', ['user_id'])
    op.create_index('ix_outbox_sent_message', 'outbox', ['chat_id', 'sent_message_id'])
    op.create_table(
        'model_forgets',
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('kind'),
    )
    conn = op.get_bind()
    conn.execute(sa.text("insert into model_forgets (kind, generation) values ('faq', 0)"))
    _link_learned_examples(conn)
    _link_digests(conn)
    _attribute_replies_to_digests(conn)


def _link_learned_examples(conn: Any) -> None:
    """Examples learned from a handoff belong to the follower who asked."""
    handoffs = sa.table('handoffs', sa.column('user_id', sa.BigInteger), sa.column('question', sa.Text),
                        sa.column('learned_entry_id', sa.String))
    examples = sa.table('faq_examples', sa.column('id', sa.Integer), sa.column('entry_id', sa.String),
                        sa.column('question', sa.Text), sa.column('source', sa.String))
    links = sa.table('faq_example_people', sa.column('example_id', sa.Integer), sa.column('user_id', sa.BigInteger))
    learned = {(entry, question): eid for eid, entry, question in conn.execute(
        sa.select(examples.c.id, examples.c.entry_id, examples.c.question).where(examples.c.source == 'handoff'))}
    found = {(learned[(entry, (question or '').strip())], uid) for uid, question, entry in conn.execute(
        sa.select(handoffs.c.user_id, handoffs.c.question, handoffs.c.learned_entry_id)
        .where(handoffs.c.learned_entry_id.is_not(None))) if (entry, (question or '').strip()) in learned}
    rows = [{'example_id': e, 'user_id': u} for e, u in sorted(found)]
    for start in range(0, len(rows), BATCH):
        conn.execute(links.insert(), rows[start:start + BATCH])


def _link_digests(conn: Any) -> None:
    """A digest carries the names and questions of the followers it lists."""
    conn.execute(sa.text(
        "insert into outbox_people (outbox_id, user_id) "
        "select distinct o.id, h.user_id from outbox o join handoffs h on h.creator_outbox_id = o.id "
        "where o.purpose = :digest"), {'digest': DIGEST})


def _attribute_replies_to_digests(conn: Any) -> None:
    """A stored reply to a digest quotes it: it is about every follower the digest lists."""
    sent = {(int(c), int(m)): oid for oid, c, m in conn.execute(sa.text(
        "select o.id, o.chat_id, o.sent_message_id from outbox o "
        "where o.sent_message_id is not null and exists (select 1 from outbox_people p where p.outbox_id = o.id)"))}
    if not sent:
        return
    people: dict[int, list[int]] = {}
    for oid, uid in conn.execute(sa.text("select outbox_id, user_id from outbox_people")):
        people.setdefault(int(oid), []).append(int(uid))
    raw = sa.table('raw_updates', sa.column('id', sa.Integer), sa.column('payload', sa.JSON))
    index = sa.table('update_people', sa.column('raw_id', sa.Integer), sa.column('user_id', sa.BigInteger))
    last = 0
    while True:
        rows = conn.execute(sa.select(raw.c.id, raw.c.payload).where(raw.c.id > last)
                            .order_by(raw.c.id).limit(BATCH)).all()
        if not rows:
            break
        last = rows[-1][0]
        found: set[tuple[int, int]] = set()
        for rid, payload in rows:
            for key in _quoted_messages(payload):
                found |= {(rid, uid) for uid in people.get(sent.get(key, -1), [])}
        if found:
            known = {(r, u) for r, u in conn.execute(sa.select(index.c.raw_id, index.c.user_id).where(
                index.c.raw_id.in_(sorted({r for r, _ in found}))))}
            new = [{'raw_id': r, 'user_id': u} for r, u in sorted(found - known)]
            if new:
                conn.execute(index.insert(), new)


def _quoted_messages(payload: Any) -> list[tuple[int, int]]:
    if not isinstance(payload, dict):
        return []
    out = []
    for key, value in payload.items():
        if not isinstance(value, dict):
            continue
        message = value.get('message') if key == 'callback_query' else value.get('reply_to_message')
        chat = message.get('chat') if isinstance(message, dict) else None
        if isinstance(chat, dict) and isinstance(chat.get('id'), int) and isinstance(message.get('message_id'), int):
            out.append((chat['id'], message['message_id']))
    return out


def downgrade() -> None:
    op.drop_table('model_forgets')
    op.drop_index('ix_outbox_sent_message', table_name='outbox')
    op.drop_index('ix_outbox_people_user_id', table_name='outbox_people')
    op.drop_table('outbox_people')
    op.drop_index('ix_faq_example_people_user_id', table_name='faq_example_people')
    op.drop_table('faq_example_people')
