"""Which catalog products an organization has enabled: one row per enabled product."""

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from trunkline.db.tables import organization_products as table

c = table.c


def enabled(conn: Connection, org_id: int) -> dict[str, datetime]:
    """Enabled product codes and when each was enabled."""
    return {row.code: row.enabled_at for row in conn.execute(select(c.code, c.enabled_at).where(c.org_id == org_id))}


def enable(conn: Connection, org_id: int, code: str, now: datetime) -> None:
    """Idempotent: enabling an enabled product keeps its original enabled_at."""
    if conn.execute(select(c.code).where(c.org_id == org_id, c.code == code)).first() is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(org_id=org_id, code=code, enabled_at=now))
    except IntegrityError:
        pass  # a concurrent enable won; same outcome


def disable(conn: Connection, org_id: int, code: str) -> None:
    conn.execute(delete(table).where(c.org_id == org_id, c.code == code))
