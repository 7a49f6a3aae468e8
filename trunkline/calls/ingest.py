"""Ingest: rate a batch of CDRs against the organization's deck and store it with its
totals and charges, in one transaction.

Each stored call keeps the rate it was priced with (rate_id, prefix, rate_type, and its pricing
terms in `breakdown`), so its breakdown can be shown exactly later ("why did this call cost
that") even after the deck changes. Batches are priced by `BulkRater` (identical to `rate_call`
row for row) and written as column lists, so a 10,000-CDR batch costs a few Python operations
per call, not a dict and a scalar rating each. Calls whose account_id names one of the
organization's accounts are charged to it in the same transaction (see `accounts.charging`).
"""

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import psycopg
from psycopg.errors import DeadlockDetected
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from trunkline.accounts import repository as accounts
from trunkline.accounts.charging import Charge, charges
from trunkline.accounts.schemas import TransactionKind
from trunkline.call_rates.deck_cache import DeckCache, PricedDeck
from trunkline.calls import repository as store
from trunkline.calls.locks import one_batch_at_a_time, writing
from trunkline.calls.parsing import Cdr
from trunkline.calls.schemas import CallIn, present
from trunkline.db.tables import calls
from trunkline.kit import ids
from trunkline.kit.clock import utcnow
from trunkline.rating import RATED, REASONS, epoch_us
from trunkline.vendors import service as vendors
from trunkline.webhooks import outbox

NO_DESTINATION = "no_destination"  # a switch CDR with no dialled number
NOT_BILLED_LEG = "not_billed_leg"  # a leg its endpoint does not bill: the call's other leg is billed
CALL_RATED = "call.rated"  # the webhook event of each rated call


@dataclass
class Ingested:
    received: int = 0
    stored_ids: list[int] = field(default_factory=list)
    duplicate_call_ids: list[str] = field(default_factory=list)
    unrated: int = 0
    cost_units: int = 0
    not_billed: int = 0
    held_ids: list[int] = field(default_factory=list)  # records kept unread (see Incoming.also)


@dataclass
class Incoming:
    """A batch with what comes along it: whether each CDR is billed (None: all are), how many
    records could not be read (counted as received), and `also`, what else to write in the
    batch's own transaction once its calls are (a push holds its unreadable records)."""

    calls: Sequence[CallIn | Cdr]
    billed: list[bool] | None = None
    unread: int = 0
    also: Callable[[Connection, Ingested, datetime], None] | None = None


@dataclass
class Planned:
    """A batch rated and ready to write: the outcome, the prepared rows (None: nothing new) and
    what to charge to which account (see `accounts.charging`)."""

    result: Ingested
    calls: store.PreparedCalls | None
    org_id: int = 0
    now: datetime | None = None
    charges: dict[int, Charge] = field(default_factory=dict)
    incoming: Incoming | None = None
    columns: dict[str, list] | None = None  # the new calls' columns (see `call_columns`)


def ingest(conn: Connection, org_id: int, cdrs: Sequence[CallIn | Cdr] | Incoming, decks: DeckCache, now: datetime) -> Ingested:
    """Rate and store a batch in the caller's transaction; CDRs already stored are skipped."""
    return write(conn, plan(conn, org_id, cdrs, PlanDecks(decks, conn, org_id), now))


# Another batch (another worker, `trunkline calls import`) stored one of our call_ids after we
# looked: the unique constraint refuses ours (PostgreSQL may call it a deadlock when two batches
# insert the same ones in a different order). Run again, alone; they are duplicates now.
CONFLICTS = (IntegrityError, DeadlockDetected, psycopg.IntegrityError, sqlite3.IntegrityError)


def ingest_batch(engine: Engine, decks: DeckCache, org_id: int, read: Callable[[], Sequence[CallIn | Cdr] | Incoming]) -> Ingested:
    """`ingest` of the batch `read` returns (its parser: see `locks.one_batch_at_a_time`), in a
    transaction of its own, as POST /api/calls does (see `ingest_together`)."""
    return ingest_together(engine, decks, org_id, lambda: [as_incoming(read())])[0]


