"""SMSC connection and SMS route policy: a password is sealed before it is stored, a route sends
to a connection of the organization, and `pick` chooses the connection for a message."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from trunkline.kit import ids
from trunkline.kit.failures import Conflict, Invalid, NotFound
from trunkline.rating import normalize_number
from trunkline.smsc import repository as store
from trunkline.smsc.session import SessionSettings

Seal = Callable[[str], str]


def _sealed(values: dict[str, Any], seal: Seal) -> dict[str, Any]:
    values = dict(values)
    if "password" in values:
        values["password_sealed"] = seal(values.pop("password"))
    return values


def _source_pinned(source_ton: int | None, source_npi: int | None) -> None:
    """The sender's TON and NPI are pinned together or follow the sender together."""
    if (source_ton is None) != (source_npi is None):
        raise Invalid.fields({"name": "source_npi" if source_npi is None else "source_ton", "reason": "give source_ton and source_npi together, or neither"})


def create_connection(conn: Connection, org_id: int, values: dict[str, Any], seal: Seal, now: datetime) -> int:
    _source_pinned(values.get("source_ton"), values.get("source_npi"))
    return store.create_connection(conn, org_id, _sealed(values, seal), now)


def change_connection(conn: Connection, org_id: int, connection_id: int, values: dict[str, Any], seal: Seal, now: datetime) -> None:
    row = find_connection(conn, org_id, connection_id)
    _source_pinned(values.get("source_ton", row.source_ton), values.get("source_npi", row.source_npi))
    store.change_connection(conn, org_id, connection_id, _sealed(values, seal), now)


def remove_connection(conn: Connection, org_id: int, connection_id: int) -> None:
    find_connection(conn, org_id, connection_id)
    if store.routed(conn, org_id, connection_id):
        raise Conflict("SMS routes send messages to this SMSC connection: delete or change them first", code="CONNECTION_IN_USE")
    store.remove_connection(conn, org_id, connection_id)


def find_connection(conn: Connection, org_id: int, connection_id: int):
    row = store.find_connection(conn, org_id, connection_id)
    if row is None:
        raise NotFound("SMSC connection")
    return row


def session_settings(conn: Connection, org_id: int, connection_id: int, open_secret: Callable[[str], str]) -> SessionSettings:
    """What an SMPP session needs to bind through the connection, with its password opened."""
    row = find_connection(conn, org_id, connection_id)
    return SessionSettings(
        host=row.host,
        port=row.port,
        system_id=row.system_id,
        password=open_secret(row.password_sealed),
        system_type=row.system_type,
        transceiver=row.bind_mode == "transceiver",
        messages_per_second=row.messages_per_second,
        window_size=row.window_size,
        source_type=None if row.source_ton is None else (row.source_ton, row.source_npi),
        dest_type=(row.dest_ton, row.dest_npi),
    )


def _route_checked(conn: Connection, org_id: int, values: dict[str, Any], route_id: int | None, current=None) -> dict[str, Any]:
    """Values to store: the connection as its row id (one of the organization's, else 422), and
    no second route of the same product and prefix to the same connection (409)."""
    values = dict(values)
    if "connection_id" in values:
        found = store.find_connection(conn, org_id, ids.decode(values["connection_id"]) or -1)
        if found is None:
            raise Invalid.fields({"name": "connection_id", "reason": "no such SMSC connection"})
        values["connection_id"] = found.id
    merged = {**(current._mapping if current is not None else {}), **values}
    twin = store.same_route(conn, org_id, merged.get("product"), merged["prefix"], merged["connection_id"], route_id)
    if twin is not None:
        raise Conflict(f"Route {ids.encode(twin)} already sends this product and prefix to this connection", code="DUPLICATE_ROUTE")
    return values


def create_route(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    return store.create_route(conn, org_id, _route_checked(conn, org_id, values, None), now)


def change_route(conn: Connection, org_id: int, route_id: int, values: dict[str, Any], now: datetime) -> None:
    current = find_route(conn, org_id, route_id)
    store.change_route(conn, org_id, route_id, _route_checked(conn, org_id, values, route_id, current), now)


def remove_route(conn: Connection, org_id: int, route_id: int) -> None:
    find_route(conn, org_id, route_id)
    store.remove_route(conn, org_id, route_id)


def find_route(conn: Connection, org_id: int, route_id: int):
    row = store.find_route(conn, org_id, route_id)
    if row is None:
        raise NotFound("SMS route")
    return row


def pick(conn: Connection, org_id: int, product: str | None, number: str) -> int | None:
    """The id of the SMSC connection that carries a `product` message to `number`, or None when
    no route does. The longest prefix of the number wins; on the same prefix a route for the
    product beats one for every product, then the lowest priority, then the oldest route. Routes to
    disabled connections are passed over, so the next one carries the message."""
    digits = normalize_number(number)
    if digits is None:
        return None
    routes = store.candidates(conn, org_id, product, [digits[:length] for length in range(min(len(digits), 32) + 1)])
    if not routes:
        return None
    return min(routes, key=lambda route: (-len(route.prefix), route.product is None, route.priority, route.id)).connection_id
