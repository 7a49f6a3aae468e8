"""The dispatcher's side of the outbox: claiming due deliveries, recording what each attempt
got, and forgetting old events.

A claim counts the attempt and moves `next_attempt_at` to the end of the claim in one short
transaction. On PostgreSQL the due rows are locked with `FOR UPDATE SKIP LOCKED`, so workers
claiming at once take different deliveries; SQLite has one writer at a time, so its UPDATE
alone is enough. A worker that dies holding a claim leaves its deliveries due again when the
claim ends: delivery is at least once. The attempt number fences the result: a worker whose
claim lapsed and was taken over still logs its attempt, but no longer moves the delivery.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, or_, select, update

from trunkline.db.tables import webhook_attempts, webhook_deliveries, webhook_events, webhooks
from trunkline.kit import ids
from trunkline.webhooks import schedule
from trunkline.webhooks.schemas import DeliveryStatus

d, w, e = webhook_deliveries.c, webhooks.c, webhook_events.c
PENDING, SUCCEEDED, FAILED = DeliveryStatus.pending.value, DeliveryStatus.succeeded.value, DeliveryStatus.failed.value
SHORT = 500  # characters kept of a response or an error


@dataclass(frozen=True)
class Job:
    """A claimed delivery with what sending it takes."""

    delivery_id: int
    org_id: int
    webhook_id: int
    event_id: int
    attempt: int  # this attempt's number, 1 for the first
    created_at: datetime  # the delivery's
    url: str
    body: str
    secrets: tuple[str, ...]  # sealed: the current secret, and the previous one while it still signs


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the receiver's status and the start of its answer, or an error."""

    job: Job
    at: datetime
    duration_ms: int
    status_code: int | None = None
    response: str | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def summary(self) -> str:
        return self.error or f"HTTP {self.status_code}"


def claim(conn: Connection, now: datetime, lease: timedelta, limit: int) -> list[Job]:
    """Claim up to `limit` due deliveries of enabled webhooks, oldest due first, until now + lease."""
    due = select(d.id).join(webhooks, w.id == d.webhook_id).where(d.next_attempt_at <= now, w.enabled).order_by(d.next_attempt_at).limit(limit)
    if conn.execute(due.limit(1)).first() is None:
        return []  # a read: an idle dispatcher never takes SQLite's write lock
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(of=webhook_deliveries, skip_locked=True)
    claimed = conn.execute(
        update(webhook_deliveries)
        .where(d.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + lease, attempts=d.attempts + 1)
        .returning(d.id, d.org_id, d.webhook_id, d.event_id, d.attempts, d.created_at)
    ).all()
    if not claimed:
        return []
    hooks = {row.id: row for row in conn.execute(select(w.id, w.url, w.secret, w.previous_secret, w.previous_until).where(w.id.in_({row.webhook_id for row in claimed})))}
    bodies = dict(conn.execute(select(e.id, e.body).where(e.id.in_({row.event_id for row in claimed}))).all())
    jobs = []
    for row in claimed:
        hook = hooks[row.webhook_id]
        keys = (hook.secret, hook.previous_secret) if hook.previous_secret and hook.previous_until > now else (hook.secret,)
        jobs.append(Job(row.id, row.org_id, row.webhook_id, row.event_id, row.attempts, row.created_at, hook.url, bodies[row.event_id], keys))
    return jobs


_MOVE = (
    update(webhook_deliveries)
    .where(d.id == bindparam("b_id"), d.attempts == bindparam("b_attempt"), d.status == PENDING)
    .values(
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next"),
        last_attempt_at=bindparam("b_at"),
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        finished_at=bindparam("b_finished"),
    )
)


def settle(conn: Connection, outcomes: list[Outcome], now: datetime) -> set[int]:
    """Log every attempt and move each delivery on: done on 2xx; else due again by the retry
    schedule; failed after the last attempt, or at once on 410 Gone. A webhook is disabled, with
    the reason, on a 410, or when a delivery ran out of retries and nothing reached the
    receiver since that delivery was made (it has been down for a day, rather than refusing one
    event). The organizations whose webhooks were disabled."""
    if not outcomes:
        return set()
    conn.execute(insert(webhook_attempts), [_attempt(attempt_id, outcome) for attempt_id, outcome in zip(ids.generator.many(len(outcomes)), outcomes, strict=True)])
    moves, finals, reached = [], [], {}
    for outcome in outcomes:
        job = outcome.job
        if outcome.succeeded:
            moves.append(_move(outcome, SUCCEEDED, None, now))
            reached[job.webhook_id] = max(reached.get(job.webhook_id, outcome.at), outcome.at)
            continue
        due = None if outcome.status_code == 410 else schedule.next_attempt_at(job.attempt, now)
        if due is None:
            finals.append(outcome)
        else:
            moves.append(_move(outcome, PENDING, due, None))
    if moves:
        conn.execute(_MOVE, moves)
    for webhook_id, at in reached.items():
        conn.execute(update(webhooks).where(w.id == webhook_id, or_(w.last_success_at.is_(None), w.last_success_at < at)).values(last_success_at=at))
    disabled = set()
    for outcome in finals:
        if conn.execute(_MOVE, _move(outcome, FAILED, None, now)).rowcount == 1 and _disable(conn, outcome, now):
            disabled.add(outcome.job.org_id)
    return disabled


def _disable(conn: Connection, outcome: Outcome, now: datetime) -> bool:
    job = outcome.job
    if outcome.status_code == 410:
        reason, condition = "The receiver answered 410 Gone: it asked for no more deliveries", w.enabled
    else:
        reason = (
            f"Every delivery failed since {job.created_at:%Y-%m-%d %H:%M:%S} UTC: delivery {ids.encode(job.delivery_id)} gave up "
            f"after {job.attempt} attempts (last: {outcome.summary})"
        )[:SHORT]
        condition = and_(w.enabled, or_(w.last_success_at.is_(None), w.last_success_at < job.created_at))
    changed = update(webhooks).where(w.id == job.webhook_id, condition).values(enabled=False, disabled_reason=reason, updated_at=now)
    return conn.execute(changed).rowcount == 1


def _move(outcome: Outcome, status: str, due: datetime | None, finished: datetime | None) -> dict:
    return {
        "b_id": outcome.job.delivery_id,
        "b_attempt": outcome.job.attempt,
        "b_status": status,
        "b_next": due,
        "b_at": outcome.at,
        "b_code": outcome.status_code,
        "b_error": None if outcome.succeeded else outcome.summary[:SHORT],
        "b_finished": finished,
    }


def _attempt(attempt_id: int, outcome: Outcome) -> dict:
    job = outcome.job
    return {
        "id": attempt_id,
        "org_id": job.org_id,
        "webhook_id": job.webhook_id,
        "delivery_id": job.delivery_id,
        "attempt": job.attempt,
        "status_code": outcome.status_code,
        "response": outcome.response,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
        "created_at": outcome.at,
    }


def purge(conn: Connection, before: datetime, limit: int = 5000) -> int:
    """Delete up to `limit` events made before `before` that no delivery still waits for, with
    their deliveries and attempts (the foreign keys cascade); how many."""
    waiting = exists().where(d.event_id == e.id, d.status == PENDING)
    doomed = select(e.id).where(e.created_at < before, ~waiting).limit(limit)
    return conn.execute(delete(webhook_events).where(e.id.in_(doomed.scalar_subquery()))).rowcount
