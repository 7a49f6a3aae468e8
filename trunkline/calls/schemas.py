"""Call detail records: what a switch sends, and what the API shows back."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator
from sqlalchemy import case, false, func

from trunkline.call_rates.schemas import Breakdown, CallStatus, RateType
from trunkline.db.tables import calls as table
from trunkline.db.tables import rerate_jobs
from trunkline.kit import ids, query
from trunkline.kit.clock import to_utc
from trunkline.kit.schema import ApiId, Input, MoneyOut, Output
from trunkline.rating.money import from_units

jobs = rerate_jobs.c


def _utc(moment: datetime) -> datetime:
    """Switches often send local wall-clock time without an offset; it is taken as UTC."""
    try:
        return to_utc(moment)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: a 422, not a 500
        raise ValueError("outside the supported date range in UTC") from None


Moment = Annotated[datetime, AfterValidator(_utc)]
Text64 = Annotated[str, Field(max_length=64)]


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    internal = "internal"


class Leg(StrEnum):
    """Which leg of a call a CDR records: "a" (the caller's, or a call the switch placed on its
    own) or "b" (a leg the switch originated to connect the A-leg)."""

    a = "a"
    b = "b"


class CallIn(Input):
    """One CDR. Send `duration` or `end` (or both): a CDR with neither is refused (422).
    `duration` and `billsec` may be left out when the timestamps tell them."""

    call_id: Annotated[str, Field(min_length=1, max_length=128, description="The switch's id; a re-sent CDR is not stored twice")]
    account_id: Text64 | None = None
    caller: Text64 | None = None
    callee: Annotated[str, Field(min_length=1, max_length=64, description="Dialled number, rated by longest prefix")]
    start: Moment
    answer: Moment | None = None
    end: Moment | None = None
    duration: Annotated[int, Field(ge=0, le=10**7)] | None = None
    billsec: Annotated[int, Field(ge=0, le=10**7, description="Billable seconds; 0 = not answered")] | None = None
    disposition: Annotated[str, Field(max_length=32)] | None = None
    hangup_cause: Text64 | None = None
    direction: Direction | None = None
    leg: Leg | None = None
    linked_id: Annotated[str, Field(max_length=128, description="Links the legs of one call: the A-leg's id, or Asterisk's linkedid")] | None = None
    gateway: Annotated[str, Field(max_length=128, description="The gateway or trunk the call left through: names its vendor (see /api/vendors)")] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "CallIn":
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        if self.answer is not None and (self.answer < self.start or (self.end is not None and self.answer > self.end)):
            raise ValueError("answer is outside start..end")
        if self.duration is None:
            if self.end is None:
                raise ValueError("send duration or end")
            self.duration = int((self.end - self.start).total_seconds())
        if self.billsec is None:
            if self.answer is None:
                self.billsec = 0
            elif self.end is not None:
                self.billsec = int((self.end - self.answer).total_seconds())
            else:
                raise ValueError("send billsec, or answer and end")
        if self.billsec > self.duration:
            raise ValueError("billsec exceeds duration")
        return self


class SwitchCall(CallIn):
    """A CDR pushed by a switch. A switch cannot edit its history, so a CDR without a dialled
    number is stored (unrated, `no_destination`) instead of refused."""

    callee: Annotated[str, Field(max_length=64, description="Dialled number; may be empty")] = ""


class Call(Output):
    id: ApiId
    call_id: str
    account_id: str | None
    caller: str | None
    callee: str
    start: datetime
    answer: datetime | None
    end: datetime | None
    duration: int
    billsec: int
    disposition: str | None
    hangup_cause: str | None
    direction: Direction | None
    leg: Leg | None
    linked_id: str | None
    billed: bool = Field(description="False for a leg its endpoint does not bill (the other leg of the call is billed)")
    status: CallStatus
    unrated_reason: str | None
    cost: MoneyOut | None = Field(description="Null when unrated: never a silent 0")
    rate_id: ApiId | None
    prefix: str | None
    rate_type: RateType | None
    rate_plan_id: ApiId | None = Field(description="The rate plan that priced it")
    period: str | None = Field(description="The plan's period at its start (null: the plan has none)")
    gateway: str | None
    vendor_id: ApiId | None = Field(description="The vendor whose gateway carried it")
    vendor_cost: MoneyOut | None = Field(description="What the vendor's buy plan charges for it (null: no vendor, or no vendor rate)")
    margin: MoneyOut | None = Field(description="cost - vendor_cost, when both are known")
    loss: bool = Field(description="The vendor charges more than the customer pays: flagged, never hidden")
    created_at: datetime
    rated_at: datetime


class CallDetail(Call):
    breakdown: Breakdown | None = Field(description="How the cost was built, from the rate as it was when rated")


class IngestResult(Output):
    success: bool
    guid: str
    received: int
    stored: int
    duplicates: int = Field(description="CDRs already stored (same call_id): not stored or billed again")
    duplicate_call_ids: list[str]
    unrated: int
    cost: MoneyOut = Field(description="Total cost of the newly stored calls")
    ids: list[ApiId] = Field(description="Ids of the stored calls, in input order (duplicates left out)")


LAST_DAY = date(9999, 12, 30)  # the day after must still be a date


class Rerate(Input):
    start_date: Annotated[date, Field(le=LAST_DAY)]
    end_date: Annotated[date, Field(le=LAST_DAY, description="Inclusive")]
    account_id: Text64 | None = None


class RerateStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class RerateJob(Output):
    id: ApiId
    start_date: date
    end_date: date
    account_id: str | None
    status: RerateStatus
    total: int = Field(description="Calls in the range when the job started")
    calls: int = Field(description="Calls re-rated so far")
    changed: int = Field(description="Calls whose price changed so far")
    cost_before: MoneyOut
    cost_after: MoneyOut
    difference: MoneyOut
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


def present_rerate(row) -> dict[str, Any]:
    return {
        "id": ids.encode(row.id),
        "start_date": row.start_date,
        "end_date": row.end_date,
        "account_id": row.account_id,
        "status": row.status,
        "total": row.total,
        "calls": row.calls,
        "changed": row.changed,
        "cost_before": from_units(row.cost_before),
        "cost_after": from_units(row.cost_after),
        "difference": from_units(row.cost_after - row.cost_before),
        "error": row.error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "finished_at": row.finished_at,
    }


def present_ingested(result) -> dict[str, Any]:
    """What an ingest (`ingest.Ingested`) answers, on POST /api/calls and on the CDR push alike."""
    return {
        "received": result.received,
        "stored": len(result.stored_ids),
        "duplicates": len(result.duplicate_call_ids),
        "duplicate_call_ids": result.duplicate_call_ids,
        "unrated": result.unrated,
        "cost": from_units(result.cost_units),
        "ids": [ids.encode(call_id) for call_id in result.stored_ids],
    }


def present(row) -> dict[str, Any]:
    """A stored call as the API shows it."""
    return {
        "id": ids.encode(row.id),
        "call_id": row.call_id,
        "account_id": row.account_id,
        "caller": row.caller,
        "callee": row.callee,
        "start": row.start_at,
        "answer": row.answer_at,
        "end": row.end_at,
        "duration": row.duration,
        "billsec": row.billsec,
        "disposition": row.disposition,
        "hangup_cause": row.hangup_cause,
        "direction": row.direction,
        "leg": row.leg,
        "linked_id": row.linked_id,
        "billed": row.billed,
        "status": "rated" if row.rated else "unrated",
        "unrated_reason": row.unrated_reason,
        "cost": from_units(row.cost) if row.cost is not None else None,
        "rate_id": ids.encode(row.rate_id) if row.rate_id else None,
        "prefix": row.prefix,
        "rate_type": row.rate_type,
        "rate_plan_id": ids.encode(row.rate_plan_id) if row.rate_plan_id else None,
        "period": row.period,
        "gateway": row.gateway,
        "vendor_id": ids.encode(row.vendor_id) if row.vendor_id else None,
        "vendor_cost": from_units(row.vendor_cost) if row.vendor_cost is not None else None,
        "margin": from_units(row.cost - row.vendor_cost) if row.cost is not None and row.vendor_cost is not None else None,
        "loss": row.cost is not None and row.vendor_cost is not None and row.vendor_cost > row.cost,
        "created_at": row.created_at,
        "rated_at": row.rated_at,
    }


c = table.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "call_id": query.Field(c.call_id, "str"),
        "account_id": query.Field(c.account_id, "str"),
        "caller": query.Field(c.caller, "str"),
        "callee": query.Field(c.callee, "str"),
        "start": query.Field(c.start_at, "datetime"),
        "answer": query.Field(c.answer_at, "datetime"),
        "end": query.Field(c.end_at, "datetime"),
        "duration": query.Field(c.duration, "int"),
        "billsec": query.Field(c.billsec, "int"),
        "disposition": query.Field(c.disposition, "str"),
        "hangup_cause": query.Field(c.hangup_cause, "str"),
        "direction": query.Field(c.direction, "enum", choices=tuple(Direction)),
        "leg": query.Field(c.leg, "enum", choices=tuple(Leg)),
        "linked_id": query.Field(c.linked_id, "str"),
        "billed": query.Field(c.billed, "bool"),
        "status": query.Field(case((c.rated, "rated"), else_="unrated"), "enum", choices=tuple(CallStatus)),
        "rated": query.Field(c.rated, "bool"),
        "unrated_reason": query.Field(c.unrated_reason, "str"),
        "cost": query.Field(c.cost, "money"),
        "rate_id": query.Field(c.rate_id, "id"),
        "prefix": query.Field(c.prefix, "str", digits=True),
        "rate_type": query.Field(c.rate_type, "enum", choices=tuple(RateType)),
        "rate_plan_id": query.Field(c.rate_plan_id, "id"),
        "period": query.Field(c.period, "str"),
        "gateway": query.Field(c.gateway, "str"),
        "vendor_id": query.Field(c.vendor_id, "id"),
        "vendor_cost": query.Field(c.vendor_cost, "money"),
        "margin": query.Field(c.cost - c.vendor_cost, "money"),
        "loss": query.Field(func.coalesce(c.vendor_cost > c.cost, false()), "bool"),
        "created_at": query.Field(c.created_at, "datetime"),
        "rated_at": query.Field(c.rated_at, "datetime"),
    },
    search=(c.call_id, c.account_id, c.caller, c.callee),
    default_order=("start", "id"),
)

RERATE_JOB_FIELDS = query.Fields(
    fields={
        "id": query.Field(jobs.id, "id"),
        "start_date": query.Field(jobs.start_date, "datetime"),
        "end_date": query.Field(jobs.end_date, "datetime"),
        "account_id": query.Field(jobs.account_id, "str"),
        "status": query.Field(jobs.status, "enum", choices=tuple(RerateStatus)),
        "total": query.Field(jobs.total, "int"),
        "calls": query.Field(jobs.calls, "int"),
        "changed": query.Field(jobs.changed, "int"),
        "cost_before": query.Field(jobs.cost_before, "money"),
        "cost_after": query.Field(jobs.cost_after, "money"),
        "difference": query.Field(jobs.cost_after - jobs.cost_before, "money"),
        "error": query.Field(jobs.error, "str"),
        "created_at": query.Field(jobs.created_at, "datetime"),
        "updated_at": query.Field(jobs.updated_at, "datetime"),
        "finished_at": query.Field(jobs.finished_at, "datetime"),
    },
    default_order=("id",),
)
