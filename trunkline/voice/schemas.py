"""Rapid response: ring `callee` and speak `whisper_text`, on behalf of `account_id`."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator

from trunkline.db.tables import call_requests as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, Output
from trunkline.rating import normalize_number


class RapidResponseCreate(Input):
    # Declaration order is the order of missingInputVars.
    account_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@+-]+$", examples=["12345"])
    callee: str = Field(min_length=1, max_length=64, description="Dialable number; +, 00, spaces, dashes, dots, parentheses are ignored", examples=["+44 20 7946 0000"])
    whisper_text: str = Field(min_length=1, max_length=1000, description="Text spoken to the callee")

    @field_validator("callee")
    @classmethod
    def _dialable(cls, value: str) -> str:
        number = normalize_number(value)
        if number is None or not 3 <= len(number) <= 20:
            raise ValueError("not a dialable number")
        return number


class CallRequestStatus(StrEnum):
    queued = "queued"
    dialing = "dialing"
    completed = "completed"
    failed = "failed"


class RapidResponseAccepted(Output):
    success: bool
    guid: str
    id: ApiId
    status: str = Field(examples=["queued"])


class CallRequest(Output):
    id: ApiId
    account_id: str
    callee: str
    whisper_text: str
    status: str = Field(description="queued, dialing, completed or failed")
    dialer: str = Field(description="simulator or freeswitch")
    detail: str | None
    created_at: datetime
    updated_at: datetime


def present(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "account_id": row.account_id,
        "callee": row.callee,
        "whisper_text": row.whisper_text,
        "status": row.status,
        "dialer": row.dialer,
        "detail": row.detail,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


c = table.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "account_id": query.Field(c.account_id, "str"),
        "callee": query.Field(c.callee, "str", digits=True),
        "whisper_text": query.Field(c.whisper_text, "str"),
        "status": query.Field(c.status, "enum", choices=tuple(CallRequestStatus)),
        "dialer": query.Field(c.dialer, "str"),
        "detail": query.Field(c.detail, "str"),
        "created_at": query.Field(c.created_at, "datetime"),
        "updated_at": query.Field(c.updated_at, "datetime"),
    },
    search=(c.account_id, c.callee, c.whisper_text),
)
