"""Billing: rate calls against an organization's deck and keep calls and totals in step.

The glue between the pure engine (`trunkline.rating`) and the store. Each stored
call keeps the rate it was priced with (rate_id, prefix, rate_type, and its pricing
terms in `breakdown`), so its breakdown can be shown exactly later ("why did this call
cost that") even after the deck changes.

Batches are priced by `BulkRater` (identical to `rate_call` row for row) and
written as column lists, so a 10,000-CDR batch costs a few Python operations per
call, not a dict and a scalar rating each.

Calls whose account_id names one of the organization's accounts are charged to it in
the same transaction: each call keeps the account row (`account_ref`), and the batch
moves each account's balance once, with one ledger entry per account. Re-rating moves
the balances of those accounts by the change in cost, so a call is paid for exactly once.
"""

import fcntl
import os
import operator
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import numpy as np
import psycopg
from psycopg.errors import DeadlockDetected
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import IntegrityError

from trunkline import ids
from trunkline.clock import utcnow
from trunkline.cdrs import Cdr
from trunkline.money import from_units
from trunkline.rating import INVALID_NUMBER, NO_MATCHING_PREFIX, REASONS, Breakdown, BulkRater, Deck, Rate, Unrated, max_seconds, normalize_number, price, rate_call
from trunkline.schemas.accounts import TransactionKind
from trunkline.schemas.calls import CallIn
from trunkline.store import accounts, quarantine
from trunkline.store import calls as store
from trunkline.store.tables import call_rates, organizations

RATE_FIELDS = tuple(Rate.__dataclass_fields__)
# A call's `breakdown` column: the rate's pricing terms as a JSON array in this order. The
# rest of the rate (id, prefix, type) is in the call's own columns; a JSON object of all of it
# was 200 of the row's ~450 bytes, written for every call.
TERMS = tuple(name for name in RATE_FIELDS if name not in ("id", "prefix", "type"))
_encode = msgspec.json.Encoder().encode


class PricedDeck(Deck):
    """A deck with what batch pricing needs, made on first use: its `BulkRater` and
    each rate's terms as JSON text (the `breakdown` column)."""

    __slots__ = ("_rater", "_terms", "_lock")

    def __init__(self, rates) -> None:
        super().__init__(rates)
        self._rater: BulkRater | None = None
        self._terms: dict[int, str] = {}
        self._lock = threading.Lock()

    @property
    def rater(self) -> BulkRater:
        if self._rater is None:
            with self._lock:
                if self._rater is None:
                    self._rater = BulkRater(self)
        return self._rater

    def terms_json(self, index: int) -> str:
        text = self._terms.get(index)
        if text is None:
            text = self._terms[index] = _encode(terms(self.rates[index])).decode()
        return text


class DeckCache:
    """Each organization's deck, built once and rebuilt only when the deck changes."""

    def __init__(self) -> None:
        self._decks: dict[int, tuple[int, PricedDeck]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, org_id: int) -> PricedDeck:
        """The deck as of `conn`'s view: every call-rate write bumps the organization's deck_version."""
        version = conn.execute(select(organizations.c.deck_version).where(organizations.c.id == org_id)).scalar()
        cached = self._decks.get(org_id)
        if cached and cached[0] == version:
            return cached[1]
        with self._lock:
            rows = conn.execute(select(*(call_rates.c[name] for name in RATE_FIELDS)).where(call_rates.c.org_id == org_id)).all()
            deck = PricedDeck(Rate(*row) for row in rows)
            self._decks[org_id] = (version, deck)
        return deck


terms = operator.attrgetter(*TERMS)  # a rate's terms as a tuple, in TERMS order


def breakdown(row) -> dict[str, Any] | None:
    """The full itemised cost of a stored call, recomputed exactly from the rate it kept."""
    if not row.rated or not row.breakdown:
        return None
    return shown_breakdown(price(Rate(row.rate_id, row.prefix, row.rate_type, *row.breakdown), row.billsec))


def shown_breakdown(itemised: Breakdown) -> dict[str, Any]:
    """A breakdown as the API shows it: the rate's API id, money as Decimal."""
    return {**itemised.as_dict(), "rate_id": ids.encode(itemised.rate_id)}


def rating_columns(deck: Deck, callee: str, billsec: int, now: datetime) -> dict[str, Any]:
    result = rate_call(deck, callee, billsec)
    if isinstance(result, Unrated):
        return {"rated": False, "unrated_reason": result.reason if callee else NO_DESTINATION, "cost": None, "rate_id": None,
                "prefix": None, "rate_type": None, "breakdown": None, "rated_at": now}
    rate = result.rate
    return {"rated": True, "unrated_reason": None, "cost": result.cost_units, "rate_id": rate.id,
            "prefix": rate.prefix, "rate_type": rate.type, "breakdown": list(terms(rate)), "rated_at": now}


