"""`/api/cdr_quarantine`: switch CDRs that could not be read, held byte for byte until processed again.

A push never drops a record: what cannot be read (a Master.csv line of an unknown layout, a
document that is not one, a CDR whose times contradict each other) is held here with the
error. Fix the cause (usually the endpoint's `timezone` or the switch's configuration), then
process the held entries again; those that read now are stored and billed like a push.
"""

from typing import Annotated

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from trunkline.kit import ids
from trunkline.kit.auth import Principal, caller
from trunkline.kit.errors import not_found
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, fetch_one, object_id
from trunkline.kit.responses import done, item
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import Done, page_of
from trunkline.pushes import repository as store
from trunkline.pushes import service
from trunkline.pushes.schemas import FIELDS, HeldCdr, HeldCdrDetail, Reprocess, ReprocessResult, present, present_detail

router = resource_router("/cdr_quarantine", "cdr_quarantine")
SCOPES = ("cdr_quarantine",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("cdr_quarantine.read")]


@router.get("", response_model=page_of(HeldCdr), summary="List held CDRs")
def list_held(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


@router.get("/{id}", response_model=HeldCdrDetail, summary="Retrieve a held CDR, with what the switch sent")
async def get_held(id: str, db: Database, who: Reader):
    return item(present_detail(await fetch_one(db, store.table, who.org_id, id, "Held CDR")))


@router.post(
    "/reprocess",
    response_model=ReprocessResult,
    summary="Process held CDRs again",
    description="Reads the held entries named in `ids` (default: every held entry, or those of `endpoint_id`) again "
    "with their endpoint's current settings. Each one that reads now is stored, rated and billed as a push "
    "would, and marked processed with its call ids; the others stay held with the new error.",
)
async def reprocess(body: Reprocess, request: Request, db: Database, who: Annotated[Principal, caller("cdr_quarantine.update")]):
    wanted = [object_id(text, "Held CDR") for text in body.ids] if body.ids is not None else None
    endpoint = object_id(body.endpoint_id, "Endpoint") if body.endpoint_id is not None else None
    outcome = await run_in_threadpool(service.reprocess, db, request.app.state.decks, who.org_id, wanted, endpoint)
    return done(
        processed=outcome.processed,
        still_held=outcome.still_held,
        stored=len(outcome.stored_ids),
        duplicates=outcome.duplicates,
        unrated=outcome.unrated,
        not_billed=outcome.not_billed,
        call_ids=[ids.encode(call) for call in outcome.stored_ids],
    )


@router.delete("/{id}", response_model=Done, summary="Discard a held CDR", description="For a record that should never be billed.")
def discard_held(id: str, db: Database, who: Annotated[Principal, caller("cdr_quarantine.delete")]):
    with db.begin() as conn:
        if not store.remove(conn, who.org_id, object_id(id, "Held CDR")):
            raise not_found("Held CDR")
    return done()
