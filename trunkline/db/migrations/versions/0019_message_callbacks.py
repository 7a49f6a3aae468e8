"""messages' callback_url, and the webhook that delivers to it

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('callback_url', sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column('callback_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('callback_id')
        batch.drop_column('callback_url')