def ingest_together(engine: Engine, decks: DeckCache, org_id: int, read: Callable[[], list[Incoming]]) -> list[Ingested]:
    """The batches `read` returns, rated and stored in one transaction, each with its own
    outcome (see `group_commit`); a call_id twice among them is stored once, for the first.

    Planned (reads, rating, rows made ready) before the organization's write turn, and written
    in it. When a concurrent batch stored some of the same call_ids meanwhile, the write fails
    on the unique constraint and nothing is kept; the batches are then planned again inside the
    turn, taken alone, where nothing else can store a call, so the second attempt cannot
    collide. (Looking again at the call_ids inside every turn instead cost 10,000 index probes
    per batch in the turn that SQLite's writers queue for.)"""
    with one_batch_at_a_time(engine):
        batches = read()
        merged = batches[0] if len(batches) == 1 else merge(batches)
        alone = False
        while True:
            try:
                with engine.connect() as conn:
                    plans = PlanDecks(decks, conn, org_id)
                    if not alone:
                        planned = plan(conn, org_id, merged, plans, utcnow())
                    with writing(conn, org_id, alone):
                        if alone:
                            planned = plan(conn, org_id, merged, plans, utcnow())
                        try:
                            outcomes = write_each(conn, planned, batches)
                        except CONFLICTS:
                            conn.rollback()  # before the turn passes on: SQLite holds its write lock until then
                            raise
                        conn.commit()
                    return outcomes
            except CONFLICTS:
                if alone:
                    raise
                alone = True


def as_incoming(cdrs: Sequence[CallIn | Cdr] | Incoming) -> Incoming:
    return cdrs if isinstance(cdrs, Incoming) else Incoming(cdrs)


def merge(batches: list[Incoming]) -> Incoming:
    """One batch of all the calls of `batches`, in order; what each writes `also` is left to
    `write_each`, which knows each one's own outcome."""
    billed = None
    if any(batch.billed is not None for batch in batches):
        billed = [flag for batch in batches for flag in (batch.billed or [True] * len(batch.calls))]
    return Incoming([cdr for batch in batches for cdr in batch.calls], billed, sum(batch.unread for batch in batches))


def write_each(conn: Connection, planned: Planned, batches: list[Incoming]) -> list[Ingested]:
    """Store the merged plan of `batches`, then what each batch writes `also` with its outcome."""
    if len(batches) == 1:
        return [write(conn, planned)]
    write(conn, planned)
    outcomes = split(planned, batches)
    for batch, outcome in zip(batches, outcomes):
        if batch.also is not None:
            batch.also(conn, outcome, planned.now)
    return outcomes


def split(planned: Planned, batches: list[Incoming]) -> list[Ingested]:
    """Each batch's share of a merged plan: a call_id is stored for the first batch that has it,
    and a duplicate for every other."""
    columns = planned.columns or {"call_id": []}
    unclaimed = {call_id: index for index, call_id in enumerate(columns["call_id"])}
    outcomes = []
    for batch in batches:
        outcome = Ingested(received=len(batch.calls) + batch.unread)
        for cdr in batch.calls:
            index = unclaimed.pop(cdr.call_id, None)
            if index is None:
                outcome.duplicate_call_ids.append(cdr.call_id)
                continue
            outcome.stored_ids.append(columns["id"][index])
            if not columns["billed"][index]:
                outcome.not_billed += 1
            elif not columns["rated"][index]:
                outcome.unrated += 1
            else:
                outcome.cost_units += columns["cost"][index]
        outcomes.append(outcome)
    return outcomes


class PlanDecks:
    """The decks of the organization's plans as of one connection, each looked up once."""

    def __init__(self, decks: DeckCache, conn: Connection, org_id: int) -> None:
        self._decks, self._conn, self._org_id = decks, conn, org_id
        self._found: dict[int | None, PricedDeck] = {}

    def __call__(self, plan_id: int | None) -> PricedDeck:
        deck = self._found.get(plan_id)
        if deck is None:
            deck = self._found[plan_id] = self._decks.get(self._conn, self._org_id, plan_id)
        return deck


