"""organizations.deck_version, a cheap change stamp for the deck cache; call_totals
rows summed over all prefixes (prefix "*") for reports not grouped by prefix

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, never batch mode's copy-and-swap: on SQLite, dropping the old
    # organizations table would cascade to every call.
    op.add_column('organizations', sa.Column('deck_version', sa.BigInteger(), server_default='0', nullable=False))
    op.execute(
        "INSERT INTO call_totals (org_id, day, account_id, rate_type, prefix, calls, answered, unrated, billsec, cost) "
        "SELECT org_id, day, account_id, rate_type, '*', sum(calls), sum(answered), sum(unrated), sum(billsec), sum(cost) "
        "FROM call_totals WHERE prefix <> '*' GROUP BY org_id, day, account_id, rate_type"
    )


def downgrade() -> None:
    op.execute("DELETE FROM call_totals WHERE prefix = '*'")
    op.drop_column('organizations', 'deck_version')
