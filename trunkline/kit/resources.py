"""What resource routes share: the database handle, short reads, path ids, update bodies."""

import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, Table
from starlette.concurrency import run_in_threadpool

from trunkline.kit import ids, lookup
from trunkline.kit.errors import ApiError, invalid, not_found
from trunkline.kit.schema import Input


async def _engine(request: Request) -> Engine:
    return request.app.state.engine


Database = Annotated[Engine, Depends(_engine)]
T = TypeVar("T")


async def read(db: Engine, query: Callable[[Connection], T]) -> T:
    """Run a short read for an `async` route. On SQLite it runs inline, on a connection this
    thread keeps (`_reader`): a WAL reader never waits for a writer, and an indexed read costs
    less than a worker thread, or a connection from the pool, there and back. Elsewhere a
    network round trip must not hold the event loop, so it runs in the threadpool."""
    if db.dialect.name == "sqlite":
        conn = _reader(db)
        try:
            return query(conn)
        finally:
            conn.rollback()  # ends the read: the next one sees every commit made since

    def run() -> T:
        with db.connect() as conn:
            return query(conn)

    return await run_in_threadpool(run)


_readers = threading.local()


def _reader(db: Engine) -> Connection:
    """The connection this thread (the event loop's) reads `db` through inline. Reads there run
    one at a time, so one is enough, and a query without DML opens no SQLite transaction."""
    held: dict[Engine, Connection] = _readers.__dict__.setdefault("held", {})
    conn = held.get(db)
    if conn is None or conn.closed or conn.invalidated:
        conn = held[db] = db.connect()
    return conn


def object_id(text: str, what: str) -> int:
    """An API id from the path; anything malformed is simply not found."""
    value = ids.decode(text)
    if value is None:
        raise not_found(what)
    return value


async def fetch_one(db: Engine, table: Table, org_id: int, id_text: str, what: str):
    """The row of object `id_text` in the organization's `table`; 404 naming `what` otherwise."""
    wanted = object_id(id_text, what)
    row = await read(db, lambda conn: lookup.read_by_id(conn, table, org_id, wanted))
    if row is None:
        raise not_found(what)
    return row


def changes(body: Input, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields an update body sets; null only where the field may be empty."""
    values = body.model_dump(exclude_unset=True)
    if not values:
        raise ApiError(400, "Send at least one field to change")
    nulls = sorted(name for name, value in values.items() if value is None and name not in nullable)
    if nulls:
        raise invalid([{"name": name, "reason": "may not be null"} for name in nulls])
    return values
