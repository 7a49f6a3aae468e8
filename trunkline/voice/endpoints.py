"""`/api/voice/rapidresponse`: queue a call that speaks a text, then read its progress.

Nothing is dialled that could not be paid for: the organization must have outbound voice
(product SIPT) enabled, `account_id` must name one of its accounts, and that account must be
able to pay for the call to `callee` as `authorize` answers it (a rate matches, and the balance
covers at least the cheapest charged call). The 202 returns as soon as the request is stored;
the configured dialer (simulator or FreeSWITCH, see trunkline.dialer) places the call in the
background and updates its status.
"""

from typing import Annotated

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from trunkline.accounts.authorize import INSUFFICIENT_BALANCE, authorize
from trunkline.kit import ids
from trunkline.kit.clock import utcnow
from trunkline.voice.dialer import CallRequest as Call
from trunkline.kit.auth import Principal, caller
from trunkline.kit.errors import ApiError, invalid, missing
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, fetch_one
from trunkline.kit.responses import JSONResponse, current_guid, item
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import page_of
from trunkline.products.catalog import CATALOG
from trunkline.accounts.schemas import available_units
from trunkline.voice.schemas import FIELDS, CallRequest, RapidResponseAccepted, RapidResponseCreate, present
from trunkline.accounts import repository as accounts
from trunkline.products import repository as products
from trunkline.voice import repository as store

router = resource_router("/voice", "voice")
SCOPES = ("voice",)  # the scope resources these routes guard
PRODUCT = "SIPT"  # outbound voice


@router.post(
    "/rapidresponse",
    status_code=202,
    response_model=RapidResponseAccepted,
    summary="Start a rapid-response call",
    description="Missing parameters are 400 with `missingInputVars`. Refused before dialling: 403 when the "
    "organization has not enabled outbound voice (product SIPT), 422 when account_id names no account or no rate "
    "matches callee, 402 when the account cannot pay for the call. The call is placed in the "
    "background; poll `GET /api/voice/rapidresponse/{id}` for queued → dialing → completed/failed.",
)
async def create_rapid_response(
    request: Request,
    db: Database,
    who: Annotated[Principal, caller("voice.create")],
    body: RapidResponseCreate | None = None,
):
    if body is None:  # no body at all (as clients send it): every parameter is missing, not "body"
        raise missing(RapidResponseCreate.model_fields)
    dispatcher = request.app.state.dispatcher

    def store_request() -> int:
        with db.begin() as conn:
            _payable(conn, request.app.state.decks, who.org_id, body)
            return store.create(
                conn, who.org_id, body.account_id, body.callee, body.whisper_text, dispatcher.dialer.name, utcnow()
            )

    request_id = await run_in_threadpool(store_request)
    dispatcher.submit(Call(request_id, body.account_id, body.callee, body.whisper_text))
    return JSONResponse(
        {"success": True, "guid": current_guid(), "id": ids.encode(request_id), "status": "queued"}, status_code=202
    )


def _payable(conn, decks, org_id: int, body: RapidResponseCreate) -> None:
    """Refuse a call that must not be dialled (see the module docstring)."""
    if PRODUCT not in products.enabled(conn, org_id):
        raise ApiError(403, f"Product {PRODUCT} ({CATALOG[PRODUCT]}) is not enabled for this organization", code="PRODUCT_DISABLED")
    account = accounts.find(conn, org_id, code=body.account_id)
    if account is None:
        raise invalid([{"name": "account_id", "reason": "no such account"}])
    answer = authorize(decks.get(conn, org_id), body.callee, available_units(account))
    if answer["reason"] == INSUFFICIENT_BALANCE:
        raise ApiError(402, f"Account {body.account_id} cannot pay for this call: its available balance is too low", code="INSUFFICIENT_BALANCE")
    if not answer["authorized"]:
        raise invalid([{"name": "callee", "reason": "no rate matches this number"}])


@router.get("/rapidresponse", response_model=page_of(CallRequest), summary="List rapid-response calls")
def list_rapid_responses(request: Request, params: ListQuery, db: Database, who: Annotated[Principal, caller("voice.read")]):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


@router.get("/rapidresponse/{id}", response_model=CallRequest, summary="Retrieve a rapid-response call")
async def get_rapid_response(id: str, db: Database, who: Annotated[Principal, caller("voice.read")]):
    return item(present(await fetch_one(db, store.table, who.org_id, id, "Call request")))
