"""The request log's store: summaries buffered in memory, written in batches, kept
`request_log_days`, and looked up by guid for `/api/requests/{guid}`.

Batches keep logging off the request path: a request costs no database round trip.
"""

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, or_, select
from starlette.concurrency import run_in_threadpool

from trunkline.db.tables import request_log
from trunkline.kit.requestlog import error_log


class RequestLogWriter:
    """Buffers request summaries and flushes them to the database in batches."""

    def __init__(self, engine: Engine, retention_days: int, flush_every: float = 1.0) -> None:
        self.engine = engine
        self.retention = timedelta(days=retention_days)
        self.flush_every = flush_every
        self._pending: list[tuple] = []
        self._task: asyncio.Task | None = None
        self._flushing = threading.Lock()

    def add(self, record: tuple) -> None:
        """A summary in the order of `request_log`'s columns, its time as `time.time()`."""
        self._pending.append(record)

    def flush_sync(self) -> None:
        # Locked so a lookup waits for a batch the background loop is still writing.
        with self._flushing:
            rows, self._pending = self._pending, []
            if rows:
                with self.engine.begin() as connection:
                    _write(connection, rows)

    async def flush(self) -> None:
        await run_in_threadpool(self.flush_sync)

    def purge(self) -> int:
        """Delete entries older than the retention period; returns how many."""
        cutoff = datetime.now(UTC) - self.retention
        with self.engine.begin() as connection:
            return connection.execute(delete(request_log).where(request_log.c.created_at < cutoff)).rowcount

    def lookup(self, guid: str, org_id: int, anonymous: bool = False) -> dict | None:
        """The organization's request; with `anonymous` (the operator), also one that no
        organization made (it failed authentication)."""
        self.flush_sync()
        owner = request_log.c.org_id == org_id
        if anonymous:
            owner = or_(owner, request_log.c.org_id.is_(None))
        with self.engine.connect() as connection:
            row = connection.execute(select(request_log).where(request_log.c.guid == guid, owner)).first()
        return dict(row._mapping) if row else None

    async def run(self) -> None:
        """Background loop: flush often, purge hourly."""
        last_purge = 0.0
        while True:
            await asyncio.sleep(self.flush_every)
            try:
                await self.flush()
                if time.monotonic() - last_purge > 3600:
                    await run_in_threadpool(self.purge)
                    last_purge = time.monotonic()
            except Exception:  # a logging hiccup must never take the server down
                error_log.exception("request log flush failed")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.flush()


_COLUMNS = [column.name for column in request_log.columns]
assert _COLUMNS[-1] == "created_at", "_write converts the last column as a timestamp"


def _write(connection: Connection, rows: list[tuple]) -> None:
    """Insert summaries through the driver's executemany: SQLAlchemy's per-value processing
    cost several times the insert. Times become datetimes here, off the request path."""
    dialect = connection.dialect
    stored = request_log.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO request_log ({', '.join(_COLUMNS)}) VALUES ({', '.join([marker] * len(_COLUMNS))})"
    cursor = connection.connection.driver_connection.cursor()
    cursor.executemany(statement, [(*row[:-1], stored(datetime.fromtimestamp(row[-1], UTC))) for row in rows])
