"""Invoices: the issuing body, the invoice and its lines as the API shows them, and the fields a
list filters and sorts. Money has five places, as everywhere; billed time is kept in seconds and
shown beside it in minutes, rounded half up to two places."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field, WithJsonSchema
from sqlalchemy import String, cast, func

from trunkline.db.tables import invoices as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, MoneyOut, Output
from trunkline.rating.money import from_units


class InvoiceStatus(StrEnum):
    issued = "issued"  # the only state: an issued invoice never changes


class LineKind(StrEnum):
    usage = "usage"  # the month's calls to one destination
    adjustment = "adjustment"  # what earlier calls' cost became since the previous invoice
    credit = "credit"  # a top-up or adjustment of the ledger in the month
    messages = "messages"  # the SMS charged in the month, less what was refunded in it


Period = Annotated[
    str,
    Field(pattern=r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$", description="The calendar month, YYYY-MM, in the account's timezone", examples=["2026-03"]),
]


class InvoiceCreate(Input):
    account_id: Annotated[str, Field(min_length=1, max_length=64, description="The account's id, or its code (account_id)")]
    period: Period


class InvoiceLine(Output):
    position: int
    kind: LineKind
    description: str = Field(description="usage: the rate's description (its prefix when it has none)")
    prefix: str | None
    calls: int | None
    seconds: int | None = Field(description="Billed seconds")
    minutes: Annotated[Decimal, WithJsonSchema({"type": "number"})] | None = Field(description="Billed seconds / 60, rounded half up to two places")
    amount: MoneyOut = Field(description="credit: added to the balance")


class Invoice(Output):
    id: ApiId
    number: int = Field(description="1, 2, 3 … per organization, without gaps")
    issuer: str = Field(description="The organization's name when issued")
    account: ApiId = Field(description="The account's id")
    account_id: str = Field(description="The account's code when issued")
    account_name: str
    period: str = Field(description="YYYY-MM")
    period_start: date = Field(description="First day (filter as a 'YYYY-MM-DD' string)")
    period_end: date = Field(description="Last day, inclusive")
    timezone: str = Field(description="The account's timezone when issued: where the month began and ended")
    currency: str
    status: InvoiceStatus
    calls: int = Field(description="Rated calls billed in the month")
    seconds: int = Field(description="Their billed seconds")
    unrated_calls: int = Field(description="Answered calls of the month that no rate priced: not billed, never at 0")
    usage: MoneyOut = Field(description="Sum of the usage lines")
    adjustment: MoneyOut = Field(description="Change since the previous invoice in the cost of earlier calls (re-rated, late, months skipped)")
    subtotal: MoneyOut = Field(description="usage + adjustment")
    tax_rate: MoneyOut = Field(description="A fraction: 0.2 = 20 %")
    tax: MoneyOut = Field(description="subtotal × tax_rate, rounded half up (away from zero) to five places")
    total: MoneyOut = Field(description="subtotal + tax")
    credits: MoneyOut = Field(description="Top-ups and ledger adjustments in the month")
    due: MoneyOut = Field(description="total − credits; negative: in credit")
    issued_at: datetime


class InvoiceDetail(Invoice):
    lines: list[InvoiceLine] = Field(description="Usage by destination, then the adjustment, then credits")


def minutes(seconds: int) -> Decimal:
    return (Decimal(seconds) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)


def percent(rate: Decimal) -> str:
    """A tax rate for people: 0.2 as "20 %"."""
    return f"{(rate * 100).normalize():f} %"


def present(row) -> dict:
    """A stored invoice as the API shows it (without its lines)."""
    return {
        "id": ids.encode(row.id),
        "number": row.number,
        "issuer": row.issuer,
        "account": ids.encode(row.account_ref),
        "account_id": row.account_code,
        "account_name": row.account_name,
        "period": row.period_start.isoformat()[:7],
        "period_start": row.period_start,
        "period_end": row.period_end,
        "timezone": row.timezone,
        "currency": row.currency,
        "status": row.status,
        "calls": row.calls,
        "seconds": row.seconds,
        "unrated_calls": row.unrated_calls,
        **{name: from_units(getattr(row, name)) for name in ("usage", "adjustment", "subtotal", "tax_rate", "tax", "total", "credits")},
        "due": from_units(row.total - row.credits),
        "issued_at": row.issued_at,
    }


def present_line(row) -> dict:
    return {
        "position": row.position,
        "kind": row.kind,
        "description": row.description,
        "prefix": row.prefix,
        "calls": row.calls,
        "seconds": row.seconds,
        "minutes": None if row.seconds is None else minutes(row.seconds),
        "amount": from_units(row.amount),
    }


c = table.c
_DAY = {name: cast(c[name], String) for name in ("period_start", "period_end")}  # 'YYYY-MM-DD' on both backends
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "number": query.Field(c.number, "int"),
        "issuer": query.Field(c.issuer, "str"),
        "account": query.Field(c.account_ref, "id"),
        "account_id": query.Field(c.account_code, "str"),
        "account_name": query.Field(c.account_name, "str"),
        "period": query.Field(func.substr(_DAY["period_start"], 1, 7), "str"),
        "period_start": query.Field(_DAY["period_start"], "str"),
        "period_end": query.Field(_DAY["period_end"], "str"),
        "timezone": query.Field(c.timezone, "str"),
        "currency": query.Field(c.currency, "str"),
        "status": query.Field(c.status, "enum", choices=tuple(InvoiceStatus)),
        "calls": query.Field(c.calls, "int"),
        "seconds": query.Field(c.seconds, "int"),
        "unrated_calls": query.Field(c.unrated_calls, "int"),
        **{name: query.Field(c[name], "money") for name in ("usage", "adjustment", "subtotal", "tax_rate", "tax", "total", "credits")},
        "due": query.Field(c.total - c.credits, "money"),
        "issued_at": query.Field(c.issued_at, "datetime"),
    },
    search=(c.account_code, c.account_name),
    default_order=("id",),
)
