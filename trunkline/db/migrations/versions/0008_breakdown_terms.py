"""calls.breakdown: the rate's pricing terms as a JSON array, not the whole rate as an object

Revision ID: 0008
Revises: 0007

The object repeated the rate's id, prefix and type (the call's rate_id, prefix and
rate_type) and every field name: about 200 bytes of each stored call, against about 30 for
[free_seconds, grace_period, interval_1, interval_n, connect_fee, postcall_surcharge,
price_1, price_n]. Rewrites the stored calls; downgrading rebuilds the objects.
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TERMS = ('free_seconds', 'grace_period', 'interval_1', 'interval_n', 'connect_fee', 'postcall_surcharge', 'price_1', 'price_n')
WHOLE = {'id': 'rate_id', 'prefix': 'prefix', 'type': 'rate_type'}  # object field: calls column


# Each backend's JSON functions: make an array, make an object, a value's type, an object's
# field, an array's item.
JSON = {
    'sqlite': ('json_array', 'json_object', 'json_type', "json_extract(breakdown, '$.{}')", "json_extract(breakdown, '$[{}]')"),
    'postgresql': ('json_build_array', 'json_build_object', 'json_typeof', "breakdown->'{}'", 'breakdown->{}'),
}


def upgrade() -> None:
    array, _, kind, field, _ = JSON[op.get_bind().dialect.name]
    terms = ', '.join(field.format(name) for name in TERMS)
    op.execute(f"UPDATE calls SET breakdown = {array}({terms}) WHERE {kind}(breakdown) = 'object'")


def downgrade() -> None:
    _, whole, kind, _, item = JSON[op.get_bind().dialect.name]
    fields = [f"'{name}', {column}" for name, column in WHOLE.items()]
    fields += [f"'{name}', {item.format(index)}" for index, name in enumerate(TERMS)]
    op.execute(f"UPDATE calls SET breakdown = {whole}({', '.join(fields)}) WHERE {kind}(breakdown) = 'array'")
