"""`POST /api/endpoint/cdr`: switches push their CDRs as they write them, with an endpoint's Basic credentials.

FreeSWITCH mod_json_cdr / mod_xml_cdr (every `encode` setting) and Asterisk cdr_csv Master.csv
lines are read by `switches.intake` with the endpoint's settings (time zone, billed
leg) and stored by `pushes.service` through the same rating path as `POST /api/calls`. A switch retries any
non-2xx answer and cannot edit its history, so a push stores what it can read, holds what it
cannot in the quarantine, and answers 200 with the counts. A CDR already stored answers 200
(listed as a duplicate) and is never billed twice.
"""

from typing import Annotated

from fastapi import Query, Request

from trunkline.kit.responses import done
from trunkline.kit.routing import resource_router
from trunkline.pushes import service
from trunkline.pushes.schemas import PushResult, present_pushed
from trunkline.switches import intake
from trunkline.switches.auth import EndpointCaller, endpoint_caller

router = resource_router("/endpoint", "cdr_push")
SCOPES = ()  # guarded by credentials of their own, not by scopes
MEDIA_TYPES = intake.MEDIA_TYPES  # every body reaches the route untouched (app.py raw_paths)


@router.post(
    "/cdr",
    response_model=PushResult,
    summary="Push CDRs from a switch",
    description="Basic auth with a `cdr_push` endpoint's login:password. Body: FreeSWITCH mod_json_cdr or "
    "mod_xml_cdr as the module sends it with any `encode` setting (`application/json`, `application/xml`, "
    "`text/xml`, or the `cdr=` field as `application/x-www-form-urlencoded`, `application/x-www-form-plaintext` "
    "or `application/x-www-form-base64-encoded`), or Asterisk cdr_csv Master.csv lines (`text/csv`, `text/plain`). "
    "Every CDR that can be read is stored and rated like `POST /api/calls` (one without a destination unrated); "
    "only the legs the endpoint's `billed_leg` names are billed; a record that cannot be read is held in "
    "`/api/cdr_quarantine`, byte for byte. A CDR already stored answers 200 and is listed in duplicate_call_ids.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object", "additionalProperties": True, "description": "A mod_json_cdr document, as the module writes it"}},
                **{media: {"schema": {"type": "string"}} for media in MEDIA_TYPES if media != "application/json"},
            },
        }
    },
)
async def push_cdr(
    request: Request,
    who: Annotated[EndpointCaller, endpoint_caller("cdr_push")],
    uuid: Annotated[str | None, Query(max_length=200, description="mod_json_cdr and mod_xml_cdr append the channel's uuid; informational")] = None,
):
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    settings = intake.PushSettings(who.endpoint_id, who.timezone, who.billed_leg)
    result = await service.accept(request.app.state.group_commit, who.org_id, body, media_type, settings)  # 415 or 400 for nothing to keep
    return done(**present_pushed(result))