NO_DESTINATION = "no_destination"  # a switch CDR with no dialled number
NOT_BILLED_LEG = "not_billed_leg"  # a leg its endpoint does not bill: the call's other leg is billed


@dataclass
class Incoming:
    """A batch as a switch push brings it: the CDRs that could be read, whether each is billed
    (None: all are), the records to hold in the quarantine, and quarantine entries this batch
    re-reads (marked processed with it)."""

    calls: Sequence[CallIn | Cdr]
    billed: list[bool] | None = None
    holds: list[quarantine.Hold] = field(default_factory=list)
    reprocessed: int | None = None


@dataclass
class Ingested:
    received: int = 0
    stored_ids: list[int] = field(default_factory=list)
    duplicate_call_ids: list[str] = field(default_factory=list)
    unrated: int = 0
    cost_units: int = 0
    not_billed: int = 0
    held_ids: list[int] = field(default_factory=list)


@dataclass
class Planned:
    """A batch rated and ready to write: the outcome, the prepared rows (None: nothing new) and
    what to charge to which account (see `charges`)."""

    result: Ingested
    calls: store.PreparedCalls | None
    org_id: int = 0
    now: datetime | None = None
    charges: dict[int, list] = field(default_factory=dict)
    incoming: Incoming | None = None


def ingest(conn: Connection, org_id: int, cdrs: Sequence[CallIn | Cdr] | Incoming, deck: Deck, now: datetime) -> Ingested:
    """Rate and store a batch in the caller's transaction; CDRs already stored are skipped."""
    return write(conn, plan(conn, org_id, cdrs, deck, now))


# Another batch (another worker, `trunkline calls import`) stored one of our call_ids after we
# looked: the unique constraint refuses ours (PostgreSQL may call it a deadlock when two batches
# insert the same ones in a different order). Run again, alone; they are duplicates now.
CONFLICTS = (IntegrityError, DeadlockDetected, psycopg.IntegrityError, sqlite3.IntegrityError)


def ingest_batch(engine: Engine, decks: "DeckCache", org_id: int, read: Callable[[], Sequence[CallIn | Cdr] | Incoming]) -> Ingested:
    """`ingest` of the batch `read` returns (its parser: see `_one_batch_at_a_time`), in a
    transaction of its own, as POST /api/calls does: planned (reads, rating, rows made ready)
    before the organization's write turn, and written in it. When a concurrent batch stored some
    of the same call_ids meanwhile, the write fails on the unique constraint and nothing is
    kept; the batch is then planned again inside the turn, taken alone, where nothing else can
    store a call, so the second attempt cannot collide. (Looking again at the call_ids inside
    every turn instead cost 10,000 index probes per batch in the turn that SQLite's writers
    queue for.)"""
    with _one_batch_at_a_time(engine):
        cdrs = read()
        alone = False
        while True:
            try:
                with engine.connect() as conn:
                    deck = decks.get(conn, org_id)
                    if not alone:
                        planned = plan(conn, org_id, cdrs, deck, utcnow())
                    with _writing(conn, org_id, alone):
                        if alone:
                            planned = plan(conn, org_id, cdrs, deck, utcnow())
                        try:
                            write(conn, planned)
                        except CONFLICTS:
                            conn.rollback()  # before the turn passes on: SQLite holds its write lock until then
                            raise
                        conn.commit()
                    return planned.result
            except CONFLICTS:
                if alone:
                    raise
                alone = True


def plan(conn: Connection, org_id: int, cdrs: Sequence[CallIn | Cdr] | Incoming, deck: Deck, now: datetime) -> Planned:
    """Everything `ingest` does short of writing: find the duplicates, rate the rest, prepare the rows."""
    incoming = cdrs if isinstance(cdrs, Incoming) else Incoming(cdrs)
    cdrs = incoming.calls
    flags = incoming.billed or [True] * len(cdrs)
    result = Ingested(received=len(cdrs) + len(incoming.holds))
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
    priced = deck if isinstance(deck, PricedDeck) else PricedDeck(deck.rates)
    columns = call_columns(org_id, [cdr for cdr, _ in new], priced, now, refs, billed)
    result.stored_ids = columns["id"]
    result.not_billed = columns["billed"].count(False)
    result.unrated = columns["rated"].count(False) - result.not_billed
    result.cost_units = sum(filter(None, columns["cost"]))
    return Planned(result, store.prepare_calls(conn, columns), org_id, now, charges(columns) if refs else {}, incoming)


