"""Call-rate rows: each plan's versions of its prefixes, per period (see `versions`)."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from trunkline.call_rates import versions
from trunkline.call_rates.schemas import MONEY_FIELDS
from trunkline.db.tables import EVER
from trunkline.db.tables import call_rates as table
from trunkline.kit import ids
from trunkline.kit.clock import utcnow
from trunkline.kit.listing import Counts
from trunkline.kit.lookup import driver_rows
from trunkline.rate_plans.repository import rates_changed
from trunkline.rating import ALL_PERIODS
from trunkline.rating.money import to_units

c = table.c


def deck_version(conn: Connection, org_id: int) -> int:
    """The organization's deck version as of `conn`'s view: every call-rate write bumps it (read
    by every quote, authorize and push, so through the driver: see `lookup.driver_rows`)."""
    return driver_rows(conn, "SELECT deck_version FROM organizations WHERE id = ?", (org_id,))[0][0]


COUNTS = Counts(deck_version)  # list totals, per deck version (see kit.listing.Counts)


def to_row(values: dict[str, Any]) -> dict[str, Any]:
    """API values (Decimal money, enum type, null period) as column values (integer units, text)."""
    row = dict(values)
    for name in MONEY_FIELDS:
        if row.get(name) is not None:
            row[name] = to_units(row[name])
    if row.get("type") is not None:
        row["type"] = str(row["type"])
    if "period" in row:
        row["period"] = row["period"] or ALL_PERIODS
    return row


def create(conn: Connection, org_id: int, plan_id: int, values: dict[str, Any], now: datetime) -> int:
    """A new rate, in force from `effective_from` (EVER when None) until the prefix's next
    version in its period; the version before it ends where it starts."""
    rates_changed(conn, org_id)  # first: the organization's row lock orders its rate writes
    row = to_row(values)
    row.pop("rate_plan_id", None)
    row["effective_from"] = row.get("effective_from") or EVER
    line = versions.Line(_line(conn, plan_id, row["prefix"], row["period"]))
    clash = line.at(row["effective_from"])
    if clash is not None:
        raise versions.clash(row, ids.encode(clash))
    rate_id = ids.new_id()
    ends = line.insert(rate_id, row["effective_from"])
    conn.execute(insert(table).values(id=rate_id, org_id=org_id, plan_id=plan_id, created_at=now, updated_at=now, **row))
    _set_ends(conn, ends)
    return rate_id


def change(conn: Connection, org_id: int, rate_id: int, values: dict[str, Any], now: datetime) -> bool:
    """Change a rate in place (a correction: calls re-rated from now on see it). A new prefix,
    period or start moves it: the versions it leaves and joins are chained again."""
    rates_changed(conn, org_id)
    old = conn.execute(select(table).where(c.id == rate_id, c.org_id == org_id)).first()
    if old is None:
        return False
    row = to_row(values)
    if "effective_from" in row:
        row["effective_from"] = row["effective_from"] or EVER
    moved = {name: row.get(name, getattr(old, name)) for name in ("prefix", "period", "effective_from")}
    if moved != {name: getattr(old, name) for name in moved}:
        _set_ends(conn, versions.Line(_line(conn, old.plan_id, old.prefix, old.period)).remove(rate_id))
        line = versions.Line(slot for slot in _line(conn, old.plan_id, moved["prefix"], moved["period"]) if slot[2] != rate_id)
        clash = line.at(moved["effective_from"])
        if clash is not None:
            raise versions.clash(moved, ids.encode(clash))
        row["effective_to"] = None
        conn.execute(update(table).where(c.id == rate_id).values(updated_at=now, **row))
        _set_ends(conn, line.insert(rate_id, moved["effective_from"]))
    else:
        conn.execute(update(table).where(c.id == rate_id).values(updated_at=now, **row))
    return True


def remove(conn: Connection, org_id: int, rate_id: int) -> bool:
    """Delete a rate; the version before it runs on to where it ended."""
    rates_changed(conn, org_id)
    old = conn.execute(select(c.plan_id, c.prefix, c.period).where(c.id == rate_id, c.org_id == org_id)).first()
    if old is None:
        return False
    _set_ends(conn, versions.Line(_line(conn, old.plan_id, old.prefix, old.period)).remove(rate_id))
    conn.execute(delete(table).where(c.id == rate_id))
    return True


def find(conn: Connection, org_id: int, rate_id: int):
    return conn.execute(select(table).where(c.id == rate_id, c.org_id == org_id)).first()


def _line(conn: Connection, plan_id: int, prefix: str, period: str) -> list[tuple]:
    return conn.execute(
        select(c.effective_from, c.effective_to, c.id).where(c.plan_id == plan_id, c.prefix == prefix, c.period == period)
    ).all()


def _set_ends(conn: Connection, ends: dict[int, datetime | None]) -> None:
    if ends:
        conn.execute(update(table).where(c.id == bindparam("rate")).values(effective_to=bindparam("end")), [{"rate": k, "end": v} for k, v in ends.items()])


def load(
    conn: Connection, org_id: int, rows: list[dict[str, Any]], replace: bool, now: datetime, plan_id: int | None = None, start: datetime | None = None
) -> tuple[int, int]:
    """Write a validated deck into a plan (default: the organization's) in the caller's
    transaction: (inserted, updated).

    A row's version is its prefix, period and start (its effective_from, else `start`, else
    EVER): a stored version is updated in place, a new one inserted and chained. `replace`
    without `start` swaps the plan's whole deck, history included; with `start`, it ends there
    every prefix the list no longer has (dropping their versions not yet in force by then),
    and keeps the history. Decks run to hundreds of
    thousands of rows, so rows go to the driver as plain tuples: with per-row parameter
    processing SQLAlchemy would take most of the import's time.
    """
    rates_changed(conn, org_id)
    plan_id = org_id if plan_id is None else plan_id
    if replace and start is None:
        conn.execute(delete(table).where(c.plan_id == plan_id))
        stored = versions.Plan([])
    else:
        stored = _versions(conn, plan_id)
    for row in rows:
        row["period"] = row.get("period") or ALL_PERIODS
        row["effective_from"] = row.get("effective_from") or start or EVER
    fresh_ids = iter(ids.generator.many(len(rows)))
    fresh, changed = stored.place(rows, fresh_ids)
    if replace and start is not None:
        dropped = stored.end_absent(start, {(row["prefix"], row["period"]) for row in rows})
        if dropped:
            conn.execute(delete(table).where(c.id.in_(dropped)))
    ends = stored.ends()
    bind = table.c.updated_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)  # as SQLAlchemy stores a time
    cursor = conn.connection.driver_connection.cursor()
    with _roomy_cache(cursor, conn.dialect.name):
        if fresh:
            _insert_many(cursor, conn.dialect.name, org_id, plan_id, fresh, bind)
        if changed:
            _update_many(cursor, conn.dialect.name, changed, bind(now))
        if ends:
            marker = "%s" if conn.dialect.name == "postgresql" else "?"
            cursor.executemany(f"UPDATE call_rates SET effective_to = {marker} WHERE id = {marker}", [(bind(end) if end else None, rate) for rate, end in ends.items()])
    return len(fresh), len(changed)


def stored_times(conn: Connection, then: Callable[[datetime], Any] = lambda moment: moment) -> Callable[[Any], Any]:
    """A reader of effective_from/effective_to values as the driver returns them: each distinct
    value made a datetime, and passed through `then`, once (None stays None). A plan holds
    hundreds of thousands of rates but a few distinct times; converting every value took a fifth
    of a deck's rebuild and 2 of an import's 10 s."""
    process = c.effective_from.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None)
    made: dict[Any, Any] = {None: None}

    def read(raw: Any) -> Any:
        found = made.get(raw, made)
        if found is made:
            found = made[raw] = then(process(raw) if process else raw)
        return found

    return read


def _versions(conn: Connection, plan_id: int) -> versions.Plan:
    """The plan's stored versions, read through the driver (times made datetimes only where an
    import needs them: see `stored_times`)."""
    rows = driver_rows(conn, "SELECT prefix, period, effective_from, effective_to, id FROM call_rates WHERE plan_id = ?", (plan_id,))
    return versions.Plan(rows, stored_times(conn))


@contextmanager
def _roomy_cache(cursor: Any, dialect: str) -> Iterator[None]:
    """A 64 MiB SQLite page cache while a deck is written (the default 2 MiB makes index updates read pages again)."""
    if dialect != "sqlite":
        yield
        return
    size = cursor.execute("PRAGMA cache_size").fetchone()[0]
    cursor.execute("PRAGMA cache_size = -65536")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(size)}")


def _insert_many(cursor: Any, dialect: str, org_id: int, plan_id: int, rows: list[dict[str, Any]], bind: Any) -> None:
    names = [name for name in rows[0] if name not in ("id", "effective_from", "effective_to")]
    values = itemgetter(*names)
    now = bind(utcnow())
    starts = {start: bind(start) for start in {row["effective_from"] for row in rows}}  # most of a list shares one
    records = [(row["id"], org_id, plan_id, *values(row), starts[row["effective_from"]], now, now) for row in rows]
    columns = ", ".join(["id", "org_id", "plan_id", *names, "effective_from", "created_at", "updated_at"])
    if dialect == "postgresql":
        with cursor.copy(f"COPY call_rates ({columns}) FROM STDIN") as copy:
            for record in records:
                copy.write_row(record)
    else:
        cursor.executemany(f"INSERT INTO call_rates ({columns}) VALUES ({', '.join('?' * len(records[0]))})", records)


def _update_many(cursor: Any, dialect: str, rows: list[dict[str, Any]], stamp: Any) -> None:
    # Rows were matched by their version, so prefix, period and start are left alone: setting
    # them would rewrite their index entries.
    names = [name for name in rows[0] if name not in ("id", "prefix", "period", "effective_from", "effective_to")]
    values = itemgetter(*names)
    records = [(*values(row), stamp, row["id"]) for row in rows]
    columns = [*names, "updated_at"]
    if dialect == "postgresql":
        # One UPDATE joined to a COPY-filled scratch table instead of a statement per row.
        cursor.execute(f"CREATE TEMP TABLE rate_changes AS SELECT {', '.join(columns)}, id FROM call_rates WITH NO DATA")
        with cursor.copy(f"COPY rate_changes ({', '.join(columns)}, id) FROM STDIN") as copy:
            for record in records:
                copy.write_row(record)
        assignments = ", ".join(f"{name} = rate_changes.{name}" for name in columns)
        cursor.execute(f"UPDATE call_rates SET {assignments} FROM rate_changes WHERE call_rates.id = rate_changes.id")
        cursor.execute("DROP TABLE rate_changes")
    else:
        assignments = ", ".join(f"{name} = ?" for name in columns)
        cursor.executemany(f"UPDATE call_rates SET {assignments} WHERE id = ?", records)


def stream(conn: Connection, org_id: int, where: Iterable = (), order_by: Iterable = (c.prefix, c.period, c.effective_from)) -> Iterator:
    """Every matching rate, fetched in chunks (for export)."""
    yield from conn.execute(select(table).where(c.org_id == org_id, *where).order_by(*order_by).execution_options(yield_per=5000))
