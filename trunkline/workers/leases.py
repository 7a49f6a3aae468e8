"""This process's snowflake worker id: leased from the database, renewed in the background,
given back on shutdown (see workers.repository). `TRUNKLINE_WORKER_ID` pins one instead."""

import atexit
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from trunkline.kit import ids
from trunkline.workers import repository as workers

TTL = timedelta(seconds=60)
RENEW_EVERY = 15  # seconds: a lease survives three missed renewals
log = logging.getLogger("trunkline.workers.leases")


class WorkerLease:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.holder = workers.new_holder()
        self.worker_id: int | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> int:
        """Lease a worker id and make it this process's; RuntimeError when all are held."""
        started = time.monotonic()
        with self.engine.begin() as conn:
            worker_id = workers.lease(conn, self.holder, datetime.now(UTC), TTL)
        if worker_id is None:
            raise RuntimeError("all 1,024 snowflake worker ids are leased: too many live processes")
        self.worker_id = worker_id
        ids.configure(worker_id, valid_until=started + TTL.total_seconds())
        return worker_id

    def start(self) -> None:
        """Acquire, then renew in a background thread until `stop`."""
        self.acquire()
        self._thread = threading.Thread(target=self._renew, name="worker-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stopped.wait(RENEW_EVERY):
            started = time.monotonic()
            try:
                with self.engine.begin() as conn:
                    kept = workers.renew(conn, self.worker_id, self.holder, datetime.now(UTC), TTL)
                if kept:
                    ids.configure(self.worker_id, valid_until=started + TTL.total_seconds())
                else:
                    log.warning("worker id %s was taken after its lease ended; leasing another", self.worker_id)
                    self.acquire()
            except Exception:  # the database is out of reach: ids stop when the lease ends
                log.exception("renewing worker id %s failed", self.worker_id)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.worker_id is not None:
            try:
                with self.engine.begin() as conn:
                    workers.release(conn, self.worker_id, self.holder)
            except Exception:  # it expires on its own
                log.exception("releasing worker id %s failed", self.worker_id)


def lease_for_command(engine: Engine) -> None:
    """A CLI command's lease: for as long as the command runs."""
    lease = WorkerLease(engine)
    lease.start()
    atexit.register(lease.stop)


@contextmanager
def leased(engine: Engine) -> Iterator[None]:
    """A worker id for the duration of the block."""
    lease = WorkerLease(engine)
    lease.start()
    try:
        yield
    finally:
        lease.stop()
