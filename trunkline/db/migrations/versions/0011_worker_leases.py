"""worker_leases: snowflake worker ids leased per process instead of derived from the pid

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('worker_leases',
    sa.Column('worker_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('holder', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_worker_leases'))
    )


def downgrade() -> None:
    op.drop_table('worker_leases')
