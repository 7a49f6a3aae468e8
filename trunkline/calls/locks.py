"""Whose turn it is to write an organization's calls: one batch at a time per SQLite file,
side by side on PostgreSQL, and re-rating alone (`exclusive`)."""

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, update

from trunkline.db.tables import organizations

_sqlite_batches: dict[str, threading.Lock] = {}


@contextmanager
def one_batch_at_a_time(engine: Engine) -> Iterator[None]:
    """On SQLite a process parses, plans and writes one batch at a time. sqlite3 gives up the
    GIL for every row it inserts; with another batch being parsed or planned in a second thread,
    the writer would wait for the GIL at every row (up to the 5 ms switch interval), and the
    write turn that every worker process queues for would last as long as both (measured in
    bench/README.md, "Measurements behind the code"). PostgreSQL writes are network round trips, not a GIL hand-off per row: no limit there."""
    if engine.dialect.name != "sqlite":
        yield
        return
    with _sqlite_batches.setdefault(str(engine.url), threading.Lock()):
        yield


_INGEST_LOCKS = 0x7C0A11  # the namespace of ingest's PostgreSQL advisory locks (one per org)


@contextmanager
def writing(conn: Connection, org_id: int, alone: bool = False) -> Iterator[None]:
    """The organization's write turn: enter after planning, just before the first write; leave
    after the commit.

    SQLite writes one transaction at a time anyway; a waiting one would sleep in its busy
    handler in steps of up to 100 ms, so an exclusive `flock` on a file next to the database
    hands the turn over at once, between threads and between worker processes alike
    (`trunkline serve --workers N`). A call_id another worker stored since the batch looked
    fails the unique constraint, and `ingest.ingest_batch` plans again inside the turn, `alone` (the
    flock is exclusive anyway).

    PostgreSQL takes batches side by side: the organization's advisory lock, shared, only keeps
    re-rating (which takes it exclusively) out. A call_id that a concurrent batch stores first
    fails the unique constraint (or, crossed, a deadlock), and `ingest.ingest_batch` plans again and
    writes `alone`, with the lock exclusively. The totals and the balances are upserted in key
    order, so batches that share rows queue for them, not deadlock, and last (the per-account
    totals, then the balances), so those rows every batch of a day shares are held only
    briefly before the commit.
    """
    if conn.dialect.name == "postgresql":
        if alone:
            exclusive(conn, org_id)
        else:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock_shared(%s, %s)", _ingest_lock(org_id))
        yield
        return
    with open(os.open(f"{conn.engine.url.database}-ingest.lock", os.O_CREAT | os.O_WRONLY, 0o600)) as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _ingest_lock(org_id: int) -> tuple[int, int]:
    return _INGEST_LOCKS, org_id % 2**31


def exclusive(conn: Connection, org_id: int) -> None:
    """Keep every other writer of the organization's calls out until `conn`'s transaction ends,
    for re-rating: it reads calls and writes back what changed, and two runs reading the same
    calls would move the totals and the balances twice. PostgreSQL: ingest's advisory lock,
    exclusively. SQLite: a write (that changes nothing) takes the database's one write lock
    now, where the reads that follow see what the last writer committed."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", _ingest_lock(org_id))
    else:
        conn.execute(update(organizations).where(organizations.c.id == org_id).values(deck_version=organizations.c.deck_version))
