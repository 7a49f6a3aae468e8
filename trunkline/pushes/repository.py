"""The CDR quarantine: switch CDRs that could not be read, kept byte for byte with the error,
written in the same transaction as the batch they came with."""

from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from trunkline.db.tables import cdr_quarantine as table
from trunkline.kit import ids, lookup
from trunkline.kit.lookup import among
from trunkline.pushes.schemas import HoldStatus
from trunkline.switches.intake import Hold

MAX_ERROR = 1000
c = table.c
_INSERT = {"sqlite": sqlite_insert, "postgresql": pg_insert}


def hold(conn: Connection, org_id: int, holds: list[Hold], now: datetime) -> list[int]:
    """Keep `holds` (a record already held, sent again, is kept once); their ids, in order."""
    if not holds:
        return []
    rows = [
        {
            "id": ids.new_id(), "org_id": org_id, "endpoint_id": entry.endpoint_id, "media_type": entry.media_type,
            "body": entry.body, "digest": entry.digest, "error": entry.error[:MAX_ERROR], "line": entry.line,
            "status": HoldStatus.held, "call_ids": None, "received_at": now, "processed_at": None,
        }
        for entry in holds
    ]
    statement = _INSERT[conn.dialect.name](table).on_conflict_do_nothing(index_elements=["org_id", "digest"])
    conn.execute(statement, rows)
    found = dict(among(conn, table, org_id, "digest", {row["digest"] for row in rows}, "digest", "id"))
    return [found[row["digest"]] for row in rows]


def held(conn: Connection, org_id: int, entry_ids: list[int] | None, endpoint_id: int | None):
    """Held entries of the organization, oldest first: those named, or all (of one endpoint)."""
    statement = select(table).where(c.org_id == org_id, c.status == HoldStatus.held).order_by(c.id)
    if entry_ids is not None:
        statement = statement.where(c.id.in_(entry_ids))
    if endpoint_id is not None:
        statement = statement.where(c.endpoint_id == endpoint_id)
    return conn.execute(statement).all()


def processed(conn: Connection, entry_id: int, call_ids: list[int], now: datetime) -> None:
    """The entry was read this time; its records are stored as these calls."""
    conn.execute(
        update(table).where(c.id == entry_id).values(status=HoldStatus.processed, call_ids=[ids.encode(call) for call in call_ids], processed_at=now)
    )


def still_unreadable(conn: Connection, entry_id: int, error: str) -> None:
    conn.execute(update(table).where(c.id == entry_id).values(error=error[:MAX_ERROR]))


def remove(conn: Connection, org_id: int, entry_id: int) -> bool:
    return lookup.remove(conn, table, org_id, entry_id)
