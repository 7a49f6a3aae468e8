"""rate plans: a default plan per organization (its id is the organization's), call rates
dated and per period within a plan, the plan of each account and of each rated call

Revision ID: 0013
Revises: 0012

Every existing rate moves to its organization's default plan, in force from the beginning
in every period, so every call is priced as before.
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_plans',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('periods', sa.JSON(), nullable=False),
    sa.Column('description', sa.String(length=1024), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_rate_plans_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_plans')),
    sa.UniqueConstraint('org_id', 'name', name='uq_rate_plans_org_name')
    )
    op.execute(
        "INSERT INTO rate_plans (id, org_id, name, currency, kind, timezone, periods, description, created_at, updated_at) "
        "SELECT id, id, 'Default', 'USD', 'sell', 'UTC', '[]', 'The organization''s default plan', created_at, created_at FROM organizations"
    )
    with op.batch_alter_table('call_rates') as batch:
        batch.add_column(sa.Column('plan_id', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('period', sa.String(length=32), server_default='', nullable=False))
        batch.add_column(sa.Column('effective_from', sa.DateTime(timezone=True), server_default='1970-01-01 00:00:00', nullable=False))
        batch.add_column(sa.Column('effective_to', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE call_rates SET plan_id = org_id")
    with op.batch_alter_table('call_rates') as batch:
        batch.alter_column('plan_id', existing_type=sa.BigInteger(), nullable=False)
        batch.create_foreign_key(op.f('fk_call_rates_plan_id_rate_plans'), 'rate_plans', ['plan_id'], ['id'], ondelete='CASCADE')
        batch.drop_constraint('uq_call_rates_org_prefix', type_='unique')
        batch.create_unique_constraint('uq_call_rates_plan_prefix', ['plan_id', 'prefix', 'period', 'effective_from'])
        batch.drop_index('ix_call_rates_org_id')
        batch.create_index('ix_call_rates_plan_id', ['plan_id', 'id'])
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('rate_plan_id', sa.BigInteger(), nullable=True))
        batch.create_foreign_key(op.f('fk_accounts_rate_plan_id_rate_plans'), 'rate_plans', ['rate_plan_id'], ['id'])
    op.add_column('calls', sa.Column('rate_plan_id', sa.BigInteger(), nullable=True))
    op.add_column('calls', sa.Column('period', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.drop_column('period')
        batch.drop_column('rate_plan_id')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_constraint(op.f('fk_accounts_rate_plan_id_rate_plans'), type_='foreignkey')
        batch.drop_column('rate_plan_id')
    # Only the default plans' rates in force now survive: one deck per organization again.
    op.execute(
        "DELETE FROM call_rates WHERE plan_id <> org_id OR effective_to IS NOT NULL OR period <> '' "
        "OR effective_from > CURRENT_TIMESTAMP"
    )
    with op.batch_alter_table('call_rates') as batch:
        batch.drop_index('ix_call_rates_plan_id')
        batch.create_index('ix_call_rates_org_id', ['org_id', 'id'])
        batch.drop_constraint('uq_call_rates_plan_prefix', type_='unique')
        batch.create_unique_constraint('uq_call_rates_org_prefix', ['org_id', 'prefix'])
        batch.drop_constraint(op.f('fk_call_rates_plan_id_rate_plans'), type_='foreignkey')
        batch.drop_column('effective_to')
        batch.drop_column('effective_from')
        batch.drop_column('period')
        batch.drop_column('plan_id')
    op.drop_table('rate_plans')
