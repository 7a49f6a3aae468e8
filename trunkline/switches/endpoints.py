"""`/api/endpoints`: credentials for the endpoint APIs. The password is shown at creation and rotation only."""

from typing import Annotated

from fastapi import Request

from trunkline.db.tables import endpoints
from trunkline.kit.auth import Principal, caller
from trunkline.kit.errors import not_found
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id
from trunkline.kit.responses import JSONResponse, done, item, saved, secret_response
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, page_of
from trunkline.switches import repository as store
from trunkline.switches.schemas import FIELDS, Endpoint, EndpointCreate, EndpointCredentials, EndpointUpdate, present

router = resource_router("/endpoints", "endpoints")
SCOPES = ("endpoints",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("endpoints.read")]


def _credentials(conn, org_id: int, endpoint_id: int, password: str) -> JSONResponse:
    return secret_response(present(store.get(conn, org_id, endpoint_id)), password=password)


@router.get("", response_model=page_of(Endpoint), summary="List endpoints")
def list_endpoints(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.endpoints, who.org_id, FIELDS, present)


@router.post(
    "",
    response_model=EndpointCredentials,
    summary="Create an endpoint",
    description="Returns the endpoint's Basic-auth login and password for `/api/endpoint/...`. "
    "The password is in this response and nowhere else.",
)
def create_endpoint(body: EndpointCreate, db: Database, who: Annotated[Principal, caller("endpoints.create")]):
    with db.begin() as conn:
        endpoint_id, _, password = store.create(conn, who.org_id, body.model_dump(mode="json"))
        return _credentials(conn, who.org_id, endpoint_id, password)


@router.get("/{id}", response_model=Endpoint, summary="Retrieve an endpoint")
async def get_endpoint(id: str, db: Database, who: Reader):
    return item(present(await fetch_one(db, endpoints, who.org_id, id, "Endpoint")))


def update_endpoint(id: str, body: EndpointUpdate, db: Database, who: Annotated[Principal, caller("endpoints.update")]):
    values = changes(body, nullable=frozenset({"push_limit"}))
    endpoint_id = object_id(id, "Endpoint")
    with db.begin() as conn:
        if not store.change(conn, who.org_id, endpoint_id, {name: getattr(value, "value", value) for name, value in values.items()}):
            raise not_found("Endpoint")
        return saved(present(store.get(conn, who.org_id, endpoint_id)))


update_routes(
    router,
    "/{id}",
    update_endpoint,
    "Update an endpoint",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. `timezone` and `billed_leg` apply to "
    "CDRs pushed from now on and to quarantined CDRs processed again; stored calls keep how they were read.",
    Endpoint,
)


@router.post(
    "/{id}/rotate",
    response_model=EndpointCredentials,
    summary="Issue a new endpoint password",
    description="The old password stops working at once. The new one is in this response and nowhere else.",
)
def rotate_endpoint(id: str, db: Database, who: Annotated[Principal, caller("endpoints.update")]):
    endpoint_id = object_id(id, "Endpoint")
    with db.begin() as conn:
        password = store.rotate(conn, who.org_id, endpoint_id)
        if password is None:
            raise not_found("Endpoint")
        return _credentials(conn, who.org_id, endpoint_id, password)


@router.delete("/{id}", response_model=Done, summary="Delete an endpoint", description="Its credentials stop working at once.")
def delete_endpoint(id: str, db: Database, who: Annotated[Principal, caller("endpoints.delete")]):
    with db.begin() as conn:
        if not store.remove(conn, who.org_id, object_id(id, "Endpoint")):
            raise not_found("Endpoint")
    return done()
