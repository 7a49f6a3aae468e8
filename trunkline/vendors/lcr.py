"""`/api/routing/lcr`: which vendors can carry a call, cheapest first, with the margin each
leaves on what the account pays."""

from typing import Annotated

from fastapi import Query, Request
from pydantic import AwareDatetime

from trunkline.accounts import repository as accounts
from trunkline.call_rates.quote import shown
from trunkline.kit import ids
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.failures import Invalid
from trunkline.kit.resources import Database
from trunkline.kit.responses import done
from trunkline.kit.routing import resource_router
from trunkline.rating import normalize_number, price
from trunkline.rating.money import from_units
from trunkline.vendors import repository as store
from trunkline.vendors.schemas import Routing

router = resource_router("/routing", "routing")
SCOPES = ("routing",)  # the scope resources these routes guard


@router.get(
    "/lcr",
    response_model=Routing,
    summary="Least-cost routing: the vendors for a call, cheapest first",
    description="For each vendor whose buy plan has a rate for `number` in force at `at` (its own longest prefix, in "
    "the period at `at`), what a call of `duration` seconds costs on it, what the account pays for it (its plan; "
    "without `account`, the default plan) and the margin. Cheapest first; `profitable_only` drops the vendors on "
    "which the call would lose money.",
)
def least_cost_routes(
    request: Request,
    db: Database,
    who: Annotated[Principal, caller("routing.read")],
    number: Annotated[str, Query(min_length=1, max_length=64, description="Dialled number")],
    account: Annotated[str | None, Query(max_length=64, description="The account's code (account_id, as CDRs carry it)")] = None,
    duration: Annotated[int, Query(ge=0, le=10**7, description="Billable seconds to price")] = 60,
    at: Annotated[AwareDatetime | None, Query(description="When the call starts (default: now)")] = None,
    profitable_only: Annotated[bool, Query(description="Leave out vendors that cost more than the account pays")] = False,
):
    at = at or utcnow()
    decks = request.app.state.decks
    with db.connect() as conn:
        plan_id = None
        if account is not None:
            found = accounts.find(conn, who.org_id, code=account)
            if found is None:
                raise Invalid.fields({"name": "account", "reason": "no such account"})
            plan_id = found.rate_plan_id
        sold = decks.get(conn, who.org_id, plan_id).match(number, at)
        sell = None if sold is None else price(sold, duration).cost_units
        routes = []
        for vendor in store.every(conn, who.org_id):
            rate = decks.get(conn, who.org_id, vendor.rate_plan_id).match(number, at)
            if rate is None:
                continue
            cost = price(rate, duration).cost_units
            margin = None if sell is None else sell - cost
            if profitable_only and margin is not None and margin < 0:
                continue
            routes.append((cost, vendor.name, vendor, rate, margin))
    routes.sort(key=lambda route: route[:2])
    return done(
        number=number, normalized=normalize_number(number), duration=duration, at=at, account_id=account,
        routes=[
            {"vendor_id": ids.encode(vendor.id), "vendor": vendor.name, "rate": shown(rate), "cost": from_units(cost),
             "price": None if sell is None else from_units(sell), "margin": None if margin is None else from_units(margin)}
            for cost, _, vendor, rate, margin in routes
        ],
    )
