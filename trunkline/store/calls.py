"""Stored calls and their daily totals, kept in step within one transaction."""

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta, UTC
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from trunkline.platform.query import Field, Fields
from trunkline.store.tables import call_totals as totals
from trunkline.store.tables import calls as table

c = table.c
FIELDS = Fields(
    fields={
        "id": Field(c.id, "id"),
        "call_id": Field(c.call_id, "str"),
        "account_id": Field(c.account_id, "str"),
        "caller": Field(c.caller, "str"),
        "callee": Field(c.callee, "str"),
        "start": Field(c.start_at, "datetime"),
        "answer": Field(c.answer_at, "datetime"),
        "end": Field(c.end_at, "datetime"),
        "duration": Field(c.duration, "int"),
        "billsec": Field(c.billsec, "int"),
        "disposition": Field(c.disposition, "str"),
        "hangup_cause": Field(c.hangup_cause, "str"),
        "direction": Field(c.direction, "enum", choices=("INBOUND", "OUTBOUND", "INTERNAL")),
        "rated": Field(c.rated, "bool"),
        "unrated_reason": Field(c.unrated_reason, "str"),
        "cost": Field(c.cost, "money"),
        "prefix": Field(c.prefix, "str"),
        "rate_type": Field(c.rate_type, "enum", choices=("LOCAL", "NATIONAL", "INTERNATIONAL", "MOBILE")),
        "created_at": Field(c.created_at, "datetime"),
    },
    search=(c.call_id, c.account_id, c.caller, c.callee),
    default_order=("start", "id"),
)
COLUMNS = [column.name for column in table.columns]
GROUPS = {"day": totals.c.day, "account": totals.c.account_id, "type": totals.c.rate_type, "prefix": totals.c.prefix}


def existing_call_ids(conn: Connection, org_id: int, call_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(call_ids), 5000):
        chunk = call_ids[start : start + 5000]
        found.update(conn.execute(select(c.call_id).where(c.org_id == org_id, c.call_id.in_(chunk))).scalars())
    return found


def insert_calls(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Bulk insert (COPY on PostgreSQL) and fold the rows into the daily totals."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY calls ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[name]) if name == "breakdown" and row[name] is not None else row[name] for name in COLUMNS])
    else:
        conn.execute(insert(table), rows)
    add_totals(conn, rows, sign=1)


def _totals_key(row: dict[str, Any]) -> tuple:
    return (row["org_id"], row["start_at"].astimezone(UTC).date(), row["account_id"] or "", row["rate_type"] or "", row["prefix"] or "")


def add_totals(conn: Connection, rows: Iterable[dict[str, Any]], sign: int) -> None:
    """Add (sign=1) or take away (sign=-1) calls from their days' totals."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for row in rows:
        entry = sums[_totals_key(row)]
        entry[0] += sign
        entry[1] += sign if row["billsec"] > 0 else 0
        entry[2] += sign if not row["rated"] else 0
        entry[3] += sign * row["billsec"]
        entry[4] += sign * (row["cost"] or 0)
    if not sums:
        return
    values = [
        dict(zip(("org_id", "day", "account_id", "rate_type", "prefix"), key), calls=s[0], answered=s[1], unrated=s[2], billsec=s[3], cost=s[4])
        for key, s in sums.items()
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(totals)
    statement = statement.on_conflict_do_update(
        index_elements=["org_id", "day", "account_id", "rate_type", "prefix"],
        set_={name: totals.c[name] + statement.excluded[name] for name in ("calls", "answered", "unrated", "billsec", "cost")},
    )
    conn.execute(statement, values)


def get(conn: Connection, org_id: int, call_id: int):
    return conn.execute(select(table).where(c.id == call_id, c.org_id == org_id)).first()


def day_range(start_date: date, end_date: date) -> tuple[datetime, datetime]:
    """[start of start_date, start of the day after end_date) in UTC."""
    return datetime.combine(start_date, time(), UTC), datetime.combine(end_date + timedelta(days=1), time(), UTC)


def in_range(conn: Connection, org_id: int, start_date: date, end_date: date, account_id: str | None) -> Iterator:
    """Calls started in the date range, in chunks, for re-rating."""
    start, end = day_range(start_date, end_date)
    conditions = [c.org_id == org_id, c.start_at >= start, c.start_at < end]
    if account_id is not None:
        conditions.append(c.account_id == account_id)
    result = conn.execute(select(table).where(*conditions).order_by(c.id).execution_options(yield_per=10_000))
    yield from result.partitions()


def update_ratings(conn: Connection, changes: list[dict[str, Any]]) -> None:
    """New rating results, keyed by `call_pk`; totals are moved by the caller."""
    if changes:
        fields = ("rated", "unrated_reason", "cost", "rate_id", "prefix", "rate_type", "breakdown", "rated_at")
        statement = update(table).where(c.id == bindparam("call_pk")).values({name: bindparam(f"new_{name}") for name in fields})
        conn.execute(statement, [{"call_pk": change["call_pk"], **{f"new_{name}": change[name] for name in fields}} for change in changes])


def report(conn: Connection, org_id: int, start_date: date, end_date: date, account_id: str | None, group_by: list[str]):
    keys = [GROUPS[name].label(name) for name in group_by]
    conditions = [totals.c.org_id == org_id, totals.c.day >= start_date, totals.c.day <= end_date]
    if account_id is not None:
        conditions.append(totals.c.account_id == account_id)
    measures = [func.sum(totals.c[name]).label(name) for name in ("calls", "answered", "unrated", "billsec", "cost")]
    statement = select(*keys, *measures).where(*conditions).group_by(*keys).order_by(*keys)
    return conn.execute(statement).all()
