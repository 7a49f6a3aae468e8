"""Verification bodies and output: what starts one, what a check sends and what it answers.
No output ever holds the code."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from trunkline.accounts.schemas import Code
from trunkline.db.tables import verifications as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, Output
from trunkline.messages.schemas import Number, Sender

PLACEHOLDER = "{code}"
MAX_ATTEMPTS = 5
DEFAULT_TEXT = "Your verification code is {code}"


class VerificationStatus(StrEnum):
    pending = "pending"  # sent, waiting for the right code
    approved = "approved"  # the right code came in time
    expired = "expired"  # its time ran out first
    failed = "failed"  # MAX_ATTEMPTS wrong codes


class OtpProduct(StrEnum):
    """The products a passcode may go out under: not marketing (MKT), and not inbound (GMS)."""

    A2P = "A2P"
    BNK = "BNK"
    ENT = "ENT"
    DIR = "DIR"


def _template(value: str) -> str:
    if value.count(PLACEHOLDER) != 1:
        raise ValueError("must hold {code} exactly once")
    return value


class VerificationCreate(Input):
    model_config = Input.model_config | {"populate_by_name": True}

    to: Number
    product: OtpProduct = Field(description="A2P, BNK, ENT or DIR: passcodes reach numbers that opted out of marketing, so never MKT")
    sender: Sender = Field(alias="from")
    code_length: Annotated[int, Field(ge=4, le=10)] = Field(6, description="Digits in the code")
    ttl: Annotated[int, Field(ge=30, le=3600)] = Field(600, description="Seconds the code may be checked for")
    text: Annotated[str, Field(min_length=7, max_length=300), AfterValidator(_template)] = Field(
        DEFAULT_TEXT, description="The message, with {code} where the code goes"
    )
    account_id: Code | None = Field(None, description="The account the SMS is charged to, priced by its SMS plan")


class Check(Input):
    code: Annotated[str, Field(min_length=1, max_length=10, description="The code the user typed")]


class Verification(Output):
    id: ApiId
    to: str
    product: str
    sender: str = Field(alias="from")
    status: VerificationStatus
    attempts: int = Field(description="Checks made so far")
    max_attempts: int
    code_length: int
    account_id: str | None
    message_id: ApiId | None = Field(description="The SMS carrying the code (GET /api/messages/{id})")
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None


class CheckResult(Verification):
    valid: bool = Field(description="True only for the check that approved it; a wrong code, an expired or spent verification all answer false")


def present(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "to": row.recipient,
        "product": row.product,
        "from": row.sender,
        "status": row.status,
        "attempts": row.attempts,
        "max_attempts": row.max_attempts,
        "code_length": row.code_length,
        "account_id": row.account_id,
        "message_id": None if row.message_id is None else ids.encode(row.message_id),
        "expires_at": row.expires_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "done_at": row.done_at,
    }


c = table.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "to": query.Field(c.recipient, "str"),
        "product": query.Field(c.product, "enum", choices=tuple(OtpProduct)),
        "from": query.Field(c.sender, "str"),
        "status": query.Field(c.status, "enum", choices=tuple(VerificationStatus)),
        "attempts": query.Field(c.attempts, "int"),
        "max_attempts": query.Field(c.max_attempts, "int"),
        "code_length": query.Field(c.code_length, "int"),
        "account_id": query.Field(c.account_id, "str"),
        "message_id": query.Field(c.message_id, "id"),
        "expires_at": query.Field(c.expires_at, "datetime"),
        "created_at": query.Field(c.created_at, "datetime"),
        "updated_at": query.Field(c.updated_at, "datetime"),
        "done_at": query.Field(c.done_at, "datetime"),
    },
    search=(c.recipient,),
    default_order=("id desc",),
)
