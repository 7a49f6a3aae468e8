"""Call-rate bodies and output, their fields and bounds."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, AwareDatetime, Field

from trunkline.db.tables import EVER
from trunkline.db.tables import call_rates as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Currency, Input, MoneyIn, MoneyOut, Output
from trunkline.rate_plans.schemas import PeriodName
from trunkline.rating.money import MoneyError, from_units, to_units

MAX_MONEY = Decimal("999999999.99999")
INT32 = 2**31 - 1


class RateType(StrEnum):
    LOCAL = "LOCAL"
    NATIONAL = "NATIONAL"
    INTERNATIONAL = "INTERNATIONAL"
    MOBILE = "MOBILE"


def five_places(value: Decimal) -> Decimal:
    try:
        to_units(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None
    return value


Money = Annotated[MoneyIn, Field(ge=0, le=MAX_MONEY), AfterValidator(five_places)]
Prefix = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9]+$", description="Dialled-number prefix, digits only")]
Seconds = Annotated[int, Field(ge=0, le=INT32)]
Interval = Annotated[int, Field(ge=1, le=INT32)]
Description = Annotated[str, Field(max_length=1024)]


READ_ONLY = frozenset({"id", "effective_to", "created_at", "updated_at"})
PLAN_HELP = "The rate plan (default: the organization's default plan)"
PERIOD_HELP = "The plan's period this rate is for; null: every period (a rate for the call's period wins)"
FROM_HELP = (
    "When the rate takes effect; null: from the beginning (a prefix's first rate, so older CDRs are priced). A "
    "later rate for the same prefix and period ends this one when it takes effect (effective_to)"
)


class CallRateCreate(Input):
    read_only: ClassVar[frozenset[str]] = READ_ONLY
    rate_plan_id: ApiId | None = Field(None, description=PLAN_HELP)
    currency: Currency | None = Field(None, description="A rate is in its plan's currency: if sent, it must be that one (422 otherwise)")
    prefix: Prefix
    period: PeriodName | None = Field(None, description=PERIOD_HELP)
    effective_from: AwareDatetime | None = Field(None, description=FROM_HELP)
    type: RateType = RateType.LOCAL
    free_seconds: Seconds
    grace_period: Seconds
    interval_1: Interval
    interval_n: Interval
    connect_fee: Money
    postcall_surcharge: Money = Field(description="Fraction added after the call: 0.01 = 1 %")
    price_1: Money = Field(description="Price per minute of the first interval")
    price_n: Money = Field(description="Price per minute of the following intervals")
    description: Description | None = None


class CallRateUpdate(Input):
    read_only: ClassVar[frozenset[str]] = READ_ONLY | {"rate_plan_id"}
    prefix: Prefix | None = None
    period: PeriodName | None = None
    effective_from: AwareDatetime | None = None
    type: RateType | None = None
    free_seconds: Seconds | None = None
    grace_period: Seconds | None = None
    interval_1: Interval | None = None
    interval_n: Interval | None = None
    connect_fee: Money | None = None
    postcall_surcharge: Money | None = None
    price_1: Money | None = None
    price_n: Money | None = None
    description: Description | None = None


class MatchedRate(Output):
    """A rate as it priced a call: the deck's row at that moment."""

    id: ApiId
    prefix: str
    type: RateType
    free_seconds: int
    grace_period: int
    interval_1: int
    interval_n: int
    connect_fee: MoneyOut
    postcall_surcharge: MoneyOut
    price_1: MoneyOut
    price_n: MoneyOut


class CallRate(MatchedRate):
    rate_plan_id: ApiId
    period: str | None = Field(description=PERIOD_HELP)
    effective_from: datetime | None = Field(description="When it takes effect; null: from the beginning")
    effective_to: datetime | None = Field(description="Read-only: when a later rate for the prefix and period took over (or the "
                                          "plan was replaced without it); null: not ended")
    description: str | None
    created_at: datetime
    updated_at: datetime


MONEY_FIELDS = ("connect_fee", "postcall_surcharge", "price_1", "price_n")
CSV_COLUMNS = tuple(name for name in CallRateCreate.model_fields if name not in ("rate_plan_id", "currency"))  # a file names its plan elsewhere


def present(row) -> dict:
    """A stored rate as the API shows it."""
    return {
        "id": ids.encode(row.id),
        "prefix": row.prefix,
        "type": row.type,
        "free_seconds": row.free_seconds,
        "grace_period": row.grace_period,
        "interval_1": row.interval_1,
        "interval_n": row.interval_n,
        "connect_fee": from_units(row.connect_fee),
        "postcall_surcharge": from_units(row.postcall_surcharge),
        "price_1": from_units(row.price_1),
        "price_n": from_units(row.price_n),
        "rate_plan_id": ids.encode(row.plan_id),
        "period": row.period or None,
        "effective_from": None if row.effective_from == EVER else row.effective_from,
        "effective_to": row.effective_to,
        "description": row.description,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


class ExactAmounts(Output):
    """Each amount exactly: a decimal when it has one ("0.0014"), else a reduced fraction ("7/6000")."""

    connect_fee: str
    first_interval_amount: str
    rest_amount: str
    subtotal: str
    surcharge_amount: str


class Breakdown(Output):
    """How a call's cost was built from its rate. Amounts before the one rounding carry up to
    12 places; `cost` is rounded once, half up, to five."""

    prefix: str
    rate_id: ApiId
    type: RateType
    billsec: int
    within_grace: bool = Field(description="Answered within the grace period: free")
    connect_fee: MoneyOut
    first_interval_seconds: int = Field(description="interval_1, charged in full even for shorter calls")
    first_interval_amount: MoneyOut
    free_seconds: int = Field(description="The free seconds this call used")
    rest_seconds: int
    rest_intervals: int = Field(description="rest_seconds rounded up to whole interval_n")
    rest_amount: MoneyOut
    subtotal: MoneyOut
    surcharge_amount: MoneyOut
    cost: MoneyOut
    exact: ExactAmounts


class CallStatus(StrEnum):
    rated = "rated"
    unrated = "unrated"


class Quote(Output):
    success: bool
    guid: str
    number: str
    normalized: str | None
    duration: int
    at: datetime = Field(description="When the call starts: the rates in force then")
    rate_plan_id: ApiId
    period: str | None = Field(description="The plan's period at `at` (null: the plan has none)")
    status: CallStatus
    unrated_reason: str | None
    cost: MoneyOut | None
    rate: MatchedRate | None
    breakdown: Breakdown | None


c = table.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "prefix": query.Field(c.prefix, "str", digits=True),
        "type": query.Field(c.type, "enum", choices=tuple(RateType)),
        "free_seconds": query.Field(c.free_seconds, "int"),
        "grace_period": query.Field(c.grace_period, "int"),
        "interval_1": query.Field(c.interval_1, "int"),
        "interval_n": query.Field(c.interval_n, "int"),
        "connect_fee": query.Field(c.connect_fee, "money"),
        "postcall_surcharge": query.Field(c.postcall_surcharge, "money"),
        "price_1": query.Field(c.price_1, "money"),
        "price_n": query.Field(c.price_n, "money"),
        "rate_plan_id": query.Field(c.plan_id, "id"),
        "period": query.Field(c.period, "str"),
        "effective_from": query.Field(c.effective_from, "datetime"),
        "effective_to": query.Field(c.effective_to, "datetime"),
        "description": query.Field(c.description, "str"),
        "created_at": query.Field(c.created_at, "datetime"),
        "updated_at": query.Field(c.updated_at, "datetime"),
    },
    search=(c.prefix, c.description),
    default_order=("id",),
)
