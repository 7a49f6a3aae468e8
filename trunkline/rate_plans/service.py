"""Rate-plan policy: schedules that cover the week, plans in use kept, currencies that agree."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from trunkline.kit import ids
from trunkline.kit.failures import Conflict, Invalid, NotFound
from trunkline.rate_plans import repository as store
from trunkline.rate_plans.schemas import windows
from trunkline.rating import ALL_PERIODS, Schedule


def schedule(plan) -> Schedule:
    """A stored plan's schedule, as the rating engine reads it."""
    return Schedule(plan.timezone, windows(plan.periods))


def _checked_periods(values: dict[str, Any], timezone: str) -> None:
    if values.get("periods") is not None:
        try:
            Schedule(timezone, windows(values["periods"]))
        except ValueError as exc:
            raise Invalid.fields({"name": "periods", "reason": str(exc)}) from None


def create(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    _checked_periods(values, values["timezone"])
    return store.create(conn, org_id, values, now)


def change(conn: Connection, org_id: int, plan_id: int, values: dict[str, Any], now: datetime) -> None:
    plan = find(conn, org_id, plan_id)
    _checked_periods(values, values.get("timezone") or plan.timezone)
    if values.get("periods") is not None:
        kept = {window["period"] for window in values["periods"]}
        dropped = sorted(store.periods_used(conn, plan_id) - kept - {ALL_PERIODS})
        if dropped:
            raise Conflict(f"Rates of this plan are given for period(s) {', '.join(dropped)}: change or delete them first", code="PERIOD_IN_USE")
    if values.get("kind") is not None and values["kind"] != plan.kind:
        reason = store.in_use(conn, org_id, plan_id, as_kind=plan.kind)
        if reason:
            raise Conflict(f"The plan stays a {plan.kind} plan: {reason}", code="PLAN_IN_USE")
    if values.get("currency") is not None:
        others = store.currencies_of_accounts(conn, org_id, plan_id) - {values["currency"]}
        if others:
            raise Invalid.fields({"name": "currency", "reason": f"accounts in {', '.join(sorted(others))} are priced by this plan"})
    store.change(conn, org_id, plan_id, values, now)


def remove(conn: Connection, org_id: int, plan_id: int) -> None:
    find(conn, org_id, plan_id)
    if plan_id == org_id:
        raise Conflict("The default plan cannot be deleted", code="PLAN_IN_USE")
    reason = store.in_use(conn, org_id, plan_id)
    if reason:
        raise Conflict(f"The rate plan cannot be deleted: {reason}", code="PLAN_IN_USE")
    store.remove(conn, org_id, plan_id)


def given(conn: Connection, org_id: int, api_id: str, field: str = "rate_plan_id"):
    """The organization's plan a body names by its API id in `field`; 422 when it has none."""
    row = store.find(conn, org_id, ids.decode(api_id) or -1)
    if row is None:
        raise Invalid.fields({"name": field, "reason": "no such rate plan"})
    return row


def find(conn: Connection, org_id: int, plan_id: int | None):
    """The organization's plan `plan_id` (its default plan when None); NotFound otherwise."""
    row = store.find(conn, org_id, org_id if plan_id is None else plan_id)
    if row is None:
        raise NotFound("Rate plan")
    return row
