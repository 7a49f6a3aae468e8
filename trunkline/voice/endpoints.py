"""`/api/voice/rapidresponse`: queue a call that speaks a text, then read its progress.

Nothing is dialled that could not be paid for (`voice.service`). The 202 returns as soon as the
request is stored; the configured dialer (simulator or FreeSWITCH, see `voice.dispatcher`)
places the call in the background and updates its status.
"""

from typing import Annotated

from fastapi import Request

from trunkline.kit import ids
from trunkline.kit.auth import Principal, caller
from trunkline.kit.errors import missing
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, fetch_one
from trunkline.kit.responses import JSONResponse, current_guid, item
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import page_of
from trunkline.voice import repository as store
from trunkline.voice import service
from trunkline.voice.schemas import FIELDS, CallRequest, RapidResponseAccepted, RapidResponseCreate, present

router = resource_router("/voice", "voice")
SCOPES = ("voice",)  # the scope resources these routes guard


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
    state = request.app.state
    request_id = await service.start(db, state.decks, state.dispatcher, who, body.account_id, body.callee, body.whisper_text)
    return JSONResponse(
        {"success": True, "guid": current_guid(), "id": ids.encode(request_id), "status": "queued"}, status_code=202
    )


@router.get("/rapidresponse", response_model=page_of(CallRequest), summary="List rapid-response calls")
def list_rapid_responses(request: Request, params: ListQuery, db: Database, who: Annotated[Principal, caller("voice.read")]):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


@router.get("/rapidresponse/{id}", response_model=CallRequest, summary="Retrieve a rapid-response call")
async def get_rapid_response(id: str, db: Database, who: Annotated[Principal, caller("voice.read")]):
    return item(present(await fetch_one(db, store.table, who.org_id, id, "Call request")))
