"""`/api/calls`: CDRs, rated on ingest, idempotent on the switch's call id; re-rating jobs."""

import tempfile
from typing import Annotated

from fastapi import Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from trunkline.call_rates.quote import breakdown
from trunkline.calls import export, parsing, rerate_jobs, rerater
from trunkline.calls import repository as store
from trunkline.calls.ingest import ingest_batch
from trunkline.calls.schemas import FIELDS, RERATE_JOB_FIELDS, Call, CallDetail, IngestResult, Rerate, RerateJob, present, present_ingested, present_rerate
from trunkline.kit import ids
from trunkline.kit.auth import Principal, caller
from trunkline.kit.errors import ApiError
from trunkline.kit.pagination import ListQuery, SelectionQuery, list_page
from trunkline.kit.resources import Database, fetch_one
from trunkline.kit.responses import done, item, saved
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import page_of, saved_of

router = resource_router("/calls", "calls")
SCOPES = ("calls",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("calls.read")]
_BATCH_SCHEMA = {"oneOf": [{"$ref": "#/components/schemas/CallIn"}, {"type": "array", "items": {"$ref": "#/components/schemas/CallIn"}}]}


@router.get("", response_model=page_of(Call), summary="List calls")
def list_calls(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


_EXPORT_BODY = {"type": "string", "description": "CSV with a header row, or one JSON object per line: the list's items"}


@router.get(
    "/export",
    summary="Export calls as CSV or NDJSON",
    description="Every call that `filter`, `search` and `orderby` select, as the list takes them, unpaged (by start, "
    "then id, unless ordered otherwise), with the list's fields and values, streamed in constant memory: CSV with a "
    "header row (`text/csv`, the default) or NDJSON (`application/x-ndjson`), chosen by `format` or else by the "
    "Accept header. A bad query is refused (400) before anything is sent.",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The calls, as a file",
            "content": {media_type: {"schema": _EXPORT_BODY} for media_type in export.MEDIA_TYPES.values()},
            "headers": {"Content-Disposition": {"description": 'attachment; filename="calls.csv" (or calls.ndjson)', "schema": {"type": "string"}}},
        }
    },
)
def export_calls(
    request: Request,
    params: SelectionQuery,
    db: Database,
    who: Reader,
    kind: Annotated[export.ExportFormat | None, Query(alias="format", description="csv or ndjson; before the Accept header (default csv)")] = None,
):
    return export.response(db, who.org_id, params, export.negotiate(kind, request.headers.get("accept", "")))


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
    if media_type not in parsing.STREAMED:
        body = await request.body()
        result = await request.app.state.group_commit.store(who.org_id, len(body), lambda: parsing.parse(body, media_type)[0])
        return done(**present_ingested(result))
    # CSV and NDJSON stream to a file that spills to disk past 1 MiB, and are read from it
    # record by record: a large batch never sits in memory as bytes and text besides its CDRs.
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        result = await run_in_threadpool(ingest_batch, db, request.app.state.decks, who.org_id, lambda: parsing.parse(spool, media_type)[0])
    return done(**present_ingested(result))


@router.post(
    "/rerate",
    status_code=202,
    response_model=saved_of(RerateJob),
    summary="Re-rate a date range after a deck change",
    description="Starts a job that prices every call started in the range (UTC days, inclusive) again with the "
    "current deck, in committed chunks of 5,000 calls, and answers 202 with the job at once. Follow it at "
    "`GET /api/calls/rerate/{id}`: `calls` of `total` done so far, how many changed and by how much. Reports and "
    "balances follow chunk by chunk; a job stopped by a restart resumes where it stopped. 409 while the "
    "organization has another re-rate queued or running.",
)
def rerate_calls(body: Rerate, request: Request, db: Database, who: Annotated[Principal, caller("calls.update")]):
    try:
        job = rerater.start(db, who.org_id, body.start_date, body.end_date, body.account_id)
    except rerater.AlreadyRunning as exc:
        running = ids.encode(exc.job.id)
        raise ApiError(409, f"A re-rate of this organization is already {exc.job.status}: {running}", code="RERATE_RUNNING", id=running) from None
    request.app.state.rerater.submit_soon(job.id)
    return saved(present_rerate(job), status_code=202)


@router.get("/rerate", response_model=page_of(RerateJob), summary="List re-rating jobs")
def list_rerates(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, rerate_jobs.table, who.org_id, RERATE_JOB_FIELDS, present_rerate)


@router.get("/rerate/{id}", response_model=RerateJob, summary="Follow a re-rating job")
async def get_rerate(id: str, db: Database, who: Reader):
    return item(present_rerate(await fetch_one(db, rerate_jobs.table, who.org_id, id, "Re-rating job")))


@router.get("/{id}", response_model=CallDetail, summary="Retrieve a call with its cost breakdown")
async def get_call(id: str, db: Database, who: Reader):
    row = await fetch_one(db, store.table, who.org_id, id, "Call")
    return item({**present(row), "breakdown": breakdown(row)})


