"""Stored calls and their daily totals, kept in step within one transaction."""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, UTC
from typing import Any

import msgspec
from sqlalchemy import JSON, BigInteger, Boolean, Connection, Date, Integer, String, bindparam, case, cast, func, select, update

from trunkline.platform.query import Field, Fields
from trunkline.store.lookup import among
from trunkline.store.tables import UTCDateTime
from trunkline.store.tables import call_totals_by_account as by_account
from trunkline.store.tables import call_totals_by_prefix as by_prefix
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
        "prefix": Field(c.prefix, "str", digits=True),
        "rate_type": Field(c.rate_type, "enum", choices=("LOCAL", "NATIONAL", "INTERNATIONAL", "MOBILE")),
        "created_at": Field(c.created_at, "datetime"),
    },
    search=(c.call_id, c.account_id, c.caller, c.callee),
    default_order=("start", "id"),
)
COLUMNS = [column.name for column in table.columns]
_encode = msgspec.json.Encoder().encode
GROUPS = {"day": "day", "account": "account_id", "type": "rate_type", "prefix": "prefix"}  # report group -> column
TIME_COLUMNS = ("start_at", "answer_at", "end_at", "created_at", "rated_at")
TOTALS_SUMS = ("calls", "answered", "unrated", "billsec", "cost")
# Every daily totals table, keyed by org_id, day and these. Reports by prefix and account read
# `calls` (one account's calls through its index), so no third table slows every ingest.
TOTALS = {by_account: ("account_id", "rate_type"), by_prefix: ("rate_type", "prefix")}


def _upsert(table, dialect: str) -> str:
    """Add rows of (org_id, day, *key, *sums) to `table`'s sums."""
    names = ("org_id", "day", *TOTALS[table])
    columns = ", ".join(names + TOTALS_SUMS)
    update_sums = ", ".join(f"{name} = {table.name}.{name} + excluded.{name}" for name in TOTALS_SUMS)
    if dialect == "sqlite":
        values = f"VALUES ({', '.join('?' * (len(names) + len(TOTALS_SUMS)))})"
    else:
        # One statement for the whole batch, its rows one JSON text (cheap to send, unlike
        # arrays; jsonb, so each row is parsed once, not once per ->>), upserted in key order:
        # concurrent batches take the rows they share in the same order (no deadlocks).
        casts = ["bigint", "date", *("text" for _ in TOTALS[table]), *("bigint" for _ in TOTALS_SUMS)]
        fields = ", ".join(f"(r->>{index}){'::' + cast if cast != 'text' else ''}" for index, cast in enumerate(casts))
        values = f"SELECT {fields} FROM jsonb_array_elements(%s::jsonb) AS sent(r) ORDER BY {', '.join(str(n + 1) for n in range(len(names)))}"
    return f"INSERT INTO {table.name} ({columns}) {values} ON CONFLICT ({', '.join(names)}) DO UPDATE SET {update_sums}"


_UPSERT = {dialect: {table: _upsert(table, dialect) for table in TOTALS} for dialect in ("sqlite", "postgresql")}
# Binary COPY needs each column's type; JSON's binary form is its text.
_COPY_TYPES = {BigInteger: "int8", Integer: "int4", String: "text", Boolean: "bool", UTCDateTime: "timestamptz", JSON: "text"}
def existing_call_ids(conn: Connection, org_id: int, call_ids: list[str]) -> set[str]:
    """Which of `call_ids` the organization already has, in one statement."""
    return {row.call_id for row in among(conn, table, org_id, "call_id", call_ids, "call_id")}


@dataclass(frozen=True, slots=True)
class PreparedCalls:
    """Calls converted for the driver, and their daily totals' upsert parameters, ready to write."""

    rows: list[tuple]
    totals: dict


def insert_calls(conn: Connection, columns: dict[str, list]) -> None:
    """Bulk insert calls given as column lists and fold them into the daily totals."""
    if columns["id"]:
        write_calls(conn, prepare_calls(conn, columns))


def prepare_calls(conn: Connection, columns: dict[str, list]) -> PreparedCalls:
    """Calls given as column lists (every name in COLUMNS; aware or UTC datetimes, `breakdown`
    as JSON text), converted for the driver, and their sums per daily-totals row.

    Done before anything is written, so SQLite's write lock is held only while writing.
    """
    if conn.dialect.name == "postgresql":
        values, days = columns, [_utc(moment).date() for moment in columns["start_at"]]
    else:
        values = {**columns, **{name: _sqlite_times(columns[name]) for name in TIME_COLUMNS}}
        days = [moment[:10] for moment in values["start_at"]]
    keys = zip(columns["org_id"], days, columns["account_id"], columns["rate_type"], columns["prefix"])
    sums: dict[tuple, list[int]] = {}
    for (org_id, day, account_id, rate_type, prefix), billsec, cost in zip(keys, columns["billsec"], columns["cost"]):
        key = (org_id, day, account_id or "", rate_type or "", prefix or "")
        entry = sums.get(key)
        if entry is None:
            entry = sums[key] = [0, 0, 0, 0, 0]
        entry[0] += 1
        if billsec:
            entry[1] += 1
            entry[3] += billsec
        if cost is None:
            entry[2] += 1
        else:
            entry[4] += cost
    return PreparedCalls(list(zip(*(values[name] for name in COLUMNS))), _totals_rows(conn, sums))


