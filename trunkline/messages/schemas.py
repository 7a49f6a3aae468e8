"""Message bodies and output: what a client sends, what it sees of a message and its states."""

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from trunkline.accounts.schemas import Code
from trunkline.db.tables import messages as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, MoneyOut, Output
from trunkline.rating.money import from_units
from trunkline.webhooks.schemas import Url


class SmsProduct(StrEnum):
    """Seed 001's SMS products; GMS is the organization's own numbers, which also receive."""

    ENT = "ENT"
    BNK = "BNK"
    MKT = "MKT"
    A2P = "A2P"
    DIR = "DIR"
    GMS = "GMS"


class MessageStatus(StrEnum):
    accepted = "accepted"  # stored, price reserved
    queued = "queued"  # waiting for its SMSC (throttled, or the connection is down)
    submitted = "submitted"  # every segment acknowledged by the SMSC
    delivered = "delivered"
    undeliverable = "undeliverable"
    expired = "expired"
    rejected = "rejected"
    failed = "failed"  # refused by the SMSC or never sent
    received = "received"  # inbound


FINAL = frozenset({MessageStatus.delivered, MessageStatus.undeliverable, MessageStatus.expired, MessageStatus.rejected, MessageStatus.failed})
REFUNDED = frozenset({MessageStatus.rejected, MessageStatus.failed})  # ends that give the reserved price back

SENDER_HELP = (
    "Alphanumeric (1–11 letters, digits and spaces, with a letter), a short code (3–8 digits) or a number in "
    "international form (+ optional, 8–15 digits)"
)
_SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}|[0-9]{3,8}|\+?[0-9]{8,15}")


def _sender(value: str) -> str:
    if not _SENDER.fullmatch(value) or (not value.lstrip("+").isdigit() and not any(char.isalpha() for char in value)):
        raise ValueError(SENDER_HELP.lower())
    return value


Sender = Annotated[str, Field(min_length=1, max_length=16, description=SENDER_HELP), AfterValidator(_sender)]
Number = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^\+?[0-9]{6,15}$", description="International form: country code first, + optional")]
Text = Annotated[str, Field(min_length=1, max_length=1600, description="Up to 1,600 characters; the segments are counted from the encoding it needs")]
DAY = 86_400


class MessageCreate(Input):
    model_config = Input.model_config | {"populate_by_name": True}

    product: SmsProduct
    sender: Sender = Field(alias="from")
    to: Annotated[list[Number], Field(min_length=1, max_length=1000)] | Number = Field(description="One number, or a list of up to 1,000")
    text: Text
    client_ref: Annotated[str, Field(max_length=128)] | None = None
    callback_url: Url | None = Field(None, description="Also receives this message's message.* events, signed; see POST /api/messages")
    validity: Annotated[int, Field(ge=60, le=7 * DAY)] = Field(2 * DAY, description="Seconds the message may wait to be delivered; expired after")
    scheduled_at: datetime | None = Field(None, description="Not sent before this moment (ISO 8601 with offset)")
    account_id: Code | None = Field(None, description="The account the message is charged to, priced by its SMS plan")

    @field_validator("to")
    @classmethod
    def _as_list(cls, value: str | list[str]) -> list[str]:
        return [value] if isinstance(value, str) else value


class MessageBatch(Input):
    messages: Annotated[list[MessageCreate], Field(min_length=1, max_length=1000)]


class Preview(Input):
    text: Text
    to: Number | None = Field(None, description="With account_id: price the message to this number")
    account_id: Code | None = None


class Counted(Output):
    encoding: str = Field(description="GSM7 (the GSM 03.38 default alphabet) or UCS2")
    units: int = Field(description="Septets for GSM7 (extension characters count two), UTF-16 code units for UCS2")
    segments: int
    per_segment: int = Field(description="What one segment holds: 160 or 153 (GSM7), 70 or 67 (UCS2)")


class PreviewResult(Counted):
    success: bool
    guid: str
    price: MoneyOut | None = Field(description="With to and account_id: what it costs at the account's SMS plan")
    currency: str | None


class AcceptedMessage(Output):
    id: ApiId
    to: str
    status: MessageStatus
    encoding: str
    segments: int
    price: MoneyOut | None
    currency: str | None


class Accepted(Output):
    success: bool
    guid: str
    messages: list[AcceptedMessage]


class MessageEvent(Output):
    status: MessageStatus
    error_code: int | None
    detail: str | None
    at: datetime


class Message(Output):
    id: ApiId
    direction: str = Field(description="out (sent) or in (received)")
    product: str
    sender: str = Field(alias="from")
    to: str
    text: str
    encoding: str
    segments: int
    status: MessageStatus
    error_code: int | None = Field(description="The SMSC's command_status or receipt err, when it ended badly")
    error: str | None
    client_ref: str | None
    callback_url: str | None
    account_id: str | None
    price: MoneyOut | None
    currency: str | None
    scheduled_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None


class MessageDetail(Message):
    events: list[MessageEvent] = Field(description="Every state it went through, oldest first")


def present(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "direction": row.direction,
        "product": row.product,
        "from": row.sender,
        "to": row.recipient,
        "text": row.text,
        "encoding": row.encoding,
        "segments": row.segments,
        "status": row.status,
        "error_code": row.error_code,
        "error": row.error,
        "client_ref": row.client_ref,
        "callback_url": row.callback_url,
        "account_id": row.account_id,
        "price": None if row.price is None else from_units(row.price),
        "currency": row.currency,
        "scheduled_at": row.scheduled_at,
        "expires_at": row.expires_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "done_at": row.done_at,
    }


def present_event(row) -> dict:
    return {"status": row.status, "error_code": row.error_code, "detail": row.detail, "at": row.at}


c = table.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "direction": query.Field(c.direction, "enum", choices=("out", "in")),
        "product": query.Field(c.product, "enum", choices=tuple(SmsProduct)),
        "from": query.Field(c.sender, "str"),
        "to": query.Field(c.recipient, "str"),
        "status": query.Field(c.status, "enum", choices=tuple(MessageStatus)),
        "error_code": query.Field(c.error_code, "int"),
        "error": query.Field(c.error, "str"),
        "text": query.Field(c.text, "str"),
        "client_ref": query.Field(c.client_ref, "str"),
        "callback_url": query.Field(c.callback_url, "str"),
        "account_id": query.Field(c.account_id, "str"),
        "encoding": query.Field(c.encoding, "enum", choices=("GSM7", "UCS2")),
        "segments": query.Field(c.segments, "int"),
        "price": query.Field(c.price, "money"),
        "currency": query.Field(c.currency, "str"),
        "scheduled_at": query.Field(c.scheduled_at, "datetime"),
        "expires_at": query.Field(c.expires_at, "datetime"),
        "created_at": query.Field(c.created_at, "datetime"),
        "updated_at": query.Field(c.updated_at, "datetime"),
        "done_at": query.Field(c.done_at, "datetime"),
    },
    search=(c.recipient, c.sender, c.text, c.client_ref),
    default_order=("id desc",),
)
