"""The catalog with each organization's choices: one row per enabled product."""

from datetime import datetime

from sqlalchemy import Connection, Integer, String, Subquery, and_, delete, insert, literal, select, union_all
from sqlalchemy.exc import IntegrityError

from trunkline.db.tables import organization_products as table
from trunkline.products.catalog import CATALOG

c = table.c
# The catalog as a table expression, so a list is the same SQL query every list is: filtered,
# searched, ordered and paged by the database, in the catalog's order by default. (A UNION of
# one-row SELECTs: SQLite cannot name the columns of a VALUES list.)
_CATALOG = union_all(
    *(
        select(literal(position, Integer).label("position"), literal(code, String).label("code"), literal(name, String).label("name"))
        for position, (code, name) in enumerate(CATALOG.items())
    )
).subquery("catalog")


def catalog(org_id: int) -> Subquery:
    """Every product with when the organization enabled it (null: it has not)."""
    joined = _CATALOG.outerjoin(table, and_(c.code == _CATALOG.c.code, c.org_id == org_id))
    return select(_CATALOG.c.position, _CATALOG.c.code, _CATALOG.c.name, c.enabled_at).select_from(joined).subquery("products")


def enabled_at(conn: Connection, org_id: int, code: str) -> datetime | None:
    """When the organization enabled product `code`; None when it has not."""
    return conn.execute(select(c.enabled_at).where(c.org_id == org_id, c.code == code)).scalar()


def enable(conn: Connection, org_id: int, code: str, now: datetime) -> None:
    """Idempotent: enabling an enabled product keeps its original enabled_at."""
    if enabled_at(conn, org_id, code) is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(org_id=org_id, code=code, enabled_at=now))
    except IntegrityError:
        pass  # a concurrent enable won; same outcome


def disable(conn: Connection, org_id: int, code: str) -> None:
    conn.execute(delete(table).where(c.org_id == org_id, c.code == code))
