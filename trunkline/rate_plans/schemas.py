"""Rate-plan bodies and output: name, currency, kind, timezone and the time-of-day periods."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field

from trunkline.db.tables import rate_plans as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Currency, Input, Output
from trunkline.rating import DAYS, Window

TIMEZONES = frozenset(available_timezones())


class PlanKind(StrEnum):
    sell = "sell"  # what customers pay
    buy = "buy"  # what a vendor charges


class PlanService(StrEnum):
    voice = "voice"  # rates per minute: calls
    sms = "sms"  # price_1 per segment, connect_fee per message (rating.price_message): messages


SERVICE_HELP = (
    "What the plan prices, fixed when it is created: voice (calls; rates per minute) or sms (messages; a rate's "
    "price_1 is the price of one segment, connect_fee a fee per message, postcall_surcharge added to both, and its "
    "other terms play no part)"
)


Day = StrEnum("Day", {day: day for day in DAYS})


def _known_zone(name: str) -> str:
    if name not in TIMEZONES:
        raise ValueError("an IANA time zone name, such as Europe/London or UTC")
    return name


Timezone = Annotated[str, Field(max_length=64, examples=["Europe/London"]), AfterValidator(_known_zone)]
PeriodName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$", description="Lower-case letters, digits, _ and -", examples=["peak"])]
Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$", description="HH:MM, local time; 24:00 ends a day", examples=["08:00"])]


class PeriodWindow(Input):
    """`period` is in force on `days` from `start` up to `end`, wall-clock time in the plan's timezone."""

    period: PeriodName
    days: Annotated[list[Day], Field(min_length=1, max_length=7)]
    start: Clock
    end: Clock


PERIODS_HELP = (
    "Time-of-day windows, which together must cover every minute of the week once (422 naming the gap or "
    "overlap otherwise). A period may have several windows. A whole call is priced by the period at its start. "
    "Empty: the plan costs the same at any time."
)


class RatePlanCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Currency = "USD"
    kind: PlanKind = PlanKind.sell
    service: PlanService = Field(PlanService.voice, description=SERVICE_HELP)
    timezone: Timezone = "UTC"
    periods: Annotated[list[PeriodWindow], Field(default_factory=list, max_length=100, description=PERIODS_HELP)]
    description: Annotated[str, Field(max_length=1024)] | None = None


class RatePlanUpdate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    currency: Currency | None = None
    kind: PlanKind | None = None
    timezone: Timezone | None = None
    periods: Annotated[list[PeriodWindow], Field(max_length=100, description=PERIODS_HELP)] | None = None
    description: Annotated[str, Field(max_length=1024)] | None = None


class PeriodWindowOut(Output):
    period: str
    days: list[str]
    start: str
    end: str


class RatePlan(Output):
    id: ApiId
    name: str
    currency: str
    kind: PlanKind
    service: PlanService
    timezone: str
    periods: list[PeriodWindowOut]
    description: str | None
    is_default: bool = Field(description="The plan of requests and accounts that name none (its id is the organization's)")
    created_at: datetime
    updated_at: datetime


def minute(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def windows(periods: list[dict]) -> list[Window]:
    """Stored windows (`periods` column) as the engine's."""
    return [Window(w["period"], frozenset(DAYS.index(day) for day in w["days"]), minute(w["start"]), minute(w["end"])) for w in periods]


def present(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "name": row.name,
        "currency": row.currency,
        "kind": row.kind,
        "service": row.service,
        "timezone": row.timezone,
        "periods": row.periods,
        "description": row.description,
        "is_default": row.id == row.org_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


c = table.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "name": query.Field(c.name, "str"),
        "currency": query.Field(c.currency, "str"),
        "kind": query.Field(c.kind, "enum", choices=tuple(PlanKind)),
        "service": query.Field(c.service, "enum", choices=tuple(PlanService)),
        "timezone": query.Field(c.timezone, "str"),
        "description": query.Field(c.description, "str"),
        "is_default": query.Field(c.id == c.org_id, "bool"),
        "created_at": query.Field(c.created_at, "datetime"),
        "updated_at": query.Field(c.updated_at, "datetime"),
    },
    search=(c.name, c.description),
    default_order=("id",),
)
