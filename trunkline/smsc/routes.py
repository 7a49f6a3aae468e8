"""`/api/sms_routes`: which SMSC connection carries a product's messages to a destination prefix
(see `service.pick` for how one is chosen)."""

from typing import Annotated

from fastapi import Request

from trunkline.db.tables import sms_routes
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id
from trunkline.kit.responses import done, item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, page_of, saved_of
from trunkline.smsc import repository as store
from trunkline.smsc import service
from trunkline.smsc.schemas import ROUTE_FIELDS, SmsRoute, SmsRouteCreate, SmsRouteUpdate, present_route

router = resource_router("/sms_routes", "sms_routes")
SCOPES = ("sms_routes",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("sms_routes.read")]
CHOICE = (
    "A message goes through the route with the longest prefix of its number; on the same prefix a route for its product "
    "beats one for every product, then the lowest priority wins. Routes to disabled connections are passed over."
)


@router.get("", response_model=page_of(SmsRoute), summary="List SMS routes")
def list_sms_routes(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, sms_routes, who.org_id, ROUTE_FIELDS, present_route)


@router.post(
    "",
    response_model=saved_of(SmsRoute),
    summary="Create an SMS route",
    description=f"{CHOICE} 422 unless connection_id is one of the organization's SMSC connections; 409 for a second "
    "route of the same product and prefix to the same connection.",
)
def create_sms_route(body: SmsRouteCreate, db: Database, who: Annotated[Principal, caller("sms_routes.create")]):
    with db.begin() as conn:
        route_id = service.create_route(conn, who.org_id, body.model_dump(), utcnow())
        return saved(present_route(store.find_route(conn, who.org_id, route_id)))


@router.get("/{id}", response_model=SmsRoute, summary="Retrieve an SMS route")
async def get_sms_route(id: str, db: Database, who: Reader):
    return item(present_route(await fetch_one(db, sms_routes, who.org_id, id, "SMS route")))


def update_sms_route(id: str, body: SmsRouteUpdate, db: Database, who: Annotated[Principal, caller("sms_routes.update")]):
    values = changes(body, nullable=frozenset({"product"}))
    route_id = object_id(id, "SMS route")
    with db.begin() as conn:
        service.change_route(conn, who.org_id, route_id, values, utcnow())
        return saved(present_route(store.find_route(conn, who.org_id, route_id)))


update_routes(
    router,
    "/{id}",
    update_sms_route,
    "Update an SMS route",
    f"Changes only the fields sent; POST, PATCH and PUT behave the same. product null: every product. {CHOICE}",
    SmsRoute,
)


@router.delete("/{id}", response_model=Done, summary="Delete an SMS route")
def delete_sms_route(id: str, db: Database, who: Annotated[Principal, caller("sms_routes.delete")]):
    with db.begin() as conn:
        service.remove_route(conn, who.org_id, object_id(id, "SMS route"))
    return done()
