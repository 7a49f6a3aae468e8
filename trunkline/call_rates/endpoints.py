"""`/api/call_rates`: the organization's rate deck, with CSV import and export."""

import tempfile
from enum import StrEnum
from typing import IO, Annotated

from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from trunkline.call_rates import deck_csv
from trunkline.call_rates import repository as store
from trunkline.call_rates.quote import quote
from trunkline.call_rates.schemas import FIELDS, CallRate, CallRateCreate, CallRateUpdate, Quote, present
from trunkline.call_rates.service import current_deck
from trunkline.kit import lookup
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.errors import ApiError, invalid, not_found
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id, read
from trunkline.kit.responses import done, item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, Output, page_of, saved_of

router = resource_router("/call_rates", "call_rates")
SCOPES = ("call_rates",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("call_rates.read")]


@router.get("", response_model=page_of(CallRate), summary="List call rates")
async def list_call_rates(request: Request, params: ListQuery, db: Database, who: Reader):
    # A short read (the total is kept per deck version): inline on SQLite. In the threadpool, 32
    # concurrent pages fought for the GIL and cost 12 ms of CPU each instead of 3.
    return await read(db, lambda conn: list_page(request, params, conn, store.table, who.org_id, FIELDS, present, counts=store.COUNTS))


@router.post("", response_model=saved_of(CallRate), summary="Create a call rate")
def create_call_rate(body: CallRateCreate, db: Database, who: Annotated[Principal, caller("call_rates.create")]):
    with db.begin() as conn:
        rate_id = store.create(conn, who.org_id, body.model_dump(), utcnow())
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
    "numbers. Send the file as the multipart field `file`, or the CSV itself as a `text/csv` body with `mode` in the "
    "query. `merge` upserts by prefix; `replace` swaps the whole deck. The columns free_seconds, grace_period, "
    "connect_fee and postcall_surcharge may be left out (0 for every row).",
    openapi_extra={"requestBody": IMPORT_BODY},
)
async def import_call_rates(
    request: Request,
    db: Database,
    who: Annotated[Principal, caller("call_rates.create")],
    mode: Annotated[ImportMode, Query(description="With a text/csv body; a multipart body sends mode as a field")] = ImportMode.merge,
):
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "text/csv":
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:  # read as it goes, not held whole
            async for chunk in request.stream():
                spool.write(chunk)
            spool.seek(0)
            return await run_in_threadpool(_import, spool, mode, db, who.org_id)
    form = await request.form()  # a multipart file is spooled the same way by Starlette
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "Missing required parameters: file", code="MISSING_REQUIRED_PARAMS", missingInputVars=["file"])
    sent = form.get("mode")
    if sent is not None:
        if sent not in ImportMode.__members__:
            raise invalid([{"name": "mode", "reason": f"one of {', '.join(ImportMode)}"}])
        mode = ImportMode(sent)
    return await run_in_threadpool(_import, upload.file, mode, db, who.org_id)


def _import(handle: IO[bytes], mode: ImportMode, db, org_id: int):
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
        inserted, updated = store.load(conn, org_id, deck.rows, mode is ImportMode.replace, utcnow())
    return done(inserted=inserted, updated=updated, total=len(deck.rows))


@router.get(
    "/export",
    summary="Export the rate deck as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The deck, in the import format"}},
)
def export_call_rates(params: ListQuery, db: Database, who: Reader):
    where, _ = params.clauses(FIELDS)

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
    description="Matches the number against the deck (longest prefix, after normalising `+`, `00`, spaces, "
    "dashes, dots and parentheses) and prices `duration` billable seconds, itemised.",
)
async def quote_call(
    request: Request,
    db: Database,
    who: Reader,
    number: Annotated[str, Query(min_length=1, max_length=64, description="Dialled number")],
    duration: Annotated[int, Query(ge=0, le=10**7, description="Billable seconds")],
):
    deck, _ = await current_deck(db, request.app.state.decks, who.org_id)
    return done(**quote(deck, number, duration))


@router.get("/{id}", response_model=CallRate, summary="Retrieve a call rate")
async def get_call_rate(id: str, db: Database, who: Reader):
    return item(present(await fetch_one(db, store.table, who.org_id, id, "Call rate")))


def update_call_rate(
    id: str, body: CallRateUpdate, db: Database, who: Annotated[Principal, caller("call_rates.update")]
):
    values = changes(body, nullable=frozenset({"description"}))
    rate_id = object_id(id, "Call rate")
    with db.begin() as conn:
        found = store.change(conn, who.org_id, rate_id, values, utcnow())
        row = lookup.by_id(conn, store.table, who.org_id, rate_id)
    if not found:
        raise not_found("Call rate")
    return saved(present(row))


update_routes(
    router,
    "/{id}",
    update_call_rate,
    "Update a call rate",
    "Changes only the fields sent; POST, PATCH and PUT behave the same.",
    CallRate,
)


@router.delete("/{id}", response_model=Done, summary="Delete a call rate")
def delete_call_rate(id: str, db: Database, who: Annotated[Principal, caller("call_rates.delete")]):
    with db.begin() as conn:
        found = store.remove(conn, who.org_id, object_id(id, "Call rate"))
    if not found:
        raise not_found("Call rate")
    return done()
