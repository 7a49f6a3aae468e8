"""Vendor policy: a vendor charges by a buy plan, and a gateway name routes to one vendor."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from trunkline.kit.failures import Conflict, Invalid, NotFound
from trunkline.rate_plans import service as plans
from trunkline.vendors import repository as store


def _checked(conn: Connection, org_id: int, values: dict[str, Any], vendor_id: int | None) -> dict[str, Any]:
    """Values to store: the plan as its row id (a buy plan of the organization, else 422), and
    gateways no other vendor has (409 naming them)."""
    values = dict(values)
    if values.get("rate_plan_id") is not None:
        plan = plans.given(conn, org_id, values["rate_plan_id"])
        if plan.kind != "buy":
            raise Invalid.fields({"name": "rate_plan_id", "reason": "a vendor charges by a buy plan; this one is a sell plan"})
        if plan.service != "voice":
            raise Invalid.fields({"name": "rate_plan_id", "reason": "a vendor's calls are priced by a voice plan; this one prices messages"})
        values["rate_plan_id"] = plan.id
    if values.get("gateways") is not None:
        values["gateways"] = list(dict.fromkeys(values["gateways"]))
        taken = sorted({gateway for vendor in store.every(conn, org_id) if vendor.id != vendor_id for gateway in vendor.gateways} & set(values["gateways"]))
        if taken:
            raise Conflict(f"Gateway(s) {', '.join(taken)} already route to another vendor", code="GATEWAY_TAKEN")
    return values


def create(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    return store.create(conn, org_id, _checked(conn, org_id, values, None), now)


def change(conn: Connection, org_id: int, vendor_id: int, values: dict[str, Any], now: datetime) -> None:
    find(conn, org_id, vendor_id)
    store.change(conn, org_id, vendor_id, _checked(conn, org_id, values, vendor_id), now)


def remove(conn: Connection, org_id: int, vendor_id: int) -> None:
    find(conn, org_id, vendor_id)
    if store.carried_calls(conn, org_id, vendor_id):
        raise Conflict("The vendor carried stored calls: it stays, so their costs keep their vendor", code="VENDOR_IN_USE")
    store.remove(conn, org_id, vendor_id)


def find(conn: Connection, org_id: int, vendor_id: int):
    row = store.find(conn, org_id, vendor_id)
    if row is None:
        raise NotFound("Vendor")
    return row


def by_gateway(conn: Connection, org_id: int) -> dict[str, tuple[int, int]]:
    """The organization's gateway names, each as (vendor id, its buy plan id)."""
    return {gateway: (vendor.id, vendor.rate_plan_id) for vendor in store.every(conn, org_id) for gateway in vendor.gateways}
