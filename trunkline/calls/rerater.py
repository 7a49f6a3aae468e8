"""Re-rating as a job: a date range is priced again in committed chunks, so other writers (every
other tenant's CDRs on SQLite) wait at most one chunk, never the whole run.

Each chunk is one transaction inside the organization's exclusive turn: it reads the job's
position, re-rates the next calls, moves the daily totals and the accounts by the difference,
and advances the position. A chunk therefore happens entirely or not at all, and re-rating is
idempotent (a call already priced right is not changed), so a job stopped by a crash resumes
where it stopped (`Rerater.resume` at start) and a chunk run twice changes nothing twice. Each
chunk prices with the deck as it is when the chunk runs.
"""

import asyncio
import logging
import threading
from datetime import date

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls import repository as calls
from trunkline.calls import rerate_jobs as jobs
from trunkline.calls.ingest import PlanDecks
from trunkline.calls.locks import exclusive
from trunkline.calls.rerate import rerate
from trunkline.kit.clock import utcnow
from trunkline.kit.errors import is_busy

CHUNK = 5_000
log = logging.getLogger("trunkline.calls.rerater")


class AlreadyRunning(Exception):
    """The organization has a re-rate queued or running: `job` is its row."""

    def __init__(self, job) -> None:
        super().__init__(job.id)
        self.job = job


def start(engine: Engine, org_id: int, start_date: date, end_date: date, account_id: str | None):
    """A new queued job for the range, as stored; `AlreadyRunning` while another is queued or running."""
    with engine.begin() as conn:
        current = jobs.active(conn, org_id)
        if current is not None:
            raise AlreadyRunning(current)
        total = calls.count_in_range(conn, org_id, start_date, end_date, account_id)
        return jobs.get(conn, jobs.create(conn, org_id, start_date, end_date, account_id, total, utcnow()))


def step(engine: Engine, decks: DeckCache, job_id: int) -> bool:
    """Re-rate the job's next chunk in one transaction; False once there is nothing left."""
    with engine.begin() as conn:
        job = jobs.get(conn, job_id)
        if job is None or job.status not in jobs.ACTIVE:
            return False
        exclusive(conn, job.org_id)
        job = jobs.get(conn, job_id)  # as of the turn: another runner may have moved it
        if job.status not in jobs.ACTIVE:
            return False
        now = utcnow()
        rows = calls.next_in_range(conn, job.org_id, job.start_date, job.end_date, job.account_id, job.after_id, CHUNK)
        if not rows:
            jobs.finish(conn, job_id, now)
            return False
        result = rerate(conn, job.org_id, PlanDecks(decks, conn, job.org_id), rows, now)
        jobs.advance(conn, job_id, rows[-1].id, result.calls, result.changed, result.cost_before, result.cost_after, now)
        return True


class Rerater:
    """Runs the server's re-rating jobs in the background, one thread each, chunk by chunk."""

    def __init__(self, engine: Engine, decks: DeckCache) -> None:
        self.engine = engine
        self.decks = decks
        self._stopping = threading.Event()
        self._tasks: set[asyncio.Task] = set()

    def submit(self, job_id: int) -> None:
        """Run the job in the background (from the event loop)."""
        task = asyncio.get_running_loop().create_task(run_in_threadpool(self._run, job_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def submit_soon(self, job_id: int) -> None:
        """`submit` from a route running in a worker thread."""
        self._loop.call_soon_threadsafe(self.submit, job_id)

    def started(self) -> None:
        """Called in the server's lifespan, on its event loop."""
        self._loop = asyncio.get_running_loop()

    async def resume(self) -> None:
        """Pick up the jobs a stopped server left unfinished."""

        def unfinished() -> list[int]:
            with self.engine.connect() as conn:
                return jobs.unfinished(conn)

        for job_id in await run_in_threadpool(unfinished):
            self.submit(job_id)

    async def stop(self) -> None:
        """Let running jobs finish their chunk and stop (they resume at the next start)."""
        self._stopping.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _run(self, job_id: int) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    if not step(self.engine, self.decks, job_id):
                        return
                except OperationalError as exc:
                    if not is_busy(exc):
                        raise
                    self._stopping.wait(1)  # the database is busy: the chunk rolled back, try it again
        except Exception as exc:  # recorded on the job; the server goes on
            log.exception("re-rating job %s failed", job_id)
            with self.engine.begin() as conn:
                jobs.finish(conn, job_id, utcnow(), error=f"{type(exc).__name__}: {exc}")
