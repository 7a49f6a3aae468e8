"""Call-rate rows: one deck per organization, prefix unique within it."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from trunkline.call_rates.schemas import MONEY_FIELDS
from trunkline.db.tables import call_rates as table
from trunkline.db.tables import organizations
from trunkline.kit import ids
from trunkline.kit.failures import Conflict
from trunkline.kit.listing import Counts
from trunkline.kit.lookup import driver_rows
from trunkline.rating.money import to_units

c = table.c


def deck_changed(conn: Connection, org_id: int) -> None:
    """Bump the organization's deck_version, in the writing transaction (see deck_cache.DeckCache)."""
    version = organizations.c.deck_version
    conn.execute(update(organizations).where(organizations.c.id == org_id).values(deck_version=version + 1))


def deck_version(conn: Connection, org_id: int) -> int:
    """The organization's deck version as of `conn`'s view: every call-rate write bumps it (read
    by every quote, authorize and push, so through the driver: see `lookup.driver_rows`)."""
    return driver_rows(conn, "SELECT deck_version FROM organizations WHERE id = ?", (org_id,))[0][0]


COUNTS = Counts(deck_version)  # list totals, per deck version (see kit.listing.Counts)


class DuplicatePrefix(Conflict):
    """The organization's deck already has this prefix."""

    def __init__(self, prefix: str | None) -> None:
        super().__init__(f"A call rate with prefix {prefix} already exists in this deck", code="DUPLICATE_PREFIX")


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
    deck_changed(conn, org_id)
    return rate_id


def change(conn: Connection, org_id: int, rate_id: int, values: dict[str, Any], now: datetime) -> bool:
    try:
        with conn.begin_nested():
            result = conn.execute(
                update(table).where(c.id == rate_id, c.org_id == org_id).values(updated_at=now, **to_row(values))
            )
    except IntegrityError:
        raise DuplicatePrefix(values.get("prefix")) from None
    deck_changed(conn, org_id)
    return result.rowcount == 1


def remove(conn: Connection, org_id: int, rate_id: int) -> bool:
    deck_changed(conn, org_id)
    return conn.execute(delete(table).where(c.id == rate_id, c.org_id == org_id)).rowcount == 1


def existing_prefixes(conn: Connection, org_id: int) -> dict[str, int]:
    return dict(conn.execute(select(c.prefix, c.id).where(c.org_id == org_id)).all())


def load(conn: Connection, org_id: int, rows: list[dict[str, Any]], replace: bool, now: datetime) -> tuple[int, int]:
    """Write a validated deck in the caller's transaction: (inserted, updated).

    `replace` swaps the whole deck; otherwise rows upsert by prefix. Decks run to
    hundreds of thousands of rows, so rows go to the driver as plain tuples: with
    per-row parameter processing SQLAlchemy would take most of the import's time.
    """
    if replace:
        conn.execute(delete(table).where(c.org_id == org_id))
        known: dict[str, int] = {}
    else:
        known = existing_prefixes(conn, org_id)
    fresh = [row for row in rows if row["prefix"] not in known]
    changed = [row for row in rows if row["prefix"] in known] if known else []
    stamp = table.c.updated_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)(now)  # as SQLAlchemy stores it
    cursor = conn.connection.driver_connection.cursor()
    with _roomy_cache(cursor, conn.dialect.name):
        if fresh:
            _insert_many(cursor, conn.dialect.name, org_id, fresh, stamp)
        if changed:
            _update_many(cursor, conn.dialect.name, known, changed, stamp)
    deck_changed(conn, org_id)
    return len(fresh), len(changed)


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


def _insert_many(cursor: Any, dialect: str, org_id: int, rows: list[dict[str, Any]], stamp: Any) -> None:
    names = list(rows[0])
    values = itemgetter(*names)
    records = [(rate_id, org_id, *values(row), stamp, stamp) for rate_id, row in zip(ids.generator.many(len(rows)), rows)]
    columns = ", ".join(["id", "org_id", *names, "created_at", "updated_at"])
    if dialect == "postgresql":
        with cursor.copy(f"COPY call_rates ({columns}) FROM STDIN") as copy:
            for record in records:
                copy.write_row(record)
    else:
        cursor.executemany(f"INSERT INTO call_rates ({columns}) VALUES ({', '.join('?' * len(records[0]))})", records)


def _update_many(cursor: Any, dialect: str, known: dict[str, int], rows: list[dict[str, Any]], stamp: Any) -> None:
    # Rows were matched by prefix, so it is left alone: setting it would rewrite its index entry.
    names = [name for name in rows[0] if name != "prefix"]
    values = itemgetter(*names)
    records = [(*values(row), stamp, known[row["prefix"]]) for row in rows]
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


def stream(conn: Connection, org_id: int, where: Iterable = (), order_by: Iterable = (c.prefix,)) -> Iterator:
    """Every matching rate, fetched in chunks (for export)."""
    yield from conn.execute(select(table).where(c.org_id == org_id, *where).order_by(*order_by).execution_options(yield_per=5000))
