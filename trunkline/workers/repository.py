"""Snowflake worker ids, leased from the database so that no two live processes share one,
whatever their pid (every container's server is pid 1).

A lease lasts `ttl` seconds and is renewed well before it ends. A process takes the lowest
worker id whose lease has ended (or never existed), claiming it with one conditional write, so
two processes starting at once cannot take the same id.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from trunkline.db.tables import worker_leases as table

WORKER_IDS = 1024
c = table.c


def lease(conn: Connection, holder: str, now: datetime, ttl: timedelta) -> int | None:
    """Claim a free worker id for `holder` until now + ttl; None when all 1,024 are held."""
    taken = {row.worker_id: row.expires_at for row in conn.execute(select(c.worker_id, c.expires_at))}
    for worker_id in range(WORKER_IDS):
        if worker_id not in taken:
            try:
                with conn.begin_nested():
                    conn.execute(insert(table).values(worker_id=worker_id, holder=holder, expires_at=now + ttl))
                return worker_id
            except IntegrityError:
                continue  # another process claimed it first
        elif taken[worker_id] <= now:
            claimed = conn.execute(
                update(table).where(c.worker_id == worker_id, c.expires_at <= now).values(holder=holder, expires_at=now + ttl)
            ).rowcount
            if claimed == 1:
                return worker_id
    return None


def renew(conn: Connection, worker_id: int, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Extend the lease; False when it is no longer this holder's (it ended and was taken)."""
    return conn.execute(
        update(table).where(c.worker_id == worker_id, c.holder == holder).values(expires_at=now + ttl)
    ).rowcount == 1


def release(conn: Connection, worker_id: int, holder: str) -> None:
    conn.execute(delete(table).where(c.worker_id == worker_id, c.holder == holder))


def new_holder() -> str:
    return uuid.uuid4().hex
