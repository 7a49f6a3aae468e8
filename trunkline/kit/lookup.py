"""Lookups every store module shares: one object by id within its organization (the read
behind every `GET /{id}`), and the organization's rows among a list of values.

Statements are built once: building a Core `select` costs more than the indexed lookup it
runs on SQLite.
"""

from collections import namedtuple
from collections.abc import Callable, Collection
from functools import cache
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import Connection, Select, Table, TextClause, bindparam, delete, select, text, update

_encode = msgspec.json.Encoder().encode
# The values go as one JSON text: a list parameter of 10,000 strings costs more to send.
_AMONG = {
    "sqlite": "{column} IN (SELECT value FROM json_each(:wanted))",
    "postgresql": "{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(:wanted AS jsonb))))",
}


def driver_rows(conn: Connection, statement: str, params: tuple) -> list[tuple]:
    """A short read straight through the driver, in `conn`'s transaction: `statement` is plain SQL
    with `?` markers (written `%s` for psycopg), and rows come back as the driver's tuples. For
    the reads a switch waits on every call (the deck version, the account to authorize):
    SQLAlchemy's execution and row processing cost twice the read itself."""
    if conn.dialect.paramstyle != "qmark":
        statement = statement.replace("?", "%s")
    return conn.connection.driver_connection.execute(statement, params).fetchall()


def owner(table: Table):
    """The column that says which organization a row belongs to (an organization, which has
    no `org_id`, is its own)."""
    return table.c.org_id if "org_id" in table.c else table.c.id


@cache
def _by_id(table: Table) -> Select:
    return select(table).where(table.c.id == bindparam("object_id"), owner(table) == bindparam("org_id"))


def by_id(conn: Connection, table: Table, org_id: int, object_id: int):
    """The row, or None when it does not exist or belongs to another organization."""
    return conn.execute(_by_id(table), {"object_id": object_id, "org_id": org_id}).first()


class _Read(NamedTuple):
    sql: str
    row: type  # a named tuple of the table's columns
    processors: tuple[Callable[[Any], Any] | None, ...]  # each column's conversion from the driver's value


@cache
def _driver_by_id(table: Table, dialect) -> _Read:
    compiled = _by_id(table).compile(dialect=dialect)
    if compiled.positiontup != ["object_id", "org_id"]:  # read_by_id passes them in this order
        raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
    fields = namedtuple(f"{table.name}_row", [column.key for column in table.columns])
    fields._mapping = property(fields._asdict)  # read like SQLAlchemy's Row where code asks for a mapping
    processors = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in table.columns)
    return _Read(str(compiled), fields, processors)


def read_by_id(conn: Connection, table: Table, org_id: int, object_id: int):
    """`by_id` through the driver: the same row, its values converted as SQLAlchemy would, for
    the GET of one object (SQLAlchemy's execution and row processing cost more than the read)."""
    if conn.dialect.paramstyle != "qmark":
        return by_id(conn, table, org_id, object_id)
    prepared = _driver_by_id(table, conn.dialect)
    found = driver_rows(conn, prepared.sql, (object_id, org_id))
    if not found:
        return None
    return prepared.row._make(value if convert is None else convert(value) for convert, value in zip(prepared.processors, found[0], strict=True))


def change(conn: Connection, table: Table, org_id: int, object_id: int, values: dict) -> bool:
    """Update the organization's row; False when it does not exist or belongs to another."""
    return conn.execute(update(table).where(table.c.id == object_id, owner(table) == org_id).values(**values)).rowcount == 1


def remove(conn: Connection, table: Table, org_id: int, object_id: int) -> bool:
    """Delete the organization's row; False when it does not exist or belongs to another."""
    return conn.execute(delete(table).where(table.c.id == object_id, owner(table) == org_id)).rowcount == 1


@cache
def _among(dialect: str, table: Table, column: str, returned: tuple[str, ...]) -> TextClause:
    condition = _AMONG[dialect].format(column=table.c[column].name)
    return text(f"SELECT {', '.join(table.c[name].name for name in returned)} FROM {table.name} WHERE org_id = :org_id AND {condition}")


def among(conn: Connection, table: Table, org_id: int, column: str, wanted: Collection[str], *returned: str) -> list:
    """The `returned` columns of the organization's rows whose text `column` is one of
    `wanted`, in one statement (an index on (org_id, column) makes it a lookup per value)."""
    if not wanted:
        return []
    statement = _among(conn.dialect.name, table, column, returned)
    return conn.execute(statement, {"org_id": org_id, "wanted": _encode(list(wanted)).decode()}).all()
