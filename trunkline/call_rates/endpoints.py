"""`/api/call_rates`: the organization's rate deck, with CSV import and export."""

import tempfile
from datetime import datetime
from enum import StrEnum
from typing import IO, Annotated

from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError
from sqlalchemy import or_
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from trunkline.call_rates import deck_csv, service
from trunkline.call_rates import repository as store
from trunkline.call_rates.quote import quote
from trunkline.call_rates.schemas import FIELDS, CallRate, CallRateCreate, CallRateUpdate, Quote, present
from trunkline.call_rates.service import current_deck
from trunkline.kit import lookup
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.errors import ApiError, invalid, not_found, problems
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id, read
from trunkline.kit.responses import done, item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, Output, page_of, saved_of
from trunkline.rate_plans import service as plans

router = resource_router("/call_rates", "call_rates")
SCOPES = ("call_rates",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("call_rates.read")]


PlanParam = Annotated[str | None, Query(description="The rate plan's id (default: the organization's default plan)")]


def _plan(conn, org_id: int, rate_plan_id: str | None) -> int:
    """The plan a request names (its id), or the default plan (whose id is the organization's:
    no read); 404 for another organization's."""
    if rate_plan_id is None:
        return org_id
    return plans.find(conn, org_id, object_id(rate_plan_id, "Rate plan")).id


def in_force(at: datetime) -> list:
    """The rates in force at `at`."""
    c = store.table.c
    return [c.effective_from <= at, or_(c.effective_to.is_(None), c.effective_to > at)]


@router.get(
    "",
    response_model=page_of(CallRate),
    summary="List call rates",
    description="The rates of one plan (`rate_plan_id`, default: the organization's default plan), every version "
    "unless `at` asks for the deck in force at that moment.",
)
async def list_call_rates(
    request: Request,
    params: ListQuery,
    db: Database,
    who: Reader,
    rate_plan_id: PlanParam = None,
    at: Annotated[AwareDatetime | None, Query(description="Only the rates in force at this moment")] = None,
):
    def page(conn):
        plan_id = _plan(conn, who.org_id, rate_plan_id)
        conditions = [store.table.c.plan_id == plan_id, *(in_force(at) if at else ())]
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present, *conditions, counts=store.COUNTS, counted_as=(plan_id, at))

    # A short read (the total is kept per deck version): inline on SQLite. In the threadpool, 32
    # concurrent pages fought for the GIL and cost 12 ms of CPU each instead of 3.
    return await read(db, page)


@router.post("", response_model=saved_of(CallRate), summary="Create a call rate")
def create_call_rate(body: CallRateCreate, db: Database, who: Annotated[Principal, caller("call_rates.create")]):
    with db.begin() as conn:
        rate_id = service.create(conn, who.org_id, body.model_dump(), utcnow())
        return saved(present(lookup.by_id(conn, store.table, who.org_id, rate_id)))


class ImportMode(StrEnum):
    merge = "merge"
    replace = "replace"


class ImportResult(Output):
    success: bool
    guid: str
    inserted: int
    updated: int
    total: int


IMPORT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "CSV with a header row of call-rate field names"},
                    "mode": {"type": "string", "enum": [mode.value for mode in ImportMode], "default": "merge"},
                    "rate_plan_id": {"type": "string", "description": "The plan (default: the default plan)"},
                    "effective_from": {"type": "string", "format": "date-time", "description": "When the list takes effect"},
                },
            }
        },
        "text/csv": {"schema": {"type": "string"}},
    },
}
MEDIA_TYPES = ("text/csv",)  # read by the route itself (app.py raw_bodies)


@router.post(
    "/import",
    response_model=ImportResult,
    summary="Import a CSV rate deck",
    description="All or nothing: any bad row rejects the whole file (422) and lists the bad rows with their line "
    "numbers. Send the file as the multipart field `file`, or the CSV itself as a `text/csv` body with `mode`, "
    "`rate_plan_id` and `effective_from` in the query. A row is a version of its prefix and period starting at its "
    "effective_from (else the import's, else from the beginning): `merge` updates that version or adds it, ending "
    "the version before it. `replace` with an effective_from also ends there every prefix the list no longer has "
    "(a carrier's full list) and keeps the history; without one it swaps the plan's whole deck. A list dated in the "
    "future changes no price until then. The columns free_seconds, grace_period, connect_fee, postcall_surcharge, "
    "period, effective_from and description may be left out.",
    openapi_extra={"requestBody": IMPORT_BODY},
)
async def import_call_rates(
    request: Request,
    db: Database,
    who: Annotated[Principal, caller("call_rates.create")],
    mode: Annotated[ImportMode, Query(description="With a text/csv body; a multipart body sends mode as a field")] = ImportMode.merge,
    rate_plan_id: PlanParam = None,
    effective_from: Annotated[AwareDatetime | None, Query(description="When the list takes effect (rows may carry their own)")] = None,
):
    target = ImportTarget(mode=mode, rate_plan_id=rate_plan_id, effective_from=effective_from)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "text/csv":
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:  # read as it goes, not held whole
            async for chunk in request.stream():
                spool.write(chunk)
            spool.seek(0)
            return await run_in_threadpool(_import, spool, target, db, who.org_id)
    form = await request.form()  # a multipart file is spooled the same way by Starlette
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "Missing required parameters: file", code="MISSING_REQUIRED_PARAMS", missingInputVars=["file"])
    try:
        sent = {name: form[name] for name in ImportTarget.model_fields if isinstance(form.get(name), str)}
        target = ImportTarget.model_validate({**target.model_dump(exclude_none=True), **sent})
    except ValidationError as exc:
        raise invalid(problems(exc)) from None
    return await run_in_threadpool(_import, upload.file, target, db, who.org_id)


