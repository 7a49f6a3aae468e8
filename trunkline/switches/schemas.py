"""Endpoints: bodies and output. The password appears only in the create and rotate responses."""

from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, ClassVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field

from trunkline.db.tables import endpoints
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, Output


class EndpointType(StrEnum):
    """Which `/api/endpoint/...` API the credentials open."""

    cdr_push = "cdr_push"  # POST /api/endpoint/cdr: switches pushing CDRs


class BilledLeg(StrEnum):
    """Which legs of a call the endpoint's CDRs bill: the A-leg (the caller's, the default), the
    B-leg (the leg the switch originated), or both (each leg is a call of its own)."""

    a = "a"
    b = "b"
    both = "both"


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(name: str) -> str:
    if name != "UTC" and name not in _zones():
        raise ValueError("not an IANA time zone name, such as Europe/Berlin or UTC")
    return name


TimeZone = Annotated[
    str,
    Field(max_length=64, description="IANA zone of the switch's local timestamps (Asterisk without usegmtime=yes)", examples=["Europe/Berlin"]),
    AfterValidator(_zone),
]
PushLimit = Annotated[int, Field(ge=1, le=10**7, description="Pushes per minute; null: the server default (12,000)")]


class EndpointCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: EndpointType
    timezone: TimeZone = "UTC"
    billed_leg: BilledLeg = BilledLeg.a
    push_limit: PushLimit | None = None


class EndpointUpdate(Input):
    read_only: ClassVar[frozenset[str]] = frozenset({"id", "type", "login", "created_at", "rotated_at"})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    timezone: TimeZone | None = None
    billed_leg: BilledLeg | None = None
    push_limit: PushLimit | None = None


class Endpoint(Output):
    id: ApiId
    name: str
    type: EndpointType
    login: str = Field(description="The Basic-auth user name for the endpoint APIs")
    timezone: str
    billed_leg: BilledLeg
    push_limit: int | None
    created_at: datetime
    rotated_at: datetime = Field(description="When the current password was issued")


class EndpointCredentials(Endpoint):
    success: bool
    guid: str
    password: str = Field(description="Shown this once, stored only as a hash")


def present(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "name": row.name,
        "type": row.type,
        "login": row.login,
        "timezone": row.timezone,
        "billed_leg": row.billed_leg,
        "push_limit": row.push_limit,
        "created_at": row.created_at,
        "rotated_at": row.rotated_at,
    }


FIELDS = query.Fields(
    fields={
        "id": query.Field(endpoints.c.id, "id"),
        "name": query.Field(endpoints.c.name, "str"),
        "type": query.Field(endpoints.c.type, "str"),
        "login": query.Field(endpoints.c.login, "str"),
        "created_at": query.Field(endpoints.c.created_at, "datetime"),
        "rotated_at": query.Field(endpoints.c.rotated_at, "datetime"),
        "timezone": query.Field(endpoints.c.timezone, "str"),
        "billed_leg": query.Field(endpoints.c.billed_leg, "enum", choices=("a", "b", "both")),
        "push_limit": query.Field(endpoints.c.push_limit, "int"),
    },
    search=(endpoints.c.name, endpoints.c.login),
)
