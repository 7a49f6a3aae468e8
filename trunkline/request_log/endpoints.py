"""`/api/requests/{guid}`: an organization looks up one of its own requests (the debug guid)."""

from datetime import datetime
from typing import Annotated

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from trunkline.kit import ids
from trunkline.kit.auth import Principal, caller
from trunkline.kit.errors import not_found
from trunkline.kit.responses import item
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import ApiId, Output

router = resource_router("/requests", "requests")
SCOPES = ("requests",)  # the scope resources these routes guard


class RequestRecord(Output):
    guid: str
    method: str
    path: str
    query: str
    status: int
    error_code: str | None
    client_ip: str | None
    latency_ms: int
    organization_id: ApiId | None
    token_id: ApiId | None
    created_at: datetime


@router.get(
    "/{guid}",
    response_model=RequestRecord,
    summary="Look up a request by its guid",
    description="An organization sees its own requests; the operator also sees requests that failed authentication "
    "(no organization), as support needs when a client quotes the X-Request-Id of a 401.",
)
async def get_request(guid: str, request: Request, who: Annotated[Principal, caller("requests.read")]):
    record = await run_in_threadpool(request.app.state.request_log.lookup, guid, who.org_id, who.is_operator)
    if record is None:
        raise not_found("Request")
    return item(
        {
            **{key: record[key] for key in ("guid", "method", "path", "query", "status", "error_code", "client_ip", "latency_ms")},
            "organization_id": ids.encode(record["org_id"]) if record["org_id"] is not None else None,
            "token_id": ids.encode(record["token_id"]) if record["token_id"] else None,
            "created_at": record["created_at"],
        }
    )
