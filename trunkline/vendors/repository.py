"""Vendor rows."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from trunkline.db.tables import calls
from trunkline.db.tables import vendors as table
from trunkline.kit import ids, lookup
from trunkline.kit.failures import Conflict

c = table.c


class DuplicateName(Conflict):
    def __init__(self, name: str | None) -> None:
        super().__init__(f"A vendor named {name} already exists", code="DUPLICATE_NAME")


def create(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    vendor_id = ids.new_id()
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(id=vendor_id, org_id=org_id, created_at=now, updated_at=now, **values))
    except IntegrityError:
        raise DuplicateName(values["name"]) from None
    return vendor_id


def change(conn: Connection, org_id: int, vendor_id: int, values: dict[str, Any], now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(update(table).where(c.id == vendor_id, c.org_id == org_id).values(updated_at=now, **values))
    except IntegrityError:
        raise DuplicateName(values.get("name")) from None


def remove(conn: Connection, org_id: int, vendor_id: int) -> None:
    conn.execute(delete(table).where(c.id == vendor_id, c.org_id == org_id))


def find(conn: Connection, org_id: int, vendor_id: int):
    return lookup.by_id(conn, table, org_id, vendor_id)


def every(conn: Connection, org_id: int) -> list:
    """The organization's vendors (a carrier has tens, not thousands)."""
    return conn.execute(select(c.id, c.name, c.rate_plan_id, c.gateways).where(c.org_id == org_id).order_by(c.id)).all()


def carried_calls(conn: Connection, org_id: int, vendor_id: int) -> bool:
    return bool(conn.scalar(select(exists().where(calls.c.org_id == org_id, calls.c.vendor_id == vendor_id))))
