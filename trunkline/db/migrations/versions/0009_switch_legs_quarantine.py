"""Linked call legs, endpoint settings for reading and billing CDRs, and the CDR quarantine

Revision ID: 0009
Revises: 0008

calls: leg, linked_id (nullable) and billed (default true: every call stored so far was
billed). endpoints: timezone (default UTC, as CDRs were read before), billed_leg (default a)
and push_limit (null: the server default). cdr_quarantine holds switch CDRs that could not
be read, byte for byte.
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('calls', sa.Column('leg', sa.String(length=1), nullable=True))
    op.add_column('calls', sa.Column('linked_id', sa.String(length=128), nullable=True))
    op.add_column('calls', sa.Column('billed', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('endpoints', sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
    op.add_column('endpoints', sa.Column('billed_leg', sa.String(length=4), server_default='a', nullable=False))
    op.add_column('endpoints', sa.Column('push_limit', sa.Integer(), nullable=True))
    op.create_table('cdr_quarantine',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('endpoint_id', sa.BigInteger(), nullable=True),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('error', sa.String(length=1000), nullable=False),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('call_ids', sa.JSON(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_cdr_quarantine_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cdr_quarantine')),
    sa.UniqueConstraint('org_id', 'digest', name='uq_cdr_quarantine_org_digest')
    )
    op.create_index('ix_cdr_quarantine_org_status', 'cdr_quarantine', ['org_id', 'status', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cdr_quarantine_org_status', table_name='cdr_quarantine')
    op.drop_table('cdr_quarantine')
    with op.batch_alter_table('endpoints') as batch:
        batch.drop_column('push_limit')
        batch.drop_column('billed_leg')
        batch.drop_column('timezone')
    with op.batch_alter_table('calls') as batch:
        batch.drop_column('billed')
        batch.drop_column('linked_id')
        batch.drop_column('leg')
