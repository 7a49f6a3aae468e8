"""Messages, their parts and events, early receipts and opt-outs: SQL over the messaging tables."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
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


def add_parts(conn: Connection, message_id: int, connection_id: int, keys: list[tuple[str, str | None]], status: str, now: datetime) -> None:
    """The message's segments, in order, each by its (key, alternative key) of the SMSC's id."""
    conn.execute(
        insert(message_parts),
        [{"message_id": message_id, "seq": seq, "connection_id": connection_id, "smsc_id": key, "smsc_alt_id": alt, "status": status, "updated_at": now}
         for seq, (key, alt) in enumerate(keys, 1)],
    )


def part_by_smsc_id(conn: Connection, connection_id: int, key: str):
    """The segment an SMSC id's key names, by its own key or, failing that, its alternative one."""
    p = message_parts.c
    found = conn.execute(select(message_parts).where(p.connection_id == connection_id, p.smsc_id == key)).first()
    return found or conn.execute(select(message_parts).where(p.connection_id == connection_id, p.smsc_alt_id == key)).first()


def set_part(conn: Connection, message_id: int, seq: int, status: str, error_code: int | None, now: datetime) -> None:
    p = message_parts.c
    conn.execute(update(message_parts).where(p.message_id == message_id, p.seq == seq).values(status=status, error_code=error_code, updated_at=now))


def parts_of(conn: Connection, message_id: int) -> list:
    return conn.execute(select(message_parts).where(message_parts.c.message_id == message_id).order_by(message_parts.c.seq)).all()


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
