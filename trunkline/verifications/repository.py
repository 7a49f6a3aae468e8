"""Verification rows. Every change of state is one conditional UPDATE, so two checks at once
cannot both spend the last attempt, and an expiry cannot undo an approval."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from trunkline.db.tables import verifications as table

c = table.c
PENDING = "pending"


def create(conn: Connection, values: dict[str, Any]):
    conn.execute(insert(table).values(**values))
    return conn.execute(select(table).where(c.id == values["id"])).one()


def find(conn: Connection, org_id: int, verification_id: int):
    return conn.execute(select(table).where(c.id == verification_id, c.org_id == org_id)).first()


def spend_attempt(conn: Connection, org_id: int, verification_id: int, now: datetime):
    """The verification with one more attempt counted, or None when it takes no more checks
    (unknown, no longer pending, expired or out of attempts)."""
    return conn.execute(
        update(table)
        .where(c.id == verification_id, c.org_id == org_id, c.status == PENDING, c.expires_at > now, c.attempts < c.max_attempts)
        .values(attempts=c.attempts + 1, updated_at=now)
        .returning(*table.c)
    ).first()


def end(conn: Connection, verification_id: int, status: str, now: datetime):
    """Move a pending verification to `status`; the row, or None when it had already ended."""
    return conn.execute(
        update(table).where(c.id == verification_id, c.status == PENDING).values(status=status, done_at=now, updated_at=now).returning(*table.c)
    ).first()


def expire_due(conn: Connection, now: datetime, limit: int) -> list:
    """Pending verifications whose time ran out, now expired."""
    due = select(c.id).where(c.status == PENDING, c.expires_at <= now).order_by(c.expires_at).limit(limit)
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return conn.execute(
        update(table).where(c.id.in_(due.scalar_subquery()), c.status == PENDING).values(status="expired", done_at=now, updated_at=now).returning(*table.c)
    ).all()
