"""Call-rate bodies and output, their fields and bounds."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from trunkline.db.tables import call_rates as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, MoneyIn, MoneyOut, Output
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


class CallRateCreate(Input):
    prefix: Prefix
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
    prefix: Prefix | None = None
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
    description: str | None
    created_at: datetime
    updated_at: datetime


MONEY_FIELDS = ("connect_fee", "postcall_surcharge", "price_1", "price_n")
CSV_COLUMNS = tuple(name for name in CallRateCreate.model_fields)


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
        "description": query.Field(c.description, "str"),
        "created_at": query.Field(c.created_at, "datetime"),
        "updated_at": query.Field(c.updated_at, "datetime"),
    },
    search=(c.prefix, c.description),
    default_order=("id",),
)
