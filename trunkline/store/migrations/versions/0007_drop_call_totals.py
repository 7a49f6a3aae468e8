"""drop call_totals, the daily totals by account, type and prefix together

Revision ID: 0007
Revises: 0006

Each ingested batch upserted about as many of its rows as it stored calls, for one kind of
report only (by prefix and account); that report now reads the calls. The two rollups stay.
Downgrading rebuilds the table from the calls.
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('call_totals')


def downgrade() -> None:
    op.create_table('call_totals',
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('rate_type', sa.String(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=64), nullable=False),
    *(sa.Column(column, sa.BigInteger(), nullable=False) for column in ('calls', 'answered', 'unrated', 'billsec', 'cost')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_call_totals_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'day', 'account_id', 'rate_type', 'prefix', name='pk_call_totals')
    )
    day = "substr(start_at, 1, 10)" if op.get_bind().dialect.name == "sqlite" else "CAST(start_at AT TIME ZONE 'UTC' AS date)"
    op.execute(
        "INSERT INTO call_totals (org_id, day, account_id, rate_type, prefix, calls, answered, unrated, billsec, cost) "
        f"SELECT org_id, {day}, coalesce(account_id, ''), coalesce(rate_type, ''), coalesce(prefix, ''), count(*), "
        "count(CASE WHEN billsec > 0 THEN 1 END), count(CASE WHEN NOT rated THEN 1 END), sum(billsec), coalesce(sum(cost), 0) "
        "FROM calls GROUP BY 1, 2, 3, 4, 5"
    )
