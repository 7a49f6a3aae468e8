"""Re-rating stored calls: price them again with the current deck and move the totals and the
balances by the difference, so a call is paid for exactly once."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from trunkline.accounts import repository as accounts
from trunkline.accounts.charging import Charge
from trunkline.accounts.schemas import TransactionKind
from trunkline.call_rates.deck_cache import terms
from trunkline.calls import repository as store
from trunkline.calls.ingest import NO_DESTINATION
from trunkline.rating import Deck, Unrated, rate_call


def rating_columns(deck: Deck, callee: str, billsec: int, now: datetime) -> dict[str, Any]:
    result = rate_call(deck, callee, billsec)
    if isinstance(result, Unrated):
        return {"rated": False, "unrated_reason": result.reason if callee else NO_DESTINATION, "cost": None, "rate_id": None,
                "prefix": None, "rate_type": None, "breakdown": None, "rated_at": now}
    rate = result.rate
    return {"rated": True, "unrated_reason": None, "cost": result.cost_units, "rate_id": rate.id,
            "prefix": rate.prefix, "rate_type": rate.type, "breakdown": list(terms(rate)), "rated_at": now}


@dataclass
class Rerated:
    calls: int = 0
    changed: int = 0
    cost_before: int = 0
    cost_after: int = 0


def rerate(conn: Connection, org_id: int, deck: Deck, rows: Sequence, now: datetime) -> Rerated:
    """Price stored calls (`rows`, read inside the organization's exclusive turn, see
    `exclusive`) again with `deck`, in the caller's transaction. Only calls whose result changed
    are written; the accounts they were charged to move by the difference (one ledger entry each)."""
    result = Rerated()
    refunds: dict[int, Charge] = {}  # account row id: old cost - new cost
    before, after, changes = [], [], []
    for row in rows:
        old = row._asdict()
        new = {**old, **rating_columns(deck, row.callee, row.billsec, now)}
        result.calls += 1
        result.cost_before += old["cost"] or 0
        result.cost_after += new["cost"] or 0
        if (old["rated"], old["cost"], old["rate_id"], old["breakdown"]) != (new["rated"], new["cost"], new["rate_id"], new["breakdown"]):
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
