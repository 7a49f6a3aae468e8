"""`/api/rate_plans`: the organization's price lists, each with its currency, kind, timezone and
time-of-day periods. Call rates, quotes, imports and exports take a plan (`rate_plan_id`)."""

from typing import Annotated

from fastapi import Request

from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id
from trunkline.kit.responses import done, item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, page_of, saved_of
from trunkline.rate_plans import repository as store
from trunkline.rate_plans import service
from trunkline.rate_plans.schemas import FIELDS, RatePlan, RatePlanCreate, RatePlanUpdate, present

router = resource_router("/rate_plans", "rate_plans")
SCOPES = ("rate_plans",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("rate_plans.read")]


@router.get("", response_model=page_of(RatePlan), summary="List rate plans")
def list_rate_plans(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


@router.post(
    "",
    response_model=saved_of(RatePlan),
    summary="Create a rate plan",
    description="409 when the organization has a plan of that name. Add its rates with POST /api/call_rates or "
    "POST /api/call_rates/import, giving rate_plan_id.",
)
def create_rate_plan(body: RatePlanCreate, db: Database, who: Annotated[Principal, caller("rate_plans.create")]):
    with db.begin() as conn:
        plan_id = service.create(conn, who.org_id, body.model_dump(mode="json"), utcnow())
        return saved(present(store.find(conn, who.org_id, plan_id)))


@router.get("/{id}", response_model=RatePlan, summary="Retrieve a rate plan")
async def get_rate_plan(id: str, db: Database, who: Reader):
    return item(present(await fetch_one(db, store.table, who.org_id, id, "Rate plan")))


def update_rate_plan(id: str, body: RatePlanUpdate, db: Database, who: Annotated[Principal, caller("rate_plans.update")]):
    values = changes(body, nullable=frozenset({"description"}))
    if body.periods is not None:
        values["periods"] = body.model_dump(mode="json")["periods"]
    plan_id = object_id(id, "Rate plan")
    with db.begin() as conn:
        service.change(conn, who.org_id, plan_id, values, utcnow())
        return saved(present(store.find(conn, who.org_id, plan_id)))


update_routes(
    router,
    "/{id}",
    update_rate_plan,
    "Update a rate plan",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. A new timezone or schedule prices the "
    "calls stored from now on, and re-rated ones; 409 when rates are given for a period the new schedule drops.",
    RatePlan,
)


@router.delete(
    "/{id}",
    response_model=Done,
    summary="Delete a rate plan",
    description="Deletes the plan with its rates. Refused with 409 for the default plan, and for a plan that "
    "accounts are priced by or that priced stored calls.",
)
def delete_rate_plan(id: str, db: Database, who: Annotated[Principal, caller("rate_plans.delete")]):
    with db.begin() as conn:
        service.remove(conn, who.org_id, object_id(id, "Rate plan"))
    return done()
