"""`/api/vendors`: terminating carriers, each charging by a buy plan, named by the gateways and
trunks the switches route calls through."""

from typing import Annotated

from fastapi import Request

from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id
from trunkline.kit.responses import done, item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, page_of, saved_of
from trunkline.vendors import repository as store
from trunkline.vendors import service
from trunkline.vendors.schemas import FIELDS, Vendor, VendorCreate, VendorUpdate, present

router = resource_router("/vendors", "vendors")
SCOPES = ("vendors",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("vendors.read")]


@router.get("", response_model=page_of(Vendor), summary="List vendors")
def list_vendors(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


@router.post(
    "",
    response_model=saved_of(Vendor),
    summary="Create a vendor",
    description="A call whose CDR names one of `gateways` (FreeSWITCH's sip_gateway_name, the trunk of Asterisk's "
    "dstchannel, or `gateway` in POST /api/calls) is carried by this vendor: it is also priced by the vendor's buy "
    "plan (vendor_cost), and its margin is its cost to the customer less that. 422 unless rate_plan_id is a buy plan; "
    "409 for a duplicate name or a gateway another vendor has.",
)
def create_vendor(body: VendorCreate, db: Database, who: Annotated[Principal, caller("vendors.create")]):
    with db.begin() as conn:
        vendor_id = service.create(conn, who.org_id, body.model_dump(), utcnow())
        return saved(present(store.find(conn, who.org_id, vendor_id)))


@router.get("/{id}", response_model=Vendor, summary="Retrieve a vendor")
async def get_vendor(id: str, db: Database, who: Reader):
    return item(present(await fetch_one(db, store.table, who.org_id, id, "Vendor")))


def update_vendor(id: str, body: VendorUpdate, db: Database, who: Annotated[Principal, caller("vendors.update")]):
    values = changes(body, nullable=frozenset({"description"}))
    vendor_id = object_id(id, "Vendor")
    with db.begin() as conn:
        service.change(conn, who.org_id, vendor_id, values, utcnow())
        return saved(present(store.find(conn, who.org_id, vendor_id)))


update_routes(
    router,
    "/{id}",
    update_vendor,
    "Update a vendor",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. Calls stored from now on, and re-rated ones, "
    "follow the new plan and gateways.",
    Vendor,
)


@router.delete(
    "/{id}",
    response_model=Done,
    summary="Delete a vendor",
    description="Refused with 409 once the vendor has carried stored calls.",
)
def delete_vendor(id: str, db: Database, who: Annotated[Principal, caller("vendors.delete")]):
    with db.begin() as conn:
        service.remove(conn, who.org_id, object_id(id, "Vendor"))
    return done()