def plan(conn: Connection, org_id: int, cdrs: Sequence[CallIn | Cdr] | Incoming, decks: Callable[[int | None], PricedDeck], now: datetime) -> Planned:
    """Everything `ingest` does short of writing: find the duplicates, rate the rest, prepare the rows."""
    incoming = as_incoming(cdrs)
    cdrs = incoming.calls
    flags = incoming.billed or [True] * len(cdrs)
    result = Ingested(received=len(cdrs) + incoming.unread)
    call_ids = [cdr.call_id for cdr in cdrs]
    if len(set(call_ids)) == len(call_ids):
        fresh = dict(zip(call_ids, zip(cdrs, flags)))
    else:
        fresh = {}
        for cdr, billed in zip(cdrs, flags):
            if cdr.call_id in fresh:
                result.duplicate_call_ids.append(cdr.call_id)
            else:
                fresh[cdr.call_id] = (cdr, billed)
    known = store.existing_call_ids(conn, org_id, list(fresh))
    result.duplicate_call_ids += [call_id for call_id in fresh if call_id in known]
    new = [pair for call_id, pair in fresh.items() if call_id not in known]
    if not new:
        return Planned(result, None, org_id, now, incoming=incoming)
    refs = accounts.refs(conn, org_id, {cdr.account_id for cdr, _ in new} - {None})
    billed = [flag for _, flag in new] if incoming.billed else None
    fresh_cdrs = [cdr for cdr, _ in new]
    routes = vendors.by_gateway(conn, org_id) if any(cdr.gateway for cdr in fresh_cdrs) else None
    columns = call_columns(org_id, fresh_cdrs, decks, now, refs, billed, routes)
    result.stored_ids = columns["id"]
    result.not_billed = columns["billed"].count(False)
    result.unrated = columns["rated"].count(False) - result.not_billed
    result.cost_units = sum(filter(None, columns["cost"]))
    return Planned(result, store.prepare_calls(conn, columns), org_id, now, charges(columns) if refs else {}, incoming, columns)


def write(conn: Connection, planned: Planned) -> Ingested:
    """Store a planned batch in the caller's transaction; a call_id stored since `plan` looked
    fails the unique constraint (`CONFLICTS`)."""
    if planned.calls is not None:
        store.write_calls(conn, planned.calls)
        accounts.apply(conn, planned.org_id, TransactionKind.calls, planned.charges, planned.now)
        announce_rated(conn, planned)
    if planned.incoming is not None and planned.incoming.also is not None:
        planned.incoming.also(conn, planned.result, planned.now)
    return planned.result


def announce_rated(conn: Connection, planned: Planned) -> None:
    """`call.rated` for each call of the batch that was rated, as `GET /api/calls/{id}` shows it;
    nothing is read when no webhook takes the event (the ingest hot path pays a dictionary lookup)."""
    if not outbox.subscribed(conn, planned.org_id, CALL_RATED):
        return
    rated = [call_id for call_id, ok in zip(planned.columns["id"], planned.columns["rated"], strict=True) if ok]
    for chunk in range(0, len(rated), 1000):
        for row in conn.execute(select(calls).where(calls.c.id.in_(rated[chunk:chunk + 1000])).order_by(calls.c.id)):
            outbox.publish(conn, planned.org_id, CALL_RATED, present(row), planned.now)


def call_columns(
    org_id: int,
    cdrs: Sequence[CallIn | Cdr],
    decks: Callable[[int | None], PricedDeck],
    now: datetime,
    refs: dict[str, tuple[int, int | None]] | None = None,
    billed: list[bool] | None = None,
    routes: dict[str, tuple[int, int]] | None = None,
) -> dict[str, list]:
    """The `calls` columns for new CDRs, priced as a batch (see `repository.prepare_calls`) by
    the plan of the account each is charged to (`refs`: account code -> (row id, plan id); the
    default plan for the rest), at its start, and by its vendor's buy plan (`routes`: gateway ->
    (vendor id, plan id)). A call `billed` marks False is stored unrated (`not_billed_leg`), and
    one with no dialled number unrated (`no_destination`)."""
    size = len(cdrs)
    billsec = [cdr.billsec for cdr in cdrs]
    callees = [cdr.callee for cdr in cdrs]
    codes = [cdr.account_id for cdr in cdrs]
    accounts_of = [refs.get(code, (None, None)) for code in codes] if refs else [(None, None)] * size
    plan_ids = [plan_id for _, plan_id in accounts_of]
    rated, reasons, costs, matched, terms, plan_of, periods = priced_by_plan(cdrs, callees, billsec, plan_ids, decks)
    if billed is not None or not all(callees):
        billed = billed or [True] * size
        for index, (callee, bill) in enumerate(zip(callees, billed)):
            if not bill or not callee:
                rated[index] = False
                reasons[index] = NOT_BILLED_LEG if not bill else NO_DESTINATION
    vendor_of, vendor_cost = vendor_costs(cdrs, callees, billsec, routes, decks) if routes else ([None] * size, [None] * size)
    return {
        "id": ids.generator.many(size),
        "org_id": [org_id] * size,
        "call_id": [cdr.call_id for cdr in cdrs],
        "account_id": codes,
        "account_ref": [ref for ref, _ in accounts_of],
        "caller": [cdr.caller for cdr in cdrs],
        "callee": callees,
        "start_at": [cdr.start for cdr in cdrs],
        "answer_at": [cdr.answer for cdr in cdrs],
        "end_at": [cdr.end for cdr in cdrs],
        "duration": [cdr.duration for cdr in cdrs],
        "billsec": billsec,
        "disposition": [cdr.disposition for cdr in cdrs],
        "hangup_cause": [cdr.hangup_cause for cdr in cdrs],
        "direction": [cdr.direction and cdr.direction.value for cdr in cdrs],
        "rated": rated,
        "unrated_reason": reasons,
        "cost": [cost if ok else None for cost, ok in zip(costs, rated)],
        "rate_id": [rate.id if rate and ok else None for rate, ok in zip(matched, rated)],
        "prefix": [rate.prefix if rate and ok else None for rate, ok in zip(matched, rated)],
        "rate_type": [rate.type if rate and ok else None for rate, ok in zip(matched, rated)],
        "breakdown": [text if ok else None for text, ok in zip(terms, rated)],
        "rate_plan_id": plan_of,
        "period": periods,
        "gateway": [cdr.gateway for cdr in cdrs],
        "vendor_id": vendor_of,
        "vendor_cost": vendor_cost,
        "created_at": [now] * size,
        "rated_at": [now] * size,
        "leg": [cdr.leg and cdr.leg.value for cdr in cdrs],
        "linked_id": [cdr.linked_id for cdr in cdrs],
        "billed": billed or [True] * size,
    }


