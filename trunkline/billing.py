"""Billing: rate calls against an organization's deck and keep calls and totals in step.

The glue between the pure engine (`trunkline.rating`) and the store. Each stored
call keeps a snapshot of the rate it was priced with, so its breakdown can be
shown exactly later ("why did this call cost that") even after the deck changes.
"""

import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from trunkline import ids
from trunkline.money import from_units
from trunkline.rating import Deck, Rate, Unrated, normalize_number, price, rate_call
from trunkline.schemas.calls import CallIn
from trunkline.store import calls as store
from trunkline.store.tables import call_rates

RATE_FIELDS = tuple(Rate.__dataclass_fields__)


class DeckCache:
    """Each organization's deck, built once and rebuilt only when the deck changes."""

    def __init__(self) -> None:
        self._decks: dict[int, tuple[tuple, Deck]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, org_id: int) -> Deck:
        mine = call_rates.c.org_id == org_id
        version = tuple(conn.execute(select(func.count(), func.max(call_rates.c.updated_at)).where(mine)).one())
        cached = self._decks.get(org_id)
        if cached and cached[0] == version:
            return cached[1]
        with self._lock:
            rows = conn.execute(select(*(call_rates.c[name] for name in RATE_FIELDS)).where(mine)).all()
            deck = Deck(Rate(*row) for row in rows)
            self._decks[org_id] = (version, deck)
        return deck


def snapshot(rate: Rate) -> dict[str, Any]:
    return {name: getattr(rate, name) for name in RATE_FIELDS}


def breakdown(row) -> dict[str, Any] | None:
    """The full itemised cost of a stored call, recomputed exactly from its rate snapshot."""
    if not row.rated or not row.breakdown:
        return None
    return price(Rate(**row.breakdown), row.billsec).as_dict()


def rating_columns(deck: Deck, callee: str, billsec: int, now: datetime) -> dict[str, Any]:
    result = rate_call(deck, callee, billsec)
    if isinstance(result, Unrated):
        return {"rated": False, "unrated_reason": result.reason, "cost": None, "rate_id": None,
                "prefix": None, "rate_type": None, "breakdown": None, "rated_at": now}
    rate = result.rate
    return {"rated": True, "unrated_reason": None, "cost": result.cost_units, "rate_id": rate.id,
            "prefix": rate.prefix, "rate_type": rate.type, "breakdown": snapshot(rate), "rated_at": now}


@dataclass
class Ingested:
    received: int = 0
    stored_ids: list[int] = field(default_factory=list)
    duplicate_call_ids: list[str] = field(default_factory=list)
    unrated: int = 0
    cost_units: int = 0


def ingest(conn: Connection, org_id: int, cdrs: list[CallIn], deck: Deck, now: datetime) -> Ingested:
    """Rate and store a batch in the caller's transaction; CDRs already stored are skipped."""
    result = Ingested(received=len(cdrs))
    fresh: dict[str, CallIn] = {}
    for cdr in cdrs:
        if cdr.call_id in fresh:
            result.duplicate_call_ids.append(cdr.call_id)
        else:
            fresh[cdr.call_id] = cdr
    known = store.existing_call_ids(conn, org_id, list(fresh))
    result.duplicate_call_ids += [call_id for call_id in fresh if call_id in known]
    rows = []
    new_ids = iter(ids.generator.many(len(fresh) - len(known)))
    for cdr in fresh.values():
        if cdr.call_id in known:
            continue
        row = {
            "id": next(new_ids), "org_id": org_id, "call_id": cdr.call_id, "account_id": cdr.account_id,
            "caller": cdr.caller, "callee": cdr.callee, "start_at": cdr.start, "answer_at": cdr.answer,
            "end_at": cdr.end, "duration": cdr.duration, "billsec": cdr.billsec, "disposition": cdr.disposition,
            "hangup_cause": cdr.hangup_cause, "direction": cdr.direction and str(cdr.direction), "created_at": now,
            **rating_columns(deck, cdr.callee, cdr.billsec, now),
        }
        result.unrated += not row["rated"]
        result.cost_units += row["cost"] or 0
        result.stored_ids.append(row["id"])
        rows.append(row)
    store.insert_calls(conn, rows)
    return result


@dataclass
class Rerated:
    calls: int = 0
    changed: int = 0
    cost_before: int = 0
    cost_after: int = 0


def rerate(conn: Connection, org_id: int, deck: Deck, start_date: date, end_date: date, account_id: str | None, now: datetime) -> Rerated:
    """Price the range again with the current deck; only calls whose result changed are written."""
    result = Rerated()
    for chunk in store.in_range(conn, org_id, start_date, end_date, account_id):
        before, after, changes = [], [], []
        for row in chunk:
            old = row._asdict()
            new = {**old, **rating_columns(deck, row.callee, row.billsec, now)}
            result.calls += 1
            result.cost_before += old["cost"] or 0
            result.cost_after += new["cost"] or 0
            if (old["rated"], old["cost"], old["rate_id"], old["breakdown"]) != (new["rated"], new["cost"], new["rate_id"], new["breakdown"]):
                before.append(old)
                after.append(new)
                changes.append({**new, "call_pk": row.id})
        result.changed += len(changes)
        store.update_ratings(conn, changes)
        store.add_totals(conn, before, sign=-1)
        store.add_totals(conn, after, sign=1)
    return result


def quote(deck: Deck, number: str, billsec: int) -> dict[str, Any]:
    """The answer to "what would this call cost", itemised, or why it cannot be priced."""
    result = rate_call(deck, number, billsec)
    base = {"number": number, "normalized": normalize_number(number), "duration": billsec}
    if isinstance(result, Unrated):
        return {**base, "status": "unrated", "unrated_reason": result.reason, "cost": None, "rate": None, "breakdown": None}
    rate = result.rate
    shown = {**snapshot(rate), "id": ids.encode(rate.id)}
    for name in ("connect_fee", "postcall_surcharge", "price_1", "price_n"):
        shown[name] = from_units(shown[name])
    return {**base, "status": "rated", "unrated_reason": None, "cost": from_units(result.cost_units), "rate": shown, "breakdown": result.breakdown.as_dict()}
