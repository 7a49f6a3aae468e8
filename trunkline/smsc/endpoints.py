"""`/api/smsc_connections`: the SMPP accounts an organization sends messages through. The
password goes in and is never shown again: it is kept encrypted with the server key."""

from typing import Annotated

from fastapi import Request

from trunkline.db.tables import smsc_connections
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id
from trunkline.kit.responses import done, item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, page_of, saved_of
from trunkline.smsc import repository as store
from trunkline.smsc import service
from trunkline.smsc.schemas import CONNECTION_FIELDS, Connection, ConnectionCreate, ConnectionUpdate, present_connection

router = resource_router("/smsc_connections", "smsc_connections")
SCOPES = ("smsc_connections",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("smsc_connections.read")]


@router.get("", response_model=page_of(Connection), summary="List SMSC connections")
def list_smsc_connections(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, smsc_connections, who.org_id, CONNECTION_FIELDS, present_connection)


@router.post(
    "",
    response_model=saved_of(Connection),
    summary="Create an SMSC connection",
    description="An SMPP 3.4 account at an SMSC (host, port, system_id, password). The password is kept encrypted "
    "with the server key and never shown again (`password_set`). 409 for a duplicate name.",
)
def create_smsc_connection(request: Request, body: ConnectionCreate, db: Database, who: Annotated[Principal, caller("smsc_connections.create")]):
    with db.begin() as conn:
        connection_id = service.create_connection(conn, who.org_id, body.model_dump(mode="json"), request.app.state.secrets.seal, utcnow())
        return saved(present_connection(store.find_connection(conn, who.org_id, connection_id)))


@router.get("/{id}", response_model=Connection, summary="Retrieve an SMSC connection")
async def get_smsc_connection(id: str, db: Database, who: Reader):
    return item(present_connection(await fetch_one(db, smsc_connections, who.org_id, id, "SMSC connection")))


def update_smsc_connection(request: Request, id: str, body: ConnectionUpdate, db: Database, who: Annotated[Principal, caller("smsc_connections.update")]):
    values = changes(body, nullable=frozenset({"source_ton", "source_npi"}))
    connection_id = object_id(id, "SMSC connection")
    with db.begin() as conn:
        service.change_connection(conn, who.org_id, connection_id, body.model_dump(mode="json", include=set(values)), request.app.state.secrets.seal, utcnow())
        return saved(present_connection(store.find_connection(conn, who.org_id, connection_id)))


update_routes(
    router,
    "/{id}",
    update_smsc_connection,
    "Update an SMSC connection",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. `password` replaces the kept one. "
    "source_ton and source_npi null (both): follow each sender's form again.",
    Connection,
)


@router.delete(
    "/{id}",
    response_model=Done,
    summary="Delete an SMSC connection",
    description="Refused with 409 while SMS routes send messages to it.",
)
def delete_smsc_connection(id: str, db: Database, who: Annotated[Principal, caller("smsc_connections.delete")]):
    with db.begin() as conn:
        service.remove_connection(conn, who.org_id, object_id(id, "SMSC connection"))
    return done()
