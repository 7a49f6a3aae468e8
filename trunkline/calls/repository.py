"""Stored calls and their daily totals, kept in step within one transaction."""

from collections import namedtuple
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from typing import Any

import msgspec
import numpy as np
from sqlalchemy import JSON, BigInteger, Boolean, Connection, Date, Integer, String, and_, bindparam, case, cast, func, nulls_first, select, update

from trunkline.db.tables import UTCDateTime
from trunkline.db.tables import call_totals_by_account as by_account
from trunkline.db.tables import call_totals_by_prefix as by_prefix
from trunkline.db.tables import calls as table
from trunkline.kit.clock import to_utc
from trunkline.kit.lookup import among

c = table.c
COLUMNS = [column.name for column in table.columns]
_encode = msgspec.json.Encoder().encode
GROUPS = {
    "day": "day", "account": "account_id", "type": "rate_type", "prefix": "prefix", "disposition": "disposition", "hangup_cause": "hangup_cause",
    "vendor": "vendor_id",
}  # report group -> column
FROM_CALLS = frozenset({"disposition", "hangup_cause", "vendor"})  # groups the daily totals do not keep
TIME_COLUMNS = ("start_at", "answer_at", "end_at", "created_at", "rated_at")
# Columns most batches leave empty: written only when a call of the batch has one (binding
# a NULL per call and column cost about a tenth of an insert).
_SPARSE = frozenset({"unrated_reason", "hangup_cause", "direction", "leg", "linked_id", "period", "gateway", "vendor_id", "vendor_cost"})
TOTALS_SUMS = ("calls", "answered", "unrated", "billsec", "cost")
VENDOR_SUMS = ("vendor_cost", "margin", "losses")  # also summed when a report groups by vendor
# Every daily totals table, keyed by org_id, day and these. Reports by prefix and account read
# `calls` (one account's calls through its index), so no third table slows every ingest.
# Written in this order: nearly every batch of a day shares the per-account rows, and on
# PostgreSQL a batch holds the rows it wrote until it commits, so those go last (see
# `locks.writing`); first, concurrent batches queued behind each other's by-prefix upsert.
TOTALS = {by_prefix: ("rate_type", "prefix"), by_account: ("account_id", "rate_type")}


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
    names: tuple[str, ...] = tuple(COLUMNS)  # the columns `rows` hold, in order


def prepare_calls(conn: Connection, columns: dict[str, list]) -> PreparedCalls:
    """Calls given as column lists (every name in COLUMNS; aware or UTC datetimes, `breakdown`
    as JSON text), converted for the driver, and their sums per daily-totals row.

    Done before anything is written, so SQLite's write lock is held only while writing.
    """
    if conn.dialect.name == "postgresql":
        values, days = columns, [to_utc(moment).date() for moment in columns["start_at"]]
    else:
        values = {**columns, **{name: _sqlite_times(columns[name]) for name in TIME_COLUMNS}}
        days = [moment[:10] for moment in values["start_at"]]
    if all(columns["billed"]):
        totals = _totals_rows(conn, days, columns, columns["cost"], 1)
    else:  # a leg that is not billed is not a call of its own: the billed leg counts it
        kept = [index for index, billed in enumerate(columns["billed"]) if billed]
        chosen = {name: [columns[name][index] for index in kept] for name in ("org_id", "account_id", "rate_type", "prefix", "billsec", "cost")}
        totals = _totals_rows(conn, [days[index] for index in kept], chosen, chosen["cost"], 1)
    names = tuple(name for name in COLUMNS if name not in _SPARSE or values[name].count(None) != len(values[name]))
    return PreparedCalls(list(zip(*(values[name] for name in names))), totals, names)


