"""SMSC connection and SMS route rows."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from trunkline.db.tables import sms_routes as routes
from trunkline.db.tables import smsc_connections as connections
from trunkline.kit import ids, lookup
from trunkline.kit.failures import Conflict

c = connections.c
r = routes.c


class DuplicateName(Conflict):
    def __init__(self, name: str | None) -> None:
        super().__init__(f"An SMSC connection named {name} already exists", code="DUPLICATE_NAME")


def create_connection(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    connection_id = ids.new_id()
    try:
        with conn.begin_nested():
            conn.execute(insert(connections).values(id=connection_id, org_id=org_id, created_at=now, updated_at=now, **values))
    except IntegrityError:
        raise DuplicateName(values["name"]) from None
    return connection_id


def change_connection(conn: Connection, org_id: int, connection_id: int, values: dict[str, Any], now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(update(connections).where(c.id == connection_id, c.org_id == org_id).values(updated_at=now, **values))
    except IntegrityError:
        raise DuplicateName(values.get("name")) from None


def find_connection(conn: Connection, org_id: int, connection_id: int):
    return lookup.by_id(conn, connections, org_id, connection_id)


def remove_connection(conn: Connection, org_id: int, connection_id: int) -> None:
    lookup.remove(conn, connections, org_id, connection_id)


def routed(conn: Connection, org_id: int, connection_id: int) -> bool:
    """Whether some route sends messages to the connection."""
    return bool(conn.scalar(select(exists().where(r.org_id == org_id, r.connection_id == connection_id))))


def create_route(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    route_id = ids.new_id()
    conn.execute(insert(routes).values(id=route_id, org_id=org_id, created_at=now, updated_at=now, **values))
    return route_id


def change_route(conn: Connection, org_id: int, route_id: int, values: dict[str, Any], now: datetime) -> None:
    conn.execute(update(routes).where(r.id == route_id, r.org_id == org_id).values(updated_at=now, **values))


def find_route(conn: Connection, org_id: int, route_id: int):
    return lookup.by_id(conn, routes, org_id, route_id)


def remove_route(conn: Connection, org_id: int, route_id: int) -> None:
    lookup.remove(conn, routes, org_id, route_id)


def same_route(conn: Connection, org_id: int, product: str | None, prefix: str, connection_id: int, other_than: int | None) -> int | None:
    """The id of a route, other than `other_than`, sending the same product and prefix to the same connection."""
    query = select(r.id).where(
        r.org_id == org_id, r.prefix == prefix, r.connection_id == connection_id, r.product.is_(None) if product is None else r.product == product
    )
    if other_than is not None:
        query = query.where(r.id != other_than)
    return conn.scalar(query.limit(1))


def candidates(conn: Connection, org_id: int, product: str | None, prefixes: list[str]) -> list:
    """The organization's routes to an enabled connection for one of `prefixes`, for `product`
    or for every product."""
    products = r.product.is_(None) if product is None else (r.product.is_(None) | (r.product == product))
    query = (
        select(r.id, r.product, r.prefix, r.priority, r.connection_id)
        .join(connections, c.id == r.connection_id)
        .where(r.org_id == org_id, r.prefix.in_(prefixes), products, c.enabled)
    )
    return conn.execute(query).all()
