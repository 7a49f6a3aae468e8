"""`/api/voice/rapidresponse`: queue a call that speaks a text, then read its progress.

The 202 returns as soon as the request is stored; the configured dialer (simulator or
FreeSWITCH, see trunkline.dialer) places the call in the background and updates its status.
"""

from typing import Annotated

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from trunkline import ids
from trunkline.dialer import CallRequest as Call
from trunkline.platform.auth import Principal, caller
from trunkline.platform.errors import missing
from trunkline.platform.resources import Database, fetch_one, utcnow
from trunkline.platform.responses import JSONResponse, current_guid, item
from trunkline.platform.routing import resource_router
from trunkline.schemas.voice import CallRequest, RapidResponseAccepted, RapidResponseCreate, present
from trunkline.store import call_requests as store

router = resource_router("/voice", "voice")


@router.post(
    "/rapidresponse",
    status_code=202,
    response_model=RapidResponseAccepted,
    summary="Start a rapid-response call",
    description="Missing parameters are 400 with `missingInputVars`. The call is placed in the "
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
            return store.create(
                conn, who.org_id, body.account_id, body.callee, body.whisper_text, dispatcher.dialer.name, utcnow()
            )

    request_id = await run_in_threadpool(store_request)
    dispatcher.submit(Call(request_id, body.account_id, body.callee, body.whisper_text))
    return JSONResponse(
        {"success": True, "guid": current_guid(), "id": ids.encode(request_id), "status": "queued"}, status_code=202
    )


@router.get("/rapidresponse/{id}", response_model=CallRequest, summary="Retrieve a rapid-response call")
async def get_rapid_response(id: str, db: Database, who: Annotated[Principal, caller("voice.read")]):
    return item(present(await fetch_one(db, store.table, who.org_id, id, "Call request")))
