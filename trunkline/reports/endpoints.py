"""`/api/reports/call-data`: call counts, billed seconds and cost, grouped."""

import functools
from datetime import date
from typing import Annotated

import msgspec
from fastapi import Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy import Engine

from trunkline.call_rates.schemas import RateType
from trunkline.calls import repository as store
from trunkline.kit.auth import Principal, caller
from trunkline.kit.csvout import stream_csv
from trunkline.kit.errors import ApiError, bad_query
from trunkline.kit.resources import Database
from trunkline.kit.responses import done
from trunkline.kit.routing import resource_router
from trunkline.kit import ids
from trunkline.kit.schema import ApiId, MoneyOut, Output
from trunkline.rating.money import from_units

router = resource_router("/reports", "reports")
SCOPES = ("reports",)  # the scope resources these routes guard
MAX_DAYS = 3660
COLUMN_NAMES = {"account": "account_id", "vendor": "vendor_id"}


class ReportRow(Output):
    day: date | None = None
    account_id: str | None = None
    type: RateType | None = None
    prefix: str | None = None
    disposition: str | None = None
    hangup_cause: str | None = None
    calls: int
    answered: int
    unrated: int
    billsec: int
    cost: MoneyOut | None = Field(
        description="Sum of rated calls' cost; unrated calls are counted in `unrated`. Null when every call of the group is unrated: never priced at 0"
    )
    vendor_id: ApiId | None = Field(None, description="Grouped by vendor: the vendor (null: calls no vendor carried)")
    vendor_cost: MoneyOut | None = Field(None, description="Grouped by vendor: what the vendors charge for the group's calls")
    margin: MoneyOut | None = Field(None, description="Grouped by vendor: cost - vendor_cost over the calls with both known")
    losses: int | None = Field(None, description="Grouped by vendor: calls the vendor charges more for than the customer pays")


class Report(Output):
    success: bool
    guid: str
    data: list[ReportRow]


def _group_by(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in store.GROUPS]
    if unknown or not names or len(set(names)) != len(names):
        raise bad_query([{"name": "group_by", "reason": f"use a comma-separated subset of {', '.join(store.GROUPS)}"}])
    return names


class ReportQuery:
    """The parameters both report routes take (a dependency: one place documents them)."""

    def __init__(
        self,
        start_date: Annotated[date, Query(description="First day, YYYY-MM-DD")],
        end_date: Annotated[date, Query(description="Last day, inclusive")],
        account_id: Annotated[str | None, Query(max_length=64)] = None,
        disposition: Annotated[str | None, Query(max_length=32, description="Only calls with this disposition, e.g. ANSWERED")] = None,
        hangup_cause: Annotated[str | None, Query(max_length=64, description="Only calls with this hangup cause, e.g. NORMAL_CLEARING")] = None,
        group_by: Annotated[
            str,
            Query(description="Comma-separated: day, account, type, prefix, disposition, hangup_cause, vendor (the last three read the "
                  "calls themselves; vendor adds vendor_cost, margin and losses)"),
        ] = "day",
    ) -> None:
        if end_date < start_date:
            raise ApiError(400, "end_date is before start_date", invalidInputVars=[{"name": "end_date", "reason": "before start_date"}])
        if (end_date - start_date).days > MAX_DAYS:
            raise ApiError(400, f"At most {MAX_DAYS} days per report")
        self.start_date, self.end_date, self.account_id = start_date, end_date, account_id
        self.groups = _group_by(group_by)
        self.only = {name: value for name, value in (("disposition", disposition), ("hangup_cause", hangup_cause)) if value is not None}


def _report(db: Engine, org_id: int, asked: ReportQuery) -> tuple[tuple[str, ...], list[msgspec.Struct]]:
    """The report's columns and rows."""
    with db.connect() as conn:
        rows = store.report(conn, org_id, asked.start_date, asked.end_date, asked.account_id, asked.groups, asked.only)
    columns = tuple(COLUMN_NAMES.get(group, group) for group in asked.groups) + store.TOTALS_SUMS
    if "vendor" in asked.groups:
        columns += store.VENDOR_SUMS
    return columns, list(map(_shown(columns), rows))


@functools.cache
def _shown(columns: tuple[str, ...]):
    """How a report row of these columns is shown: money as decimals (cost null when every call
    is unrated), vendors by API id."""
    row_type = _row_type(columns)
    calls, unrated, cost = columns.index("calls"), columns.index("unrated"), columns.index("cost")
    money = [columns.index(name) for name in ("vendor_cost", "margin") if name in columns]
    vendor = columns.index("vendor_id") if "vendor_id" in columns else None

    def shown(row: tuple) -> msgspec.Struct:
        values = list(row)
        values[cost] = from_units(values[cost]) if values[unrated] < values[calls] else None
        for index in money:
            values[index] = from_units(values[index])
        if vendor is not None and values[vendor] is not None:
            values[vendor] = ids.encode(values[vendor])
        return row_type(*values)

    return shown


def _as_csv(columns: tuple[str, ...], data: list[msgspec.Struct]) -> StreamingResponse:
    return StreamingResponse(stream_csv(columns, map(msgspec.structs.astuple, data)), media_type="text/csv")


_CSV = {"schema": {"type": "string", "description": "A header row of the groups and totals, then a row per group"}}


@router.get(
    "/call-data",
    response_model=Report,
    summary="Call-data report",
    description="Totals per group for calls started between start_date and end_date (UTC days, inclusive). "
    "`Accept: text/csv` answers CSV, as `/api/reports/call-data.csv` does.",
)
def call_data(request: Request, db: Database, who: Annotated[Principal, caller("reports.read")], asked: Annotated[ReportQuery, Depends()]):
    columns, data = _report(db, who.org_id, asked)
    if "text/csv" in request.headers.get("accept", ""):
        return _as_csv(columns, data)
    return done(data=data)


@router.get(
    "/call-data.csv",
    summary="Call-data report as CSV",
    description="The same report as `/api/reports/call-data`, as CSV.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": _CSV}, "description": "The report"}},
)
def call_data_csv(db: Database, who: Annotated[Principal, caller("reports.read")], asked: Annotated[ReportQuery, Depends()]):
    return _as_csv(*_report(db, who.org_id, asked))


@functools.cache
def _row_type(columns: tuple[str, ...]) -> type[msgspec.Struct]:
    """A msgspec struct per column set: a report can hold 300,000 rows, and structs are made
    and rendered about four times faster than dicts."""
    return msgspec.defstruct("ReportRow", columns)
