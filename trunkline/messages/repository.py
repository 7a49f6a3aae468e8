"""Messages, their parts and events, early receipts and opt-outs: SQL over the messaging tables."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from trunkline.db.tables import early_receipts, message_events, message_parts, opt_outs
from trunkline.db.tables import messages as table
from trunkline.kit import ids, lookup

c = table.c
_INSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def create(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """New messages, each with its first event (its status as created)."""
    conn.execute(insert(table), rows)
    add_events(conn, [(row["id"], row["status"], None, None) for row in rows], now)


def add_events(conn: Connection, events: Iterable[tuple[int, str, int | None, str | None]], now: datetime) -> None:
    """(message id, status, error code, detail) each, at `now`."""
    rows = [{"id": ids.new_id(), "message_id": message_id, "status": status, "error_code": code, "detail": detail, "at": now} for message_id, status, code, detail in events]
    if rows:
        conn.execute(insert(message_events), rows)


def find(conn: Connection, org_id: int, message_id: int):
    return lookup.by_id(conn, table, org_id, message_id)


def events_of(conn: Connection, message_id: int) -> list:
    return conn.execute(select(message_events).where(message_events.c.message_id == message_id).order_by(message_events.c.id)).all()


def set_status(conn: Connection, message_id: int, values: dict[str, Any], now: datetime) -> None:
    conn.execute(update(table).where(c.id == message_id).values(updated_at=now, **values))


def set_statuses(conn: Connection, changes: list[dict[str, Any]], now: datetime) -> None:
    """Many messages' status at once: each change holds `message_id`, `status`, `error_code`
    and `error`; the rest is what a final state clears."""
    statement = update(table).where(c.id == bindparam("b_message_id")).values(
        status=bindparam("b_status"), error_code=bindparam("b_error_code"), error=bindparam("b_error"), done_at=now, updated_at=now,
        next_attempt_at=None, claimed_until=None, sealed_text=None,
    )
    conn.execute(statement, [_bound(change) for change in changes])


def mark_submitted(conn: Connection, message_ids: list[int], now: datetime) -> None:
    """Every segment acknowledged: out of the queue, and the sealed text no longer needed."""
    conn.execute(update(table).where(c.id.in_(message_ids)).values(
        status="submitted", next_attempt_at=None, claimed_until=None, error_code=None, error=None, sealed_text=None, updated_at=now,
    ))


def by_ids(conn: Connection, message_ids: Iterable[int]) -> list:
    return conn.execute(select(table).where(c.id.in_(list(message_ids))).order_by(c.id)).all()


def claim_due(conn: Connection, now: datetime, until: datetime, limit: int) -> list:
    """Messages due for sending, now claimed until `until` by this dispatcher, oldest first.
    PostgreSQL skips rows another dispatcher holds; SQLite has one writer at a time."""
    due = and_(c.next_attempt_at <= now, or_(c.claimed_until.is_(None), c.claimed_until < now))
    chosen = select(c.id).where(due).order_by(c.next_attempt_at, c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    claimed = conn.execute(update(table).where(c.id.in_(chosen.scalar_subquery())).values(claimed_until=until).returning(c.id)).scalars().all()
    if not claimed:
        return []
    return conn.execute(select(table).where(c.id.in_(claimed)).order_by(c.next_attempt_at, c.id)).all()


def mark_queued(conn: Connection, message_ids: list[int], now: datetime) -> None:
    conn.execute(update(table).where(c.id.in_(message_ids)).values(status="queued", updated_at=now))
    add_events(conn, [(message_id, "queued", None, None) for message_id in message_ids], now)


def extend_claims(conn: Connection, message_ids: list[int], until: datetime) -> None:
    conn.execute(update(table).where(c.id.in_(message_ids), c.claimed_until.is_not(None)).values(claimed_until=until))


def add_parts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Segments as submitted: each `message_id`, `seq`, `connection_id`, `smsc_id` (the key of the
    SMSC's id), `smsc_alt_id`, `status` and `updated_at`."""
    if rows:
        conn.execute(insert(message_parts), rows)


def parts_by_smsc_id(conn: Connection, connection_id: int, keys: list[str]) -> dict[str, Any]:
    """{key: its segment} for the keys of SMSC ids a segment has, as its own key or, failing
    that, as its alternative one."""
    p = message_parts.c
    found = {part.smsc_id: part for part in conn.execute(select(message_parts).where(p.connection_id == connection_id, p.smsc_id.in_(keys)))}
    missing = [key for key in keys if key not in found]
    if missing:
        found |= {part.smsc_alt_id: part for part in conn.execute(select(message_parts).where(p.connection_id == connection_id, p.smsc_alt_id.in_(missing)))}
    return found


def set_parts(conn: Connection, changes: list[dict[str, Any]], now: datetime) -> None:
    """Segments' receipts: each change holds `message_id`, `seq`, `status` and `error_code`."""
    p = message_parts.c
    statement = update(message_parts).where(p.message_id == bindparam("b_message_id"), p.seq == bindparam("b_seq"))
    conn.execute(statement.values(status=bindparam("b_status"), error_code=bindparam("b_error_code"), updated_at=now), [_bound(change) for change in changes])


def _bound(change: dict[str, Any]) -> dict[str, Any]:
    """A change's values under the bind names of an executemany UPDATE (SQLAlchemy reserves the
    column names for the SET clause)."""
    return {f"b_{name}": value for name, value in change.items()}


def parts_of(conn: Connection, message_ids: Iterable[int]) -> dict[int, list]:
    """{message id: its segments in order}."""
    found: dict[int, list] = {}
    for part in conn.execute(select(message_parts).where(message_parts.c.message_id.in_(list(message_ids))).order_by(message_parts.c.message_id, message_parts.c.seq)):
        found.setdefault(part.message_id, []).append(part)
    return found


def keep_early_receipt(conn: Connection, connection_id: int, smsc_id: str, status: str, error_code: int | None, now: datetime) -> None:
    """A receipt for an id no part has yet; the newest one for the id wins."""
    statement = _INSERT[conn.dialect.name](early_receipts).values(connection_id=connection_id, smsc_id=smsc_id, status=status, error_code=error_code, received_at=now)
    conn.execute(statement.on_conflict_do_update(index_elements=["connection_id", "smsc_id"], set_={"status": status, "error_code": error_code, "received_at": now}))


def take_early_receipts(conn: Connection, connection_id: int, smsc_ids: list[str]) -> list:
    """The early receipts of these ids, removed."""
    r = early_receipts.c
    where = and_(r.connection_id == connection_id, r.smsc_id.in_(smsc_ids))
    found = conn.execute(select(early_receipts).where(where)).all()
    if found:
        conn.execute(delete(early_receipts).where(where))
    return found


def opted_out(conn: Connection, org_id: int, numbers: list[str]) -> set[str]:
    o = opt_outs.c
    return set(conn.scalars(select(o.number).where(o.org_id == org_id, o.number.in_(numbers))))


def opt_out(conn: Connection, org_id: int, number: str, keyword: str, now: datetime) -> None:
    statement = _INSERT[conn.dialect.name](opt_outs).values(org_id=org_id, number=number, keyword=keyword, created_at=now)
    conn.execute(statement.on_conflict_do_nothing(index_elements=["org_id", "number"]))