def write_calls(conn: Connection, prepared: PreparedCalls) -> None:
    """Write prepared calls and their totals in the caller's transaction, straight to the driver:
    binary COPY on PostgreSQL, one executemany on SQLite (SQLAlchemy's per-value processing
    would cost more than the insert)."""
    cursor = conn.connection.driver_connection.cursor()
    if conn.dialect.name == "postgresql":
        with cursor.copy(f"COPY calls ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([_COPY_TYPES[type(column.type)] for column in table.columns])
            for row in prepared.rows:
                copy.write_row(row)
    else:
        cursor.executemany(f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", prepared.rows)
    _upsert_totals(conn, prepared.totals)


def _utc(moment: datetime) -> datetime:
    """Aware datetimes in UTC; naive ones are UTC already (as UTCDateTime reads them)."""
    return moment if moment.tzinfo is None or moment.tzinfo is UTC else moment.astimezone(UTC)


def _sqlite_times(values: list[datetime | None]) -> list[str | None]:
    """Datetimes as SQLAlchemy stores them in SQLite: naive UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if values.count(values[0]) == len(values):  # one moment for the whole batch (created_at, rated_at)
        return [None if values[0] is None else _utc(values[0]).isoformat(" ", "microseconds")[:26]] * len(values)
    return [
        None if moment is None else (moment if moment.tzinfo is UTC else _utc(moment)).isoformat(" ", "microseconds")[:26]
        for moment in values
    ]


def add_totals(conn: Connection, rows: Iterable[dict[str, Any]], sign: int) -> None:
    """Add (sign=1) or take away (sign=-1) calls, given as rows, from their days' totals."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for row in rows:
        key = (row["org_id"], _utc(row["start_at"]).date(), row["account_id"] or "", row["rate_type"] or "", row["prefix"] or "")
        entry = sums[key]
        entry[0] += sign
        entry[1] += sign if row["billsec"] > 0 else 0
        entry[2] += sign if not row["rated"] else 0
        entry[3] += sign * row["billsec"]
        entry[4] += sign * (row["cost"] or 0)
    if not sums:
        return
    if conn.dialect.name == "sqlite":
        sums = {(org_id, day.isoformat(), *rest): entry for (org_id, day, *rest), entry in sums.items()}
    _upsert_totals(conn, _totals_rows(conn, sums))


def _totals_rows(conn: Connection, sums: dict[tuple, list[int]]) -> dict:
    """Upsert parameters per totals table, from sums keyed (org_id, day, account_id, rate_type,
    prefix), day as a date (ISO text on SQLite).

    On PostgreSQL the statement itself puts the rows in key order; SQLite has one writer at a time.
    """
    rollups: dict = {by_account: {}, by_prefix: {}}
    for (org_id, day, account_id, rate_type, prefix), entry in sums.items():
        for rollup, key in ((by_account, (org_id, day, account_id, rate_type)), (by_prefix, (org_id, day, rate_type, prefix))):
            total = rollups[rollup].get(key)
            if total is None:
                rollups[rollup][key] = list(entry)
            else:
                for index, value in enumerate(entry):
                    total[index] += value
    rows = {target: [(*key, *entry) for key, entry in target_sums.items()] for target, target_sums in rollups.items()}
    if conn.dialect.name == "postgresql":
        return {target: [_encode(target_rows).decode()] for target, target_rows in rows.items()}
    return rows


def _upsert_totals(conn: Connection, rows: dict) -> None:
    """Add `_totals_rows` to the totals tables."""
    cursor = conn.connection.driver_connection.cursor()
    statements = _UPSERT[conn.dialect.name]
    for target, parameters in rows.items():
        if conn.dialect.name == "postgresql":
            cursor.execute(statements[target], parameters)
        else:
            cursor.executemany(statements[target], parameters)


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
    """Sums per group over the days, read from the smallest totals table that has the groups;
    by prefix for one account or per account, from the calls themselves. Groups whose calls
    all moved elsewhere (re-rating) are left out."""
    if "prefix" in group_by and ("account" in group_by or account_id is not None):
        return _report_from_calls(conn, org_id, start_date, end_date, account_id, group_by)
    source = by_prefix if "prefix" in group_by else by_account
    keys = [source.c[GROUPS[name]].label(name) for name in group_by]
    conditions = [source.c.org_id == org_id, source.c.day >= start_date, source.c.day <= end_date]
    if account_id is not None:
        conditions.append(source.c.account_id == account_id)
    measures = [func.sum(source.c[name]).label(name) for name in TOTALS_SUMS]
    statement = select(*keys, *measures).where(*conditions).group_by(*keys).having(func.sum(source.c.calls) > 0).order_by(*keys)
    return conn.execute(statement).all()


def _report_from_calls(conn: Connection, org_id: int, start_date: date, end_date: date, account_id: str | None, group_by: list[str]):
    """`report`'s rows summed from `calls`, keys as the totals keep them ("" for none)."""
    day = func.substr(c.start_at, 1, 10) if conn.dialect.name == "sqlite" else cast(func.timezone("UTC", c.start_at), Date)
    columns = {"day": day, "account": func.coalesce(c.account_id, ""), "type": func.coalesce(c.rate_type, ""), "prefix": func.coalesce(c.prefix, "")}
    keys = [columns[name].label(name) for name in group_by]
    start, end = day_range(start_date, end_date)
    conditions = [c.org_id == org_id, c.start_at >= start, c.start_at < end]
    if account_id is not None:
        conditions.append(c.account_id == account_id)
    measures = [
        func.count().label("calls"),
        func.count(case((c.billsec > 0, 1))).label("answered"),
        func.count(case((c.rated.is_(False), 1))).label("unrated"),
        cast(func.sum(c.billsec), BigInteger).label("billsec"),
        cast(func.coalesce(func.sum(c.cost), 0), BigInteger).label("cost"),
    ]
    return conn.execute(select(*keys, *measures).where(*conditions).group_by(*keys).order_by(*keys)).all()
