"""Re-rating jobs: what each covers, how far it got and what it changed so far."""

from datetime import date, datetime

from sqlalchemy import Connection, insert, select, update

from trunkline.calls.schemas import RerateStatus
from trunkline.db.tables import rerate_jobs as table
from trunkline.kit import ids

QUEUED, RUNNING, DONE, FAILED = RerateStatus
ACTIVE = (QUEUED, RUNNING)
c = table.c


def create(conn: Connection, org_id: int, start_date: date, end_date: date, account_id: str | None, total: int, now: datetime) -> int:
    job_id = ids.new_id()
    conn.execute(
        insert(table).values(
            id=job_id, org_id=org_id, start_date=start_date, end_date=end_date, account_id=account_id, status=QUEUED,
            total=total, after_id=0, calls=0, changed=0, cost_before=0, cost_after=0, error=None,
            created_at=now, updated_at=now, finished_at=None,
        )
    )
    return job_id


def active(conn: Connection, org_id: int):
    """The organization's job that is queued or running, if any."""
    return conn.execute(select(table).where(c.org_id == org_id, c.status.in_(ACTIVE)).limit(1)).first()


def unfinished(conn: Connection) -> list[int]:
    """Every job not done (a server stopped while running one): to be resumed."""
    return list(conn.execute(select(c.id).where(c.status.in_(ACTIVE)).order_by(c.id)).scalars())


def get(conn: Connection, job_id: int):
    return conn.execute(select(table).where(c.id == job_id)).first()


def advance(conn: Connection, job_id: int, after_id: int, calls: int, changed: int, cost_before: int, cost_after: int, now: datetime) -> None:
    """Record a committed chunk (in its transaction)."""
    conn.execute(
        update(table)
        .where(c.id == job_id)
        .values(
            status=RUNNING, after_id=after_id, calls=c.calls + calls, changed=c.changed + changed,
            cost_before=c.cost_before + cost_before, cost_after=c.cost_after + cost_after, updated_at=now,
        )
    )


def finish(conn: Connection, job_id: int, now: datetime, error: str | None = None) -> None:
    conn.execute(update(table).where(c.id == job_id).values(status=FAILED if error else DONE, error=error and error[:500], updated_at=now, finished_at=now))
