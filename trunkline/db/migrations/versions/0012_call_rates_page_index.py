"""call_rates: an (org_id, id) index, so a list page in the default order reads 100 rows instead
of sorting the organization's whole deck

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_call_rates_org_id', 'call_rates', ['org_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_call_rates_org_id', table_name='call_rates')