def charges(columns: dict[str, list]) -> dict[int, list]:
    """What a batch takes from each account: {account row id: [-cost, calls charged, the call if only one]}."""
    found: dict[int, list] = {}
    for ref, cost, call in zip(columns["account_ref"], columns["cost"], columns["id"]):
        if ref is not None and cost:  # unrated (None) and free calls take nothing
            entry = found.get(ref)
            if entry is None:
                found[ref] = [-cost, 1, call]
            else:
                entry[0] -= cost
                entry[1] += 1
                entry[2] = None
    return found


def write(conn: Connection, planned: Planned) -> Ingested:
    """Store a planned batch in the caller's transaction; a call_id stored since `plan` looked
    fails the unique constraint (`CONFLICTS`)."""
    if planned.calls is not None:
        store.write_calls(conn, planned.calls)
        accounts.apply(conn, planned.org_id, TransactionKind.calls, planned.charges, planned.now)
    incoming = planned.incoming
    if incoming is not None:
        planned.result.held_ids = quarantine.hold(conn, planned.org_id, incoming.holds, planned.now)
        if incoming.reprocessed is not None:
            quarantine.processed(conn, incoming.reprocessed, planned.result.stored_ids, planned.now)
    return planned.result


_sqlite_batches: dict[str, threading.Lock] = {}


@contextmanager
def _one_batch_at_a_time(engine: Engine) -> Iterator[None]:
    """On SQLite a process parses, plans and writes one batch at a time. sqlite3 gives up the
    GIL for every row it inserts; with another batch being parsed or planned in a second thread,
    the writer would wait for the GIL at every row (up to the 5 ms switch interval), and the
    write turn that every worker process queues for would last as long as both. With
    `--workers 2`, planning under this lock took bench/ingest.py from 16,000–18,000 to
    22,000–24,000 CDRs/s, and parsing under it too from 60,400–65,700 to 70,000–73,300.
    PostgreSQL writes are network round trips, not a GIL hand-off per row: no limit there."""
    if engine.dialect.name != "sqlite":
        yield
        return
    with _sqlite_batches.setdefault(str(engine.url), threading.Lock()):
        yield


_INGEST_LOCKS = 0x7C0A11  # the namespace of ingest's PostgreSQL advisory locks (one per org)


@contextmanager
def _writing(conn: Connection, org_id: int, alone: bool = False) -> Iterator[None]:
    """The organization's write turn: enter after planning, just before the first write; leave
    after the commit.

    SQLite writes one transaction at a time anyway; a waiting one would sleep in its busy
    handler in steps of up to 100 ms, so an exclusive `flock` on a file next to the database
    hands the turn over at once, between threads and between worker processes alike
    (`trunkline serve --workers N`). A call_id another worker stored since the batch looked
    fails the unique constraint, and `ingest_batch` plans again inside the turn, `alone` (the
    flock is exclusive anyway).

    PostgreSQL takes batches side by side: the organization's advisory lock, shared, only keeps
    re-rating (which takes it exclusively) out. A call_id that a concurrent batch stores first
    fails the unique constraint (or, crossed, a deadlock), and `ingest_batch` plans again and
    writes `alone`, with the lock exclusively. The totals and the balances are upserted in key
    order, so batches that share rows queue for them, not deadlock, and last (the per-account
    totals, then the balances), so those rows every batch of a day shares are held only
    briefly before the commit.
    """
    if conn.dialect.name == "postgresql":
        if alone:
            exclusive(conn, org_id)
        else:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock_shared(%s, %s)", _ingest_lock(org_id))
        yield
        return
    with open(os.open(f"{conn.engine.url.database}-ingest.lock", os.O_CREAT | os.O_WRONLY, 0o600)) as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _ingest_lock(org_id: int) -> tuple[int, int]:
    return _INGEST_LOCKS, org_id % 2**31


