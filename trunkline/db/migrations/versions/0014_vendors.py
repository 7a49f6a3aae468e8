"""vendors (terminating carriers on buy plans), and each call's gateway, vendor and vendor cost

Revision ID: 0014
Revises: 0013

The calls columns are nullable without default: a catalogue change on both backends, however
many calls are stored. Calls stored before it have no vendor.
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vendors',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rate_plan_id', sa.BigInteger(), nullable=False),
    sa.Column('gateways', sa.JSON(), nullable=False),
    sa.Column('description', sa.String(length=1024), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_vendors_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rate_plan_id'], ['rate_plans.id'], name=op.f('fk_vendors_rate_plan_id_rate_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendors')),
    sa.UniqueConstraint('org_id', 'name', name='uq_vendors_org_name')
    )
    op.add_column('calls', sa.Column('gateway', sa.String(length=128), nullable=True))
    op.add_column('calls', sa.Column('vendor_id', sa.BigInteger(), nullable=True))
    op.add_column('calls', sa.Column('vendor_cost', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.drop_column('vendor_cost')
        batch.drop_column('vendor_id')
        batch.drop_column('gateway')
    op.drop_table('vendors')
