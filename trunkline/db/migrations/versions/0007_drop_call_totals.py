"""daily totals: drop call_totals; on SQLite, the two rollups keep their rows in key order

Revision ID: 0007
Revises: 0006

call_totals (by account, type and prefix together) took an upsert per stored call, about,
for one kind of report (by prefix and account), which now reads the calls instead.

On SQLite the rollups become WITHOUT ROWID tables: the rows live in the primary key's
b-tree, so a report reads one b-tree instead of looking every key up in a second one, and
an upsert writes one b-tree instead of two. SQLite cannot change this in place; the tables
are rebuilt. PostgreSQL is unchanged.

Downgrading rebuilds call_totals from the calls (and the rollups with rowids).
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ROLLUPS = {'call_totals_by_account': ('account_id', 'rate_type'), 'call_totals_by_prefix': ('rate_type', 'prefix')}
SUMS = ('calls', 'answered', 'unrated', 'billsec', 'cost')


def _totals_table(name: str, key: tuple[str, ...], **options) -> None:
    op.create_table(name,
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    *(sa.Column(column, sa.String(length=16 if column == 'rate_type' else 64), nullable=False) for column in key),
    *(sa.Column(column, sa.BigInteger(), nullable=False) for column in SUMS),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f(f'fk_{name}_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'day', *key, name=f'pk_{name}'),
    **options
    )


def _rebuild_rollups(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for name, key in ROLLUPS.items():
        op.rename_table(name, f'{name}_old')
        _totals_table(name, key, sqlite_with_rowid=with_rowid)
        columns = ', '.join(('org_id', 'day', *key, *SUMS))
        op.execute(f'INSERT INTO {name} ({columns}) SELECT {columns} FROM {name}_old ORDER BY org_id, day, {", ".join(key)}')
        op.drop_table(f'{name}_old')


def upgrade() -> None:
    op.drop_table('call_totals')
    _rebuild_rollups(with_rowid=False)


def downgrade() -> None:
    _rebuild_rollups(with_rowid=True)
    _totals_table('call_totals', ('account_id', 'rate_type', 'prefix'))
    day = "substr(start_at, 1, 10)" if op.get_bind().dialect.name == "sqlite" else "CAST(start_at AT TIME ZONE 'UTC' AS date)"
    op.execute(
        "INSERT INTO call_totals (org_id, day, account_id, rate_type, prefix, calls, answered, unrated, billsec, cost) "
        f"SELECT org_id, {day}, coalesce(account_id, ''), coalesce(rate_type, ''), coalesce(prefix, ''), count(*), "
        "count(CASE WHEN billsec > 0 THEN 1 END), count(CASE WHEN NOT rated THEN 1 END), sum(billsec), coalesce(sum(cost), 0) "
        "FROM calls GROUP BY 1, 2, 3, 4, 5"
    )
