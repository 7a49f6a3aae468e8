"""Rapid-response call requests and their dialing status."""

from datetime import datetime

from sqlalchemy import Connection, insert, update

from trunkline.db.tables import call_requests as table
from trunkline.kit import ids

c = table.c
def create(conn: Connection, org_id: int, account_id: str, callee: str, whisper_text: str, dialer: str, now: datetime) -> int:
    request_id = ids.new_id()
    conn.execute(
        insert(table).values(
            id=request_id, org_id=org_id, account_id=account_id, callee=callee, whisper_text=whisper_text,
            status="queued", dialer=dialer, detail=None, created_at=now, updated_at=now,
        )
    )
    return request_id


def set_status(conn: Connection, request_id: int, status: str, detail: str | None, now: datetime) -> None:
    conn.execute(update(table).where(c.id == request_id).values(status=status, detail=detail, updated_at=now))
