"""invoices and their lines; each account's timezone and tax rate; the indexes invoices read

Revision ID: 0015
Revises: 0014

Accounts get `timezone` UTC and `tax_rate` 0 (a constant default: a catalogue change on both
backends). The calls index holds only calls charged to an account (partial), so calls charged
to nobody cost ingest nothing more.
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

CHARGED = sa.text("account_ref IS NOT NULL")


def upgrade() -> None:
    op.add_column('accounts', sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
    op.add_column('accounts', sa.Column('tax_rate', sa.BigInteger(), server_default='0', nullable=False))
    op.create_index('ix_calls_account_ref_start', 'calls', ['account_ref', 'start_at'], unique=False, sqlite_where=CHARGED, postgresql_where=CHARGED)
    op.create_index('ix_account_transactions_kind', 'account_transactions', ['account_ref', 'kind', 'created_at'], unique=False)
    op.create_table('invoices',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('account_ref', sa.BigInteger(), nullable=False),
    sa.Column('account_code', sa.String(length=64), nullable=False),
    sa.Column('account_name', sa.String(length=200), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tax_rate', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('seconds', sa.BigInteger(), nullable=False),
    sa.Column('unrated_calls', sa.BigInteger(), nullable=False),
    sa.Column('usage', sa.BigInteger(), nullable=False),
    sa.Column('adjustment', sa.BigInteger(), nullable=False),
    sa.Column('subtotal', sa.BigInteger(), nullable=False),
    sa.Column('tax', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('credits', sa.BigInteger(), nullable=False),
    sa.Column('covered', sa.BigInteger(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_ref'], ['accounts.id'], name=op.f('fk_invoices_account_ref_accounts')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_invoices_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('account_ref', 'period_start', name='uq_invoices_account_period'),
    sa.UniqueConstraint('org_id', 'number', name='uq_invoices_org_number')
    )
    op.create_table('invoice_lines',
    sa.Column('invoice_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=1024), nullable=False),
    sa.Column('prefix', sa.String(length=64), nullable=True),
    sa.Column('calls', sa.BigInteger(), nullable=True),
    sa.Column('seconds', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invoice_id', 'position', name=op.f('pk_invoice_lines'))
    )


def downgrade() -> None:
    op.drop_table('invoice_lines')
    op.drop_table('invoices')
    op.drop_index('ix_account_transactions_kind', table_name='account_transactions')
    op.drop_index('ix_calls_account_ref_start', table_name='calls')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('tax_rate')
        batch.drop_column('timezone')
