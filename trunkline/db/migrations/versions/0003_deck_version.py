"""organizations.deck_version, a cheap change stamp for the deck cache

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, never batch mode's copy-and-swap: on SQLite, dropping the old
    # organizations table would cascade to every call.
    op.add_column('organizations', sa.Column('deck_version', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    op.drop_column('organizations', 'deck_version')