class ImportTarget(BaseModel):
    """Where and when an import takes effect (query parameters, or multipart fields)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    mode: ImportMode = ImportMode.merge
    rate_plan_id: str | None = None
    effective_from: AwareDatetime | None = None


def _import(handle: IO[bytes], target: ImportTarget, db, org_id: int):
    deck = deck_csv.read_file(handle)
    if deck.error_count:
        raise ApiError(
            422,
            f"{deck.error_count} bad row(s); nothing was imported",
            code="INVALID_DECK",
            invalidInputVars=[{"name": "file", "reason": f"{deck.error_count} bad row(s)"}],
            rowErrors=[error.as_dict() for error in deck.errors],
            rowErrorCount=deck.error_count,
        )
    with db.begin() as conn:
        plan = plans.find(conn, org_id, None if target.rate_plan_id is None else object_id(target.rate_plan_id, "Rate plan"))
        inserted, updated = service.load(conn, org_id, plan, deck.rows, target.mode is ImportMode.replace, target.effective_from, utcnow())
    return done(inserted=inserted, updated=updated, total=len(deck.rows))


@router.get(
    "/export",
    summary="Export the rate deck as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The deck, in the import format"}},
)
def export_call_rates(
    params: ListQuery,
    db: Database,
    who: Reader,
    rate_plan_id: PlanParam = None,
    at: Annotated[AwareDatetime | None, Query(description="Only the rates in force at this moment")] = None,
):
    where, _ = params.clauses(FIELDS)
    with db.connect() as conn:
        plan_id = _plan(conn, who.org_id, rate_plan_id)  # 404 before the stream starts
    where = [store.table.c.plan_id == plan_id, *(in_force(at) if at else ()), *where]

    def rows():
        with db.connect() as conn:
            yield from deck_csv.write(store.stream(conn, who.org_id, where))

    return StreamingResponse(
        rows(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="call_rates.csv"'}
    )


@router.get(
    "/quote",
    response_model=Quote,
    summary="What would a call cost",
    description="Matches the number against the plan's rates in force at `at`, in the period at `at` (longest "
    "prefix, after normalising `+`, `00`, spaces, dashes, dots and parentheses; a rate for that period wins over "
    "one for every period), and prices `duration` billable seconds, itemised.",
)
async def quote_call(
    request: Request,
    db: Database,
    who: Reader,
    number: Annotated[str, Query(min_length=1, max_length=64, description="Dialled number")],
    duration: Annotated[int, Query(ge=0, le=10**7, description="Billable seconds")],
    rate_plan_id: PlanParam = None,
    at: Annotated[AwareDatetime | None, Query(description="When the call starts (default: now): the rates in force then, in its period")] = None,
):
    plan_id = None if rate_plan_id is None else object_id(rate_plan_id, "Rate plan")
    deck, _ = await current_deck(db, request.app.state.decks, who.org_id, plan_id)
    return done(**quote(deck, number, duration, at or utcnow()))


@router.get("/{id}", response_model=CallRate, summary="Retrieve a call rate")
async def get_call_rate(id: str, db: Database, who: Reader):
    return item(present(await fetch_one(db, store.table, who.org_id, id, "Call rate")))


def update_call_rate(
    id: str, body: CallRateUpdate, db: Database, who: Annotated[Principal, caller("call_rates.update")]
):
    values = changes(body, nullable=frozenset({"description", "period", "effective_from"}))
    rate_id = object_id(id, "Call rate")
    with db.begin() as conn:
        found = service.change(conn, who.org_id, rate_id, values, utcnow())
        row = lookup.by_id(conn, store.table, who.org_id, rate_id)
    if not found:
        raise not_found("Call rate")
    return saved(present(row))


update_routes(
    router,
    "/{id}",
    update_call_rate,
    "Update a call rate",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. This corrects the rate in place: calls "
    "re-rated from now on see the change. To change a price from a date on, create a rate with that effective_from "
    "instead, and the history is kept. A new prefix, period or effective_from moves the rate among its versions.",
    CallRate,
)


@router.delete("/{id}", response_model=Done, summary="Delete a call rate")
def delete_call_rate(id: str, db: Database, who: Annotated[Principal, caller("call_rates.delete")]):
    with db.begin() as conn:
        found = store.remove(conn, who.org_id, object_id(id, "Call rate"))
    if not found:
        raise not_found("Call rate")
    return done()
