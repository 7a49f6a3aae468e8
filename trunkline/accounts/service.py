"""Account policy: an account is priced by a sell plan of its own currency."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from trunkline.accounts import repository as store
from trunkline.kit.failures import Invalid
from trunkline.rate_plans import service as plans


def _plan(conn: Connection, org_id: int, values: dict[str, Any], currency: str, plan_id: int | None) -> None:
    """Check the plan the account will be priced by (the one sent, or the one it has), and
    store the one sent as its row id."""
    if values.get("rate_plan_id") is not None:
        plan = plans.given(conn, org_id, values["rate_plan_id"])
        values["rate_plan_id"] = plan.id
    elif plan_id is not None:
        plan = plans.find(conn, org_id, plan_id)
    else:
        return
    if plan.kind != "sell":
        raise Invalid.fields({"name": "rate_plan_id", "reason": "a buy plan prices a vendor, not an account"})
    if plan.currency != currency:
        raise Invalid.fields({"name": "rate_plan_id", "reason": f"the plan is in {plan.currency}, the account in {currency}"})


def create(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    _plan(conn, org_id, values, values["currency"], None)
    return store.create(conn, org_id, values, now)


def change(conn: Connection, org_id: int, account, values: dict[str, Any], now: datetime) -> None:
    _plan(conn, org_id, values, values.get("currency") or account.currency, account.rate_plan_id)
    store.change(conn, org_id, account.id, values, now)
