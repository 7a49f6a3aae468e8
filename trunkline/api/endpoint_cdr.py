"""`POST /api/endpoint/cdr`: switches push their CDRs as they write them, with an endpoint's Basic credentials.

FreeSWITCH mod_json_cdr / mod_xml_cdr (raw, or the `cdr=` form field) and Asterisk cdr_csv
Master.csv lines are mapped by `trunkline.switches`, judged by `CallIn` and stored through the
same rating path as `POST /api/calls`. A switch retries any non-2xx answer, so a CDR already
stored answers 200 (listed as a duplicate) and is never billed twice.
"""

from typing import Annotated

from fastapi import Request
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from trunkline import billing
from trunkline.platform.endpoint_auth import EndpointCaller, endpoint_caller
from trunkline.platform.errors import ApiError
from trunkline.platform.resources import Database
from trunkline.platform.responses import done
from trunkline.platform.routing import resource_router
from trunkline.schemas.calls import CallIn, IngestResult, present_ingested
from trunkline.switches import SwitchCdrError, asterisk, freeswitch

router = resource_router("/endpoint", "endpoint APIs")
FORM = "application/x-www-form-urlencoded"
PARSERS = {
    "application/json": freeswitch.parse_json,
    "application/xml": freeswitch.parse_xml,
    "text/xml": freeswitch.parse_xml,
    FORM: freeswitch.parse,  # mod_json_cdr and mod_xml_cdr both send `cdr=` forms
    "text/csv": asterisk.parse_master_csv,
    "text/plain": asterisk.parse_master_csv,
}
MEDIA_TYPES = tuple(PARSERS)  # passed through the body middleware untouched (app.py raw_bodies)
_calls = TypeAdapter(list[CallIn])


def read(body: bytes, media_type: str) -> list[CallIn]:
    """The CDRs in a switch payload; 4xx naming the problem otherwise."""
    parser = PARSERS.get(media_type)
    if parser is None:
        raise ApiError(415, f"Unsupported media type {media_type or '(none)'}; send one of {', '.join(MEDIA_TYPES)}")
    if not body.strip():
        raise ApiError(400, "Empty body: send a CDR")
    try:
        found = parser(body)
    except SwitchCdrError as exc:
        raise ApiError(400, f"Malformed CDR: {exc}") from None
    if not found:
        raise ApiError(400, "The payload holds no CDR")
    try:
        return _calls.validate_python(found)
    except ValidationError as exc:
        problems = [
            {"name": ".".join(str(part) for part in ("cdr", *err["loc"])), "reason": "required" if err["type"] == "missing" else err["msg"]}
            for err in exc.errors()
        ]
        raise ApiError(422, "Invalid CDR: " + "; ".join(f"{p['name']}: {p['reason']}" for p in problems), invalidInputVars=problems) from None


@router.post(
    "/cdr",
    response_model=IngestResult,
    summary="Push CDRs from a switch",
    description="Basic auth with a `cdr_push` endpoint's login:password. Body: FreeSWITCH mod_json_cdr "
    "(`application/json`) or mod_xml_cdr (`application/xml`, `text/xml`), raw or as the form field `cdr=`, "
    "or Asterisk cdr_csv Master.csv lines (`text/csv`, `text/plain`). Rated like `POST /api/calls`; "
    "a CDR already stored answers 200 and is listed in duplicate_call_ids.",
    openapi_extra={"requestBody": {"required": True, "content": {media: {"schema": {"type": "string"}} for media in MEDIA_TYPES}}},
)
async def push_cdr(request: Request, db: Database, who: Annotated[EndpointCaller, endpoint_caller("cdr_push")]):
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()

    result = await run_in_threadpool(billing.ingest_batch, db, request.app.state.decks, who.org_id, lambda: read(body, media_type))
    return done(**present_ingested(result))
