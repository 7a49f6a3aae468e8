"""Re-rating stored calls: price them again with the current deck and move the totals and the
balances by the difference, so a call is paid for exactly once."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from trunkline.accounts import repository as accounts
from trunkline.accounts.charging import Charge
from trunkline.accounts.schemas import TransactionKind
from trunkline.call_rates.deck_cache import PricedDeck, terms
from trunkline.calls import repository as store
from trunkline.calls.ingest import NO_DESTINATION
from trunkline.rating import Unrated
from trunkline.vendors import service as vendors


def rating_columns(deck: PricedDeck, callee: str, billsec: int, start: datetime, now: datetime) -> dict[str, Any]:
    """A stored call's rating columns, priced again by `deck` as of its start."""
    result = deck.rate_call(callee, billsec, start)
    common = {"rate_plan_id": deck.plan_id, "period": deck.period(start) or None, "rated_at": now}
    if isinstance(result, Unrated):
        return {"rated": False, "unrated_reason": result.reason if callee else NO_DESTINATION, "cost": None, "rate_id": None,
                "prefix": None, "rate_type": None, "breakdown": None, **common}
    rate = result.rate
    return {"rated": True, "unrated_reason": None, "cost": result.cost_units, "rate_id": rate.id,
            "prefix": rate.prefix, "rate_type": rate.type, "breakdown": list(terms(rate)), **common}


_RATING = ("rated", "cost", "rate_id", "breakdown", "rate_plan_id", "period", "vendor_id", "vendor_cost")  # a change of any is written


def vendor_columns(decks: Callable[[int | None], PricedDeck], route: tuple[int, int] | None, callee: str, billsec: int, start: datetime) -> dict[str, Any]:
    """A stored call's vendor (its gateway's, as the vendors are now) and what it charges."""
    if route is None:
        return {"vendor_id": None, "vendor_cost": None}
    result = decks(route[1]).rate_call(callee, billsec, start)
    return {"vendor_id": route[0], "vendor_cost": None if isinstance(result, Unrated) else result.cost_units}


@dataclass
class Rerated:
    calls: int = 0
    changed: int = 0
    cost_before: int = 0
    cost_after: int = 0


def rerate(conn: Connection, org_id: int, decks: Callable[[int | None], PricedDeck], rows: Sequence, now: datetime) -> Rerated:
    """Price stored calls (`rows`, read inside the organization's exclusive turn, see
    `exclusive`) again, each by its account's plan as of its start (`decks` gives a plan's deck),
    in the caller's transaction. Only calls whose result changed are written; the accounts they
    were charged to move by the difference (one ledger entry each)."""
    result = Rerated()
    plan_of = accounts.plans_of(conn, org_id, {row.account_ref for row in rows} - {None})
    routes = vendors.by_gateway(conn, org_id) if any(row.gateway for row in rows) else {}
    refunds: dict[int, Charge] = {}  # account row id: old cost - new cost
    before, after, changes = [], [], []
    for row in rows:
        old = row._asdict()
        new = {**old, **rating_columns(decks(plan_of.get(row.account_ref)), row.callee, row.billsec, row.start_at, now)}
        new.update(vendor_columns(decks, routes.get(row.gateway), row.callee, row.billsec, row.start_at))
        result.calls += 1
        result.cost_before += old["cost"] or 0
        result.cost_after += new["cost"] or 0
        if any(old[name] != new[name] for name in _RATING):
            before.append(old)
            after.append(new)
            changes.append({**new, "call_pk": row.id})
            if row.account_ref is not None:
                refund = refunds.setdefault(row.account_ref, Charge(0, 0))
                refund.amount += (old["cost"] or 0) - (new["cost"] or 0)
                refund.calls += 1
    result.changed = len(changes)
    store.update_ratings(conn, changes)
    store.add_totals(conn, before, sign=-1)
    store.add_totals(conn, after, sign=1)
    accounts.apply(conn, org_id, TransactionKind.rerate, refunds, now)
    return result