def vendor_costs(cdrs, callees: list[str], billsec: list[int], routes: dict[str, tuple[int, int]], decks: Callable[[int | None], PricedDeck]) -> tuple[list, list]:
    """Per call: the vendor its gateway names, and what the vendor's buy plan charges for it (None
    when the plan has no rate for it)."""
    size = len(cdrs)
    vendor_of, cost = [None] * size, [None] * size
    carried = [index for index, cdr in enumerate(cdrs) if cdr.gateway in routes]
    if carried:
        plans = [routes[cdrs[index].gateway][1] for index in carried]
        rated, _, costs, *_ = priced_by_plan([cdrs[i] for i in carried], [callees[i] for i in carried], [billsec[i] for i in carried], plans, decks)
        for index, ok, units in zip(carried, rated, costs):
            vendor_of[index] = routes[cdrs[index].gateway][0]
            cost[index] = units if ok else None
    return vendor_of, cost


def priced_by_plan(cdrs, callees: list[str], billsec: list[int], plan_ids: list[int | None], decks: Callable[[int | None], PricedDeck]) -> tuple[list, ...]:
    """Per call: rated, unrated reason, cost, matched rate, terms JSON, plan id and period, each
    plan's calls rated as one batch at their starts."""
    size = len(cdrs)
    groups: dict[int | None, list[int] | range] = {}
    if plan_ids.count(plan_ids[0]) == size:  # one plan for the whole batch, as most are
        groups[plan_ids[0]] = range(size)
    else:
        for index, plan_id in enumerate(plan_ids):
            groups.setdefault(plan_id, []).append(index)
    status, label, cost = np.empty(size, np.int8), np.empty(size, np.int64), np.empty(size, np.int64)
    deck_of, periods = [None] * size, [None] * size
    for plan_id, rows in groups.items():
        deck = decks(plan_id)
        every = len(rows) == size
        numbers = np.array(callees if every else [callees[i] for i in rows], dtype=str)
        seconds = np.array(billsec if every else [billsec[i] for i in rows], dtype=np.int64)
        starts = None if deck.plan.timeless else np.fromiter((epoch_us(cdrs[i].start) for i in rows), np.int64, len(rows))
        schedule = deck.plan.schedule
        in_period = schedule.periods_at(starts) if schedule.windows else None
        result = deck.rater.rate(numbers, seconds, starts, in_period)
        if every:
            status, label, cost, deck_of = result.status, result.rate_index, result.cost_units, [deck] * size
        else:
            status[rows], label[rows], cost[rows] = result.status, result.rate_index, result.cost_units
            for index in rows:
                deck_of[index] = deck
        if in_period is not None:
            for index, period in zip(rows, in_period.tolist()):
                periods[index] = schedule.names[period]
    rated = (status == RATED).tolist()
    labels = label.tolist()
    reasons = [None if ok else REASONS[code] for code, ok in zip(status.tolist(), rated)]
    matched = [deck.rates[at] if ok else None for deck, at, ok in zip(deck_of, labels, rated)]
    terms = [deck.terms_json(at) if ok else None for deck, at, ok in zip(deck_of, labels, rated)]
    return rated, reasons, cost.tolist(), matched, terms, [deck.plan_id for deck in deck_of], periods
