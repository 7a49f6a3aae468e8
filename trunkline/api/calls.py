"""`/api/calls`: CDRs (CDRs), rated on ingest, idempotent on the switch's call id."""

from typing import Annotated

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from trunkline import billing, cdrs
from trunkline.money import from_units
from trunkline.platform.auth import Principal, caller
from trunkline.platform.pagination import ListQuery, list_page
from trunkline.platform.resources import Database, fetch_one, utcnow
from trunkline.platform.responses import done, item
from trunkline.platform.routing import resource_router
from trunkline.platform.schema import page_of
from trunkline.schemas.calls import Call, CallDetail, IngestResult, Rerate, RerateResult, present, present_ingested
from trunkline.store import calls as store

router = resource_router("/calls", "calls")
Reader = Annotated[Principal, caller("calls.read")]
_BATCH_SCHEMA = {"oneOf": [{"$ref": "#/components/schemas/CallIn"}, {"type": "array", "items": {"$ref": "#/components/schemas/CallIn"}}]}


@router.get("", response_model=page_of(Call), summary="List calls")
def list_calls(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, store.FIELDS, present)


@router.post(
    "",
    response_model=IngestResult,
    summary="Ingest one CDR or a batch",
    description="JSON object or array, NDJSON (`application/x-ndjson`) or CSV with a header row (`text/csv`). "
    "Each call is rated on ingest against the organization's deck. A batch is atomic: any bad record "
    "rejects it whole (422, every problem listed). A CDR whose call_id is already stored is not stored "
    "or billed again; it is listed in duplicate_call_ids.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _BATCH_SCHEMA},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def ingest_calls(request: Request, db: Database, who: Annotated[Principal, caller("calls.create")]):
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    body = await request.body()

    def read():
        return cdrs.parse(body, media_type)[0]

    result = await run_in_threadpool(billing.ingest_batch, db, request.app.state.decks, who.org_id, read)
    return done(**present_ingested(result))


@router.post(
    "/rerate",
    response_model=RerateResult,
    summary="Re-rate a date range after a deck change",
    description="Prices every call started in the range (UTC days, inclusive) again with the current deck and "
    "reports how many changed and by how much. Reports follow at once.",
)
def rerate_calls(body: Rerate, request: Request, db: Database, who: Annotated[Principal, caller("calls.update")]):
    with db.begin() as conn:
        deck = request.app.state.decks.get(conn, who.org_id)
        result = billing.rerate(conn, who.org_id, deck, body.start_date, body.end_date, body.account_id, utcnow())
    return done(
        calls=result.calls,
        changed=result.changed,
        cost_before=from_units(result.cost_before),
        cost_after=from_units(result.cost_after),
        difference=from_units(result.cost_after - result.cost_before),
    )


@router.get("/{id}", response_model=CallDetail, summary="Retrieve a call with its cost breakdown")
async def get_call(id: str, db: Database, who: Reader):
    row = await fetch_one(db, store.table, who.org_id, id, "Call")
    return item({**present(row), "breakdown": billing.breakdown(row)})


