"""Call-rate rows: one deck per organization, prefix unique within it."""

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from trunkline import ids
from trunkline.money import to_units
from trunkline.platform.query import Field, Fields
from trunkline.schemas.call_rates import MONEY_FIELDS, RateType
from trunkline.store.tables import call_rates as table

c = table.c
FIELDS = Fields(
    fields={
        "id": Field(c.id, "id"),
        "prefix": Field(c.prefix, "str"),
        "type": Field(c.type, "enum", choices=tuple(RateType)),
        "free_seconds": Field(c.free_seconds, "int"),
        "grace_period": Field(c.grace_period, "int"),
        "interval_1": Field(c.interval_1, "int"),
        "interval_n": Field(c.interval_n, "int"),
        "connect_fee": Field(c.connect_fee, "money"),
        "postcall_surcharge": Field(c.postcall_surcharge, "money"),
        "price_1": Field(c.price_1, "money"),
        "price_n": Field(c.price_n, "money"),
        "description": Field(c.description, "str"),
        "created_at": Field(c.created_at, "datetime"),
        "updated_at": Field(c.updated_at, "datetime"),
    },
    search=(c.prefix, c.description),
    default_order=("id",),
)


class DuplicatePrefix(Exception):
    """The organization's deck already has this prefix."""


def to_row(values: dict[str, Any]) -> dict[str, Any]:
    """API values (Decimal money, enum type) as column values (integer units, text)."""
    row = dict(values)
    for name in MONEY_FIELDS:
        if row.get(name) is not None:
            row[name] = to_units(row[name])
    if row.get("type") is not None:
        row["type"] = str(row["type"])
    return row


def create(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    rate_id = ids.new_id()
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(id=rate_id, org_id=org_id, created_at=now, updated_at=now, **to_row(values)))
    except IntegrityError:
        raise DuplicatePrefix(values["prefix"]) from None
    return rate_id


def get(conn: Connection, org_id: int, rate_id: int):
    return conn.execute(select(table).where(c.id == rate_id, c.org_id == org_id)).first()


def change(conn: Connection, org_id: int, rate_id: int, values: dict[str, Any], now: datetime) -> bool:
    try:
        with conn.begin_nested():
            result = conn.execute(
                update(table).where(c.id == rate_id, c.org_id == org_id).values(updated_at=now, **to_row(values))
            )
    except IntegrityError:
        raise DuplicatePrefix(values.get("prefix")) from None
    return result.rowcount == 1


def remove(conn: Connection, org_id: int, rate_id: int) -> bool:
    return conn.execute(delete(table).where(c.id == rate_id, c.org_id == org_id)).rowcount == 1


def existing_prefixes(conn: Connection, org_id: int) -> dict[str, int]:
    return dict(conn.execute(select(c.prefix, c.id).where(c.org_id == org_id)).all())


def load(conn: Connection, org_id: int, rows: list[dict[str, Any]], replace: bool, now: datetime) -> tuple[int, int]:
    """Write a validated deck in the caller's transaction: (inserted, updated).

    `replace` swaps the whole deck; otherwise rows upsert by prefix.
    """
    if replace:
        conn.execute(delete(table).where(c.org_id == org_id))
        known: dict[str, int] = {}
    else:
        known = existing_prefixes(conn, org_id)
    fresh, changed = [], []
    new_ids = iter(ids.generator.many(len(rows)))
    for row in rows:
        rate_id = known.get(row["prefix"])
        if rate_id is None:
            fresh.append({**row, "id": next(new_ids), "org_id": org_id, "created_at": now, "updated_at": now})
        else:
            changed.append({**row, "b_id": rate_id, "updated_at": now})
    if fresh:
        _insert_many(conn, fresh)
    if changed:
        columns = {k: bindparam(k) for k in changed[0] if k != "b_id"}
        conn.execute(update(table).where(c.id == bindparam("b_id")).values(columns), changed)
    return len(fresh), len(changed)


def _insert_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":
        columns = list(rows[0])
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY call_rates ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
        return
    for start in range(0, len(rows), 50_000):
        conn.execute(insert(table), rows[start : start + 50_000])


def stream(conn: Connection, org_id: int, where: Iterable = (), order_by: Iterable = (c.prefix,)) -> Iterator:
    """Every matching rate, fetched in chunks (for export)."""
    yield from conn.execute(select(table).where(c.org_id == org_id, *where).order_by(*order_by).execution_options(yield_per=5000))
