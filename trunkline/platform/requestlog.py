"""Request ids and the request log (the debug guid, kept 14 days).

Every response carries `X-Request-Id`, a time-ordered UUID
(version 7), so each new log entry lands at the end of the guid index instead of on a
random page (on a 270,000-entry log, 5 µs a row to write instead of 16). A summary of
each request is buffered in memory and written in batches, so logging costs no
database round trip on the request path. Secrets never reach the log: credentials are recorded as the token
id only, and secret-looking query parameters are masked.
"""

import asyncio
import logging
import threading
import time
import traceback
from operator import itemgetter
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Connection, Engine, delete, or_, select
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uuid6 import uuid7

from trunkline.platform.errors import ApiError, error_response
from trunkline.platform.responses import set_guid
from trunkline.store.tables import request_log

access_log = logging.getLogger("trunkline.access")
error_log = logging.getLogger("trunkline.error")

# A parameter whose name contains any of these (admin_password, refresh_token, x-api-key…) is masked.
SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "api-key", "authorization", "signature")
MASK = "[redacted]"


def _is_secret(name: str) -> bool:
    name = name.lower()
    return any(word in name for word in SECRET_WORDS)


def redact_query(query: str) -> str:
    """The query string with the values of secret-bearing parameters masked."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, MASK if _is_secret(k) else v) for k, v in pairs])


class RequestLogWriter:
    """Buffers request summaries and flushes them to the database in batches."""

    def __init__(self, engine: Engine, retention_days: int, flush_every: float = 1.0) -> None:
        self.engine = engine
        self.retention = timedelta(days=retention_days)
        self.flush_every = flush_every
        self._pending: list[dict] = []
        self._task: asyncio.Task | None = None
        self._flushing = threading.Lock()

    def add(self, record: dict) -> None:
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


def _write(connection: Connection, rows: list[dict]) -> None:
    """Insert summaries through the driver's executemany: SQLAlchemy's per-value processing
    cost several times the insert (about 20 µs a row, paid on every request)."""
    dialect = connection.dialect
    stored = request_log.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO request_log ({', '.join(_COLUMNS)}) VALUES ({', '.join([marker] * len(_COLUMNS))})"
    fields = itemgetter(*_COLUMNS[:-1])
    cursor = connection.connection.driver_connection.cursor()
    cursor.executemany(statement, [(*fields(row), stored(row["created_at"])) for row in rows])


class RequestLogMiddleware:
    """Outermost middleware: assigns the guid, adds headers (the guid, `nosniff` on every answer,
    `Cache-Control: no-store` on authenticated ones), turns crashes into a clean 500."""

    def __init__(self, app: ASGIApp, writer: RequestLogWriter) -> None:
        self.app = app
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guid = str(uuid7())
        set_guid(guid)
        state = scope.setdefault("state", {})
        state["guid"] = guid
        started = time.perf_counter()
        status = 500
        response_started = recorded = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started, recorded
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", guid.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                if "principal" in state and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))  # an organization's data stays out of shared caches
                headers.extend(state.get("extra_headers", ()))
                message["headers"] = headers
            elif message["type"] == "http.response.body" and not message.get("more_body", False) and not recorded:
                # Before the last byte leaves: a client that looks its guid up at once must find it.
                recorded = True
                self._record(scope, state, guid, status, started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            error_log.error("unhandled error in request %s\n%s", guid, traceback.format_exc())
            if not response_started:
                response = error_response(
                    ApiError(500, "Internal server error; quote the guid to support"), state
                )
                await response(scope, receive, send_with_headers)
        finally:
            if not recorded:
                self._record(scope, state, guid, status, started)

    def _record(self, scope: Scope, state: dict, guid: str, status: int, started: float) -> None:
        latency_ms = int((time.perf_counter() - started) * 1000)
        query = redact_query(scope.get("query_string", b"").decode("latin-1"))
        client = scope.get("client")
        principal = state.get("principal")
        self.writer.add(
            {
                "guid": guid,
                "org_id": principal.org_id if principal else None,
                "token_id": principal.token_id if principal else None,
                "method": scope["method"],
                "path": scope["path"].replace("\x00", "%00"),  # PostgreSQL text cannot hold NUL
                "query": query,
                "status": status,
                "error_code": state.get("error_code") or (None if status < 400 else "ERROR"),
                "client_ip": client[0] if client else None,
                "latency_ms": latency_ms,
                "created_at": datetime.now(UTC),
            }
        )
        if access_log.isEnabledFor(logging.INFO):
            path = scope["path"] + (f"?{query}" if query else "")
            access_log.info("%s %s %s %sms %s", scope["method"], path, status, latency_ms, guid)
