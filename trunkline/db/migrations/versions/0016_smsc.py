"""SMSC connections and SMS routes

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('smsc_connections',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('host', sa.String(length=253), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.String(length=15), nullable=False),
    sa.Column('password_sealed', sa.Text(), nullable=False),
    sa.Column('system_type', sa.String(length=12), nullable=False),
    sa.Column('bind_mode', sa.String(length=32), nullable=False),
    sa.Column('messages_per_second', sa.Integer(), nullable=False),
    sa.Column('window_size', sa.Integer(), nullable=False),
    sa.Column('source_ton', sa.Integer(), nullable=True),
    sa.Column('source_npi', sa.Integer(), nullable=True),
    sa.Column('dest_ton', sa.Integer(), nullable=False),
    sa.Column('dest_npi', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_smsc_connections_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_smsc_connections')),
    sa.UniqueConstraint('org_id', 'name', name='uq_smsc_connections_org_name')
    )
    op.create_table('sms_routes',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('product', sa.String(length=8), nullable=True),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('connection_id', sa.BigInteger(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['smsc_connections.id'], name=op.f('fk_sms_routes_connection_id_smsc_connections')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_sms_routes_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_routes'))
    )
    op.create_index('ix_sms_routes_org_prefix', 'sms_routes', ['org_id', 'prefix'], unique=False)
    op.create_index('ix_sms_routes_connection_id', 'sms_routes', ['connection_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sms_routes_connection_id', table_name='sms_routes')
    op.drop_index('ix_sms_routes_org_prefix', table_name='sms_routes')
    op.drop_table('sms_routes')
    op.drop_table('smsc_connections')
