"""messages, their states, opt-outs, verifications; rate plans' service, accounts' SMS plan and low-balance alert

Revision ID: 0018
Revises: 0017

Every plan so far prices calls: `service` voice, a constant default on both backends.
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


DUE = sa.text('next_attempt_at IS NOT NULL')
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table('messages',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('product', sa.String(length=8), nullable=False),
    sa.Column('sender', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sealed_text', sa.Text(), nullable=True),
    sa.Column('encoding', sa.String(length=8), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('client_ref', sa.String(length=128), nullable=True),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('account_ref', sa.BigInteger(), nullable=True),
    sa.Column('rate_plan_id', sa.BigInteger(), nullable=True),
    sa.Column('prefix', sa.String(length=64), nullable=True),
    sa.Column('price', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('connection_id', sa.BigInteger(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_messages_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    op.create_index('ix_messages_due', 'messages', ['next_attempt_at'], unique=False, sqlite_where=DUE, postgresql_where=DUE)
    op.create_index('ix_messages_org_id', 'messages', ['org_id', 'id'], unique=False)
    op.create_table('message_parts',
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('connection_id', sa.BigInteger(), nullable=False),
    sa.Column('smsc_id', sa.String(length=64), nullable=False),
    sa.Column('smsc_alt_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_parts_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'seq', name=op.f('pk_message_parts'))
    )
    op.create_index('ix_message_parts_smsc_id', 'message_parts', ['connection_id', 'smsc_id'], unique=False)
    op.create_index('ix_message_parts_smsc_alt_id', 'message_parts', ['connection_id', 'smsc_alt_id'], unique=False)
    op.create_table('message_events',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_events_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_events'))
    )
    op.create_index('ix_message_events_message_id', 'message_events', ['message_id', 'id'], unique=False)
    op.create_table('early_receipts',
    sa.Column('connection_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('smsc_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('connection_id', 'smsc_id', name=op.f('pk_early_receipts'))
    )
    op.create_table('opt_outs',
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('keyword', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_opt_outs_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'number', name='pk_opt_outs')
    )
    op.create_table('verifications',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('recipient', sa.String(length=32), nullable=False),
    sa.Column('product', sa.String(length=8), nullable=False),
    sa.Column('sender', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('code_length', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_verifications_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_verifications_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verifications'))
    )
    op.create_index('ix_verifications_org_id', 'verifications', ['org_id', 'id'], unique=False)
    op.create_index('ix_verifications_pending', 'verifications', ['expires_at'], unique=False, sqlite_where=PENDING, postgresql_where=PENDING)
    op.add_column('rate_plans', sa.Column('service', sa.String(length=8), server_default='voice', nullable=False))
    with op.batch_alter_table('accounts') as batch:  # SQLite adds a foreign key by rebuilding the table
        batch.add_column(sa.Column('sms_rate_plan_id', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('low_balance', sa.BigInteger(), nullable=True))
        batch.create_foreign_key(op.f('fk_accounts_sms_rate_plan_id_rate_plans'), 'rate_plans', ['sms_rate_plan_id'], ['id'])


def downgrade() -> None:
    for name in ('verifications', 'opt_outs', 'early_receipts', 'message_events', 'message_parts', 'messages'):
        op.drop_table(name)
    with op.batch_alter_table('accounts') as batch:
        batch.drop_constraint(op.f('fk_accounts_sms_rate_plan_id_rate_plans'), type_='foreignkey')
        batch.drop_column('sms_rate_plan_id')
        batch.drop_column('low_balance')
    op.drop_column('rate_plans', 'service')