def exclusive(conn: Connection, org_id: int) -> None:
    """Keep every other writer of the organization's calls out until `conn`'s transaction ends,
    for re-rating: it reads calls and writes back what changed, and two runs reading the same
    calls would move the totals and the balances twice. PostgreSQL: ingest's advisory lock,
    exclusively. SQLite: a write (that changes nothing) takes the database's one write lock
    now, where the reads that follow see what the last writer committed."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", _ingest_lock(org_id))
    else:
        conn.execute(update(organizations).where(organizations.c.id == org_id).values(deck_version=organizations.c.deck_version))


def call_columns(
    org_id: int,
    cdrs: Sequence[CallIn | Cdr],
    deck: PricedDeck,
    now: datetime,
    refs: dict[str, int] | None = None,
    billed: list[bool] | None = None,
) -> dict[str, list]:
    """The `calls` columns for new CDRs, priced as a batch (see `store.prepare_calls`); `refs`
    maps account codes to the accounts the calls are charged to. A call `billed` marks False is
    stored unrated (`not_billed_leg`), and one with no dialled number unrated (`no_destination`)."""
    size = len(cdrs)
    billsec = [cdr.billsec for cdr in cdrs]
    callees = [cdr.callee for cdr in cdrs]
    priced = deck.rater.rate(np.array(callees, dtype=str), np.array(billsec, dtype=np.int64))
    rated = priced.rated.tolist()
    reasons = [None if ok else REASONS[status] for status, ok in zip(priced.status.tolist(), rated)]
    if billed is not None or not all(callees):
        billed = billed or [True] * size
        for index, (callee, bill) in enumerate(zip(callees, billed)):
            if not bill or not callee:
                rated[index] = False
                reasons[index] = NOT_BILLED_LEG if not bill else NO_DESTINATION
    labels = priced.rate_index.tolist()
    matched = [deck.rates[label] if ok else None for label, ok in zip(labels, rated)]
    codes = [cdr.account_id for cdr in cdrs]
    return {
        "id": ids.generator.many(size),
        "org_id": [org_id] * size,
        "call_id": [cdr.call_id for cdr in cdrs],
        "account_id": codes,
        "account_ref": [refs.get(code) for code in codes] if refs else [None] * size,
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
        "cost": [cost if ok else None for cost, ok in zip(priced.cost_units.tolist(), rated)],
        "rate_id": [rate.id if rate else None for rate in matched],
        "prefix": [rate.prefix if rate else None for rate in matched],
        "rate_type": [rate.type if rate else None for rate in matched],
        "breakdown": [deck.terms_json(label) if ok else None for label, ok in zip(labels, rated)],
        "created_at": [now] * size,
        "rated_at": [now] * size,
        "leg": [cdr.leg and cdr.leg.value for cdr in cdrs],
        "linked_id": [cdr.linked_id for cdr in cdrs],
        "billed": billed or [True] * size,
    }


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
    refunds: dict[int, list] = {}  # account row id: [old cost - new cost, calls]
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
                refund = refunds.setdefault(row.account_ref, [0, 0, None])
                refund[0] += (old["cost"] or 0) - (new["cost"] or 0)
                refund[1] += 1
    result.changed = len(changes)
    store.update_ratings(conn, changes)
    store.add_totals(conn, before, sign=-1)
    store.add_totals(conn, after, sign=1)
    accounts.apply(conn, org_id, TransactionKind.rerate, refunds, now)
    return result


def quote(deck: Deck, number: str, billsec: int) -> dict[str, Any]:
    """The answer to "what would this call cost", itemised, or why it cannot be priced."""
    result = rate_call(deck, number, billsec)
    base = {"number": number, "normalized": normalize_number(number), "duration": billsec}
    if isinstance(result, Unrated):
        return {**base, "status": "unrated", "unrated_reason": result.reason, "cost": None, "rate": None, "breakdown": None}
    return {
        **base, "status": "rated", "unrated_reason": None, "cost": from_units(result.cost_units),
        "rate": shown(result.rate), "breakdown": shown_breakdown(result.breakdown),
    }


def shown(rate: Rate) -> dict[str, Any]:
    """A rate as the API shows it: API id, money as Decimal."""
    fields = {name: getattr(rate, name) for name in RATE_FIELDS}
    fields["id"] = ids.encode(rate.id)
    for name in ("connect_fee", "postcall_surcharge", "price_1", "price_n"):
        fields[name] = from_units(fields[name])
    return fields


INSUFFICIENT_BALANCE = "insufficient_balance"


def authorize(deck: Deck, number: str, available: int) -> dict[str, Any]:
    """May a call to `number` start with `available` units to spend, and for how long at most."""
    digits = normalize_number(number)
    rate = deck.match(digits) if digits is not None else None
    answer = {"number": number, "normalized": digits, "rate": shown(rate) if rate else None}
    if rate is None:
        reason = NO_MATCHING_PREFIX if digits is not None else INVALID_NUMBER
        return {**answer, "authorized": False, "max_seconds": 0, "reason": reason}
    seconds = max_seconds(rate, available)
    return {**answer, "authorized": seconds > 0, "max_seconds": seconds, "reason": None if seconds else INSUFFICIENT_BALANCE}
