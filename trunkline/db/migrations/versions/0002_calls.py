"""calls and daily call totals

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_totals',
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('rate_type', sa.String(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=64), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('answered', sa.BigInteger(), nullable=False),
    sa.Column('unrated', sa.BigInteger(), nullable=False),
    sa.Column('billsec', sa.BigInteger(), nullable=False),
    sa.Column('cost', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_call_totals_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'day', 'account_id', 'rate_type', 'prefix', name='pk_call_totals')
    )
    op.create_table('calls',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('call_id', sa.String(length=128), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('caller', sa.String(length=64), nullable=True),
    sa.Column('callee', sa.String(length=64), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=False),
    sa.Column('billsec', sa.Integer(), nullable=False),
    sa.Column('disposition', sa.String(length=32), nullable=True),
    sa.Column('hangup_cause', sa.String(length=64), nullable=True),
    sa.Column('direction', sa.String(length=16), nullable=True),
    sa.Column('rated', sa.Boolean(), nullable=False),
    sa.Column('unrated_reason', sa.String(length=32), nullable=True),
    sa.Column('cost', sa.BigInteger(), nullable=True),
    sa.Column('rate_id', sa.BigInteger(), nullable=True),
    sa.Column('prefix', sa.String(length=64), nullable=True),
    sa.Column('rate_type', sa.String(length=16), nullable=True),
    sa.Column('breakdown', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_calls_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('org_id', 'call_id', name='uq_calls_org_call_id')
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_org_account_start', ['org_id', 'account_id', 'start_at'], unique=False)
        batch_op.create_index('ix_calls_org_start', ['org_id', 'start_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_org_start')
        batch_op.drop_index('ix_calls_org_account_start')

    op.drop_table('calls')
    op.drop_table('call_totals')