def write_calls(conn: Connection, prepared: PreparedCalls) -> None:
    """Write prepared calls and their totals in the caller's transaction, straight to the driver:
    binary COPY on PostgreSQL, one executemany on SQLite (SQLAlchemy's per-value processing
    would cost more than the insert)."""
    cursor = conn.connection.driver_connection.cursor()
    names = prepared.names
    if conn.dialect.name == "postgresql":
        with cursor.copy(f"COPY calls ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([_COPY_TYPES[type(c[name].type)] for name in names])
            for row in prepared.rows:
                copy.write_row(row)
    else:
        cursor.executemany(f"INSERT INTO calls ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", prepared.rows)
    _upsert_totals(conn, prepared.totals)


def _sqlite_times(values: list[datetime | None]) -> list[str | None]:
    """Datetimes as SQLAlchemy stores them in SQLite: naive UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if values.count(values[0]) == len(values):  # one moment for the whole batch (created_at, rated_at)
        return [None if values[0] is None else to_utc(values[0]).isoformat(" ", "microseconds")[:26]] * len(values)
    return [
        None if moment is None else to_utc(moment).isoformat(" ", "microseconds")[:26]
        for moment in values
    ]


def add_totals(conn: Connection, rows: list[dict[str, Any]], sign: int) -> None:
    """Add (sign=1) or take away (sign=-1) calls, given as rows, from their days' totals."""
    if not rows:
        return
    columns = {name: [row[name] for row in rows] for name in ("org_id", "account_id", "rate_type", "prefix", "billsec")}
    days = [to_utc(row["start_at"]).date() for row in rows]
    if conn.dialect.name == "sqlite":
        days = [day.isoformat() for day in days]
    _upsert_totals(conn, _totals_rows(conn, days, columns, [row["cost"] if row["rated"] else None for row in rows], sign))


def _totals_rows(conn: Connection, days: list, columns: dict[str, list], costs: list[int | None], sign: int) -> dict:
    """Upsert parameters per totals table: the calls' sums (TOTALS_SUMS, times `sign`; a None
    cost is an unrated call) per (org_id, day, *key), day a date (ISO text on SQLite), a
    missing key "".

    Grouped by numbering each key in a dict (the number of its first call), then summed per
    number by numpy, exactly in int64: a Python loop over the calls cost more than the rest of a
    batch's preparation. On PostgreSQL the statement itself puts the rows in key order; SQLite
    has one writer at a time.
    """
    keyed = {name: [value or "" for value in columns[name]] for name in ("account_id", "rate_type", "prefix")}
    seconds = np.array(columns["billsec"], dtype=np.int64)
    unrated = np.array([cost is None for cost in costs], dtype=bool)
    money = np.array([cost or 0 for cost in costs], dtype=np.int64)
    rows = {}
    for target, names in TOTALS.items():
        numbers: dict[tuple, int] = {}
        keys = zip(columns["org_id"], days, *(keyed[name] for name in names))
        codes = np.fromiter(map(numbers.setdefault, keys, count()), dtype=np.intp, count=len(days))
        size = len(days)
        sums = [
            np.bincount(codes, minlength=size),
            np.bincount(codes[seconds > 0], minlength=size),
            np.bincount(codes[unrated], minlength=size),
            _sum_by(codes, seconds, size),
            _sum_by(codes, money, size),
        ]
        used = np.fromiter(numbers.values(), dtype=np.intp, count=len(numbers))
        rows[target] = [(*key, *values) for key, values in zip(numbers, zip(*((column[used] * sign).tolist() for column in sums)))]
    if conn.dialect.name == "postgresql":
        return {target: [_encode(target_rows).decode()] for target, target_rows in rows.items()}
    return rows


def _sum_by(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sums of `values` per code (bincount's weights would go through float64)."""
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, codes, values)
    return sums


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


def _range(org_id: int, start_date: date, end_date: date, account_id: str | None) -> list:
    """The billed calls of the organization started in the date range (of one account)."""
    start, end = day_range(start_date, end_date)
    conditions = [c.org_id == org_id, c.start_at >= start, c.start_at < end, c.billed.is_(True)]
    if account_id is not None:
        conditions.append(c.account_id == account_id)
    return conditions


def next_in_range(conn: Connection, org_id: int, start_date: date, end_date: date, account_id: str | None, after_id: int, limit: int) -> list:
    """The next `limit` billed calls started in the date range, by id after `after_id`, for re-rating."""
    statement = select(table).where(*_range(org_id, start_date, end_date, account_id), c.id > after_id).order_by(c.id).limit(limit)
    return conn.execute(statement).all()


_SHOWN = [column for column in table.columns if column.name not in ("org_id", "account_ref", "breakdown")]  # what `present` reads
_Shown = namedtuple("StoredCall", [column.name for column in _SHOWN])


def stream(conn: Connection, org_id: int, where: Iterable, order_by: Iterable, chunk: int) -> Iterator[list[tuple]]:
    """Every matching call of the organization in order, `chunk` rows at a time from one cursor
    (a server-side one on PostgreSQL; SQLite's steps through the rows as they are fetched), so an
    export of millions holds one chunk. Not the breakdown: decoding its JSON would cost more than
    the row. As named tuples: a Row reads an attribute in 0.4 µs, and `present` reads about 30, four
    times its own work per call."""
    statement = select(*_SHOWN).where(c.org_id == org_id, *where).order_by(*order_by)
    with conn.execution_options(yield_per=chunk).execute(statement) as result:
        for rows in result.partitions():
            yield list(map(_Shown._make, rows))


def count_in_range(conn: Connection, org_id: int, start_date: date, end_date: date, account_id: str | None) -> int:
    return conn.execute(select(func.count()).select_from(table).where(*_range(org_id, start_date, end_date, account_id))).scalar()


def update_ratings(conn: Connection, changes: list[dict[str, Any]]) -> None:
    """New rating results, keyed by `call_pk`; totals are moved by the caller."""
    if changes:
        fields = ("rated", "unrated_reason", "cost", "rate_id", "prefix", "rate_type", "breakdown", "rate_plan_id", "period", "vendor_id", "vendor_cost", "rated_at")
        statement = update(table).where(c.id == bindparam("call_pk")).values({name: bindparam(f"new_{name}") for name in fields})
        conn.execute(statement, [{"call_pk": change["call_pk"], **{f"new_{name}": change[name] for name in fields}} for change in changes])


def report(
    conn: Connection, org_id: int, start_date: date, end_date: date, account_id: str | None, group_by: list[str], only: dict[str, str] | None = None
) -> list[tuple]:
    """Sums per group over the days as plain tuples (keys in `group_by` order, None for a call
    with no account, type or prefix, then TOTALS_SUMS), read from the smallest totals table that
    has the groups; by prefix for one account or per account, from the calls themselves. Groups
    whose calls all moved elsewhere (re-rating) are left out. `only` keeps the calls with these
    values (disposition, hangup_cause), read from the calls themselves."""
    if ("prefix" in group_by and ("account" in group_by or account_id is not None)) or FROM_CALLS.intersection(group_by) or only:
        return _report_from_calls(conn, org_id, start_date, end_date, account_id, group_by, only or {})
    source = by_prefix if "prefix" in group_by else by_account
    keys = [source.c[GROUPS[name]] for name in group_by]  # "" for none, which sorts first
    conditions = [source.c.org_id == org_id, source.c.day >= start_date, source.c.day <= end_date]
    if account_id is not None:
        conditions.append(source.c.account_id == account_id)
    measures = [cast(func.sum(source.c[name]), BigInteger).label(name) for name in TOTALS_SUMS]
    shown = [_key(key, name) for key, name in zip(keys, group_by)]
    statement = select(*shown, *measures).where(*conditions).group_by(*keys).having(func.sum(source.c.calls) > 0)
    return _tuples(conn, statement.order_by(*keys))


def _report_from_calls(
    conn: Connection, org_id: int, start_date: date, end_date: date, account_id: str | None, group_by: list[str], only: dict[str, str]
) -> list[tuple]:
    """`report`'s rows summed from `calls`, with the same UTC days and keys as the totals (a few
    seconds per million calls: answer-seizure ratios by disposition or hangup cause come from here)."""
    day = func.substr(c.start_at, 1, 10) if conn.dialect.name == "sqlite" else cast(func.timezone("UTC", c.start_at), Date)
    columns = {
        "day": day, "account": c.account_id, "type": c.rate_type, "prefix": c.prefix, "disposition": c.disposition, "hangup_cause": c.hangup_cause,
        "vendor": c.vendor_id,
    }
    keys = [columns[name].label(name) if name == "vendor" else _key(columns[name], name) for name in group_by]
    conditions = _range(org_id, start_date, end_date, account_id) + [c[name] == value for name, value in only.items()]
    measures = [
        func.count().label("calls"),
        func.count(case((c.billsec > 0, 1))).label("answered"),
        func.count(case((c.rated.is_(False), 1))).label("unrated"),
        cast(func.sum(c.billsec), BigInteger).label("billsec"),
        cast(func.coalesce(func.sum(c.cost), 0), BigInteger).label("cost"),
    ]
    if "vendor" in group_by:  # the cost and margin of the calls a vendor carried, billed ones with both known
        both = and_(c.cost.is_not(None), c.vendor_cost.is_not(None))
        measures += [
            cast(func.coalesce(func.sum(c.vendor_cost), 0), BigInteger).label("vendor_cost"),
            cast(func.coalesce(func.sum(case((both, c.cost - c.vendor_cost))), 0), BigInteger).label("margin"),
            func.count(case((c.vendor_cost > c.cost, 1))).label("losses"),
        ]
    statement = select(*keys, *measures).where(*conditions).group_by(*keys)
    return _tuples(conn, statement.order_by(*(nulls_first(key) for key in keys)))


def _key(column, name: str):
    """A report key as shown: None for no account, type or prefix (the totals keep "", a call
    NULL or, for its account, maybe "")."""
    return (column if name == "day" else func.nullif(column, "")).label(name)


def _tuples(conn: Connection, statement) -> list[tuple]:
    """The driver's own rows: a report can hold 300,000, and making SQLAlchemy rows of them cost
    about as much as the query (the report's values need no conversion: day is ISO text on
    SQLite, a date on PostgreSQL, and both render alike)."""
    with conn.execute(statement) as result:
        return result.cursor.fetchall()
