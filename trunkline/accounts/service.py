"""Account policy: an account is priced by sell plans of its own currency, one per service."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from trunkline.accounts import repository as store
from trunkline.kit.failures import Invalid
from trunkline.rate_plans import service as plans


# Each plan an account has, by the service it prices.
_PLANS = {"rate_plan_id": "voice", "sms_rate_plan_id": "sms"}


def _plan(conn: Connection, org_id: int, values: dict[str, Any], currency: str, account=None) -> None:
    """Check each plan the account will be priced by (the one sent, or the one it has): a sell
    plan of the account's currency and of the service the field names; store the ones sent as
    row ids."""
    for name, service in _PLANS.items():
        if values.get(name) is not None:
            plan = plans.given(conn, org_id, values[name], name)
            values[name] = plan.id
        elif account is not None and getattr(account, name) is not None and name not in values:
            plan = plans.find(conn, org_id, getattr(account, name))
        else:
            continue
        if plan.kind != "sell":
            raise Invalid.fields({"name": name, "reason": "a buy plan prices a vendor, not an account"})
        if plan.service != service:
            raise Invalid.fields({"name": name, "reason": f"a {plan.service} plan; {name} takes a {service} plan"})
        if plan.currency != currency:
            raise Invalid.fields({"name": name, "reason": f"the plan is in {plan.currency}, the account in {currency}"})


def create(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    _plan(conn, org_id, values, values["currency"])
    return store.create(conn, org_id, values, now)


def change(conn: Connection, org_id: int, account, values: dict[str, Any], now: datetime) -> None:
    _plan(conn, org_id, values, values.get("currency") or account.currency, account)
    store.change(conn, org_id, account.id, values, now)
