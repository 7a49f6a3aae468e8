"""The CDR quarantine: what a switch sent that could not be read, and processing it again."""

import base64
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import func

from trunkline.calls.schemas import IngestResult, present_ingested
from trunkline.db.tables import cdr_quarantine as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, Output


class HoldStatus(StrEnum):
    held = "held"
    processed = "processed"


class HeldCdr(Output):
    id: ApiId
    endpoint_id: ApiId | None = Field(description="The endpoint that pushed it; null when it has been deleted")
    media_type: str = Field(description="The Content-Type it was sent with")
    error: str = Field(description="Why it could not be read (the latest attempt)")
    line: int | None = Field(description="Where it started in the pushed Master.csv chunk")
    status: HoldStatus
    call_ids: list[ApiId] | None = Field(description="The calls it became once processed")
    received_at: datetime
    processed_at: datetime | None
    size: int = Field(description="Bytes held")


class HeldCdrDetail(HeldCdr):
    body: str = Field(description="What the switch sent, as UTF-8 text (undecodable bytes replaced)")
    body_base64: str = Field(description="What the switch sent, byte for byte")


class Reprocess(Input):
    ids: Annotated[list[str], Field(max_length=1000, description="Held entries to process; default: all")] | None = None
    endpoint_id: Annotated[str, Field(description="Only this endpoint's entries")] | None = None


class ReprocessResult(Output):
    success: bool
    guid: str
    processed: int = Field(description="Entries read this time and stored")
    still_held: int = Field(description="Entries that still cannot be read (their error is updated)")
    stored: int
    duplicates: int
    unrated: int
    not_billed: int
    call_ids: list[ApiId]


def present(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "endpoint_id": ids.encode(row.endpoint_id) if row.endpoint_id is not None else None,
        "media_type": row.media_type,
        "error": row.error,
        "line": row.line,
        "status": row.status,
        "call_ids": row.call_ids,
        "received_at": row.received_at,
        "processed_at": row.processed_at,
        "size": len(row.body),
    }


def present_detail(row) -> dict:
    return {**present(row), "body": bytes(row.body).decode("utf-8", "replace"), "body_base64": base64.b64encode(bytes(row.body)).decode()}


class PushResult(IngestResult):
    not_billed: int = Field(description="Legs stored but not billed: the endpoint bills the other leg")
    quarantined: int = Field(description="CDRs that could not be read, kept byte for byte in the quarantine")
    quarantine_ids: list[ApiId]


def present_pushed(result) -> dict[str, Any]:
    """What a switch push answers: the ingest, and what was not billed or not readable."""
    return {
        **present_ingested(result),
        "not_billed": result.not_billed,
        "quarantined": len(result.held_ids),
        "quarantine_ids": [ids.encode(held) for held in result.held_ids],
    }


c = table.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "endpoint_id": query.Field(c.endpoint_id, "id"),
        "media_type": query.Field(c.media_type, "str"),
        "error": query.Field(c.error, "str"),
        "line": query.Field(c.line, "int"),
        "status": query.Field(c.status, "enum", choices=tuple(HoldStatus)),
        "received_at": query.Field(c.received_at, "datetime"),
        "processed_at": query.Field(c.processed_at, "datetime"),
        "size": query.Field(func.length(c.body), "int"),
    },
    search=(c.error,),
)
