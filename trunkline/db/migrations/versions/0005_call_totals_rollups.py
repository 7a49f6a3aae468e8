"""call_totals rolled up over prefixes and over accounts, for reports that do not group by them

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SUMS = "sum(calls), sum(answered), sum(unrated), sum(billsec), sum(cost)"


def _rollup(name: str, *key: str) -> None:
    op.create_table(name,
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    *(sa.Column(column, sa.String(length=16 if column == 'rate_type' else 64), nullable=False) for column in key),
    *(sa.Column(column, sa.BigInteger(), nullable=False) for column in ('calls', 'answered', 'unrated', 'billsec', 'cost')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f(f'fk_{name}_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'day', *key, name=f'pk_{name}')
    )
    columns = ", ".join(("org_id", "day", *key))
    op.execute(f"INSERT INTO {name} ({columns}, calls, answered, unrated, billsec, cost) SELECT {columns}, {SUMS} FROM call_totals GROUP BY {columns}")


def upgrade() -> None:
    _rollup('call_totals_by_account', 'account_id', 'rate_type')
    _rollup('call_totals_by_prefix', 'rate_type', 'prefix')


def downgrade() -> None:
    op.drop_table('call_totals_by_prefix')
    op.drop_table('call_totals_by_account')
