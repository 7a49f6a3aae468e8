"""Issuing invoices: one per account per month that has ended, numbered without gaps, never
changed afterwards.

Issuing takes the organization's exclusive turn (`calls.locks.exclusive`): no batch of calls,
re-rating chunk or other invoice of the organization commits while it reads, so the month's
calls, the ledger and the number it takes agree, and a failed attempt rolls back its number.

An invoice bills the month's calls at their cost now (`usage`), and the messages charged in the
month as one line (their prices as reserved, less refunds, from the ledger). Its `adjustment` is what the
cost of every call started before the month has become since the previous invoice, which
recorded that cost up to its own month's end (`covered`): calls re-rated or stored late, and
the calls of months no invoice covered. The cost of all the account's calls comes from the ledger
(`repository.charged`), so only the month and the calls after it are read, never the history.
The first invoice covers only its month.
"""

from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection

from trunkline.accounts import repository as accounts
from trunkline.calls.locks import exclusive
from trunkline.invoices import repository as store
from trunkline.invoices.months import local_day, month
from trunkline.invoices.schemas import InvoiceStatus, LineKind
from trunkline.kit import ids
from trunkline.kit.failures import Conflict, Invalid, NotFound
from trunkline.rating.money import SCALE
from trunkline.rating.pricing import round_half_up

CREDIT_NAMES = {"topup": "Top-up", "adjustment": "Adjustment"}


def find(conn: Connection, org_id: int, invoice_id: int | None):
    row = store.find(conn, org_id, invoice_id) if invoice_id is not None else None
    if row is None:
        raise NotFound("Invoice")
    return row


def _account(conn: Connection, org_id: int, key: str):
    """The account named by its id or, failing that, its code."""
    account_ref = ids.decode(key)
    row = accounts.find(conn, org_id, account_ref) if account_ref is not None else None
    row = row or accounts.find(conn, org_id, code=key)
    if row is None:
        raise Invalid.fields({"name": "account_id", "reason": "no such account"})
    return row


def tax_of(subtotal: int, rate: int) -> int:
    """subtotal × rate (both in units), rounded half up, away from zero: a negative subtotal is
    taxed as the positive one, negated."""
    return round_half_up(Fraction(abs(subtotal * rate), SCALE)) * (1 if subtotal >= 0 else -1)


def usage_lines(groups: list) -> tuple[list[dict[str, Any]], int]:
    """The usage lines, one per destination (the rate's description, else the prefix) and prefix,
    in that order, and the number of unrated calls. Rates of one destination and prefix (versions,
    time-of-day periods) make one line."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    unrated = 0
    for rated, prefix, count, seconds, cost, description in groups:
        if not rated:
            unrated += count
            continue
        key = (description or prefix, prefix)
        line = merged.setdefault(key, {"kind": LineKind.usage.value, "description": key[0], "prefix": prefix, "calls": 0, "seconds": 0, "amount": 0})
        line["calls"] += count
        line["seconds"] += int(seconds)
        line["amount"] += int(cost)
    return [merged[key] for key in sorted(merged)], unrated


def credit_lines(rows: list, zone: str) -> list[dict[str, Any]]:
    found = []
    for kind, amount, note, created_at in rows:
        description = f"{CREDIT_NAMES[kind]} {local_day(created_at, zone).isoformat()}" + (f": {note}" if note else "")
        found.append({"kind": LineKind.credit.value, "description": description, "prefix": None, "calls": None, "seconds": None, "amount": amount})
    return found


def _follows(previous, first: date, period: str) -> None:
    """An account's invoices follow each other: refuse a month invoiced already, or before the latest."""
    if previous is not None and previous.period_start == first:
        raise Conflict(f"Invoice {previous.number} is the account's invoice for {period}", code="DUPLICATE_INVOICE")
    if previous is not None and previous.period_start > first:
        raise Conflict(
            f"The account's invoices follow each other: invoice {previous.number} bills {previous.period_start.isoformat()[:7]}, after {period}",
            code="OUT_OF_ORDER",
        )


def issue(conn: Connection, org_id: int, account_key: str, period: str, now: datetime) -> int:
    """Issue the account's invoice for `period` (YYYY-MM) in the caller's transaction; its id.
    Conflict: the month has not ended, is invoiced already, or an invoice of a later month exists."""
    account = _account(conn, org_id, account_key)
    span = month(period, account.timezone)
    if now < span.ends_at:
        raise Conflict(f"{period} has not ended in {account.timezone} yet: it ends at {span.ends_at.isoformat()}", code="PERIOD_OPEN")
    exclusive(conn, org_id)
    previous = store.latest(conn, account.id)
    _follows(previous, span.first, period)
    usage, unrated = usage_lines(store.usage(conn, org_id, account.id, span.starts_at, span.ends_at))
    used = sum(line["amount"] for line in usage)
    covered = store.charged(conn, org_id, account.id) - store.cost_from(conn, org_id, account.id, span.ends_at)
    adjustment = covered - used - previous.covered if previous is not None else 0
    adjusted = [
        {"kind": LineKind.adjustment.value, "prefix": None, "calls": None, "seconds": None, "amount": adjustment,
         "description": f"Calls before {period}: change in cost since invoice {previous.number} (re-rated, stored late or not invoiced)"}
    ] if adjustment else []
    credits = credit_lines(store.credits(conn, account.id, span.starts_at, span.ends_at), account.timezone)
    texted = store.messages_charged(conn, account.id, span.starts_at, span.ends_at)
    texts = [
        {"kind": LineKind.messages.value, "prefix": None, "calls": None, "seconds": None, "amount": texted, "description": "SMS messages (net of refunds)"}
    ] if texted else []
    subtotal = used + adjustment + texted
    tax = tax_of(subtotal, account.tax_rate)
    invoice_id = ids.new_id()
    store.create(
        conn,
        {
            "id": invoice_id, "org_id": org_id, "number": store.next_number(conn, org_id), "issuer": store.issuer(conn, org_id),
            "account_ref": account.id, "account_code": account.account_id, "account_name": account.name,
            "period_start": span.first, "period_end": span.last, "starts_at": span.starts_at, "ends_at": span.ends_at,
            "timezone": account.timezone, "currency": account.currency, "tax_rate": account.tax_rate, "status": InvoiceStatus.issued.value,
            "calls": sum(line["calls"] for line in usage), "seconds": sum(line["seconds"] for line in usage), "unrated_calls": unrated,
            "usage": used, "adjustment": adjustment, "subtotal": subtotal, "tax": tax, "total": subtotal + tax,
            "credits": sum(line["amount"] for line in credits), "covered": covered, "issued_at": now,
        },
        usage + adjusted + texts + credits,
    )
    return invoice_id
