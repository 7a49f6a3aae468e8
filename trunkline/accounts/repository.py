"""Accounts and their ledger: every balance change is one `account_transactions` row.

`apply` is the one way a balance moves. It serves a top-up (one account) as it serves an
ingest batch (one statement for all the batch's accounts, one ledger row per account), so
charging calls costs a few statements per batch, not per call.
"""

import json
from collections import namedtuple
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from trunkline.accounts import alerts
from trunkline.accounts.charging import Charge
from trunkline.accounts.schemas import TransactionKind
from trunkline.db.tables import UTCDateTime, calls, invoices
from trunkline.db.tables import account_transactions as ledger
from trunkline.db.tables import accounts as table
from trunkline.kit import ids, lookup
from trunkline.kit.failures import Conflict, Invalid
from trunkline.kit.lookup import among, driver_rows
from trunkline.rating.money import to_units

c = table.c
t = ledger.c
# |balance| stays below 10¹² currency units, so sums of amounts never near 64 bits.
MAX_BALANCE = 10**17 - 1


class DuplicateCode(Conflict):
    """The organization already has an account with this account_id."""

    def __init__(self, code: str | None) -> None:
        super().__init__(f"An account with account_id {code} already exists", code="DUPLICATE_ACCOUNT_ID")


class BalanceOutOfRange(Invalid):
    """The change would take the balance beyond ±MAX_BALANCE units."""

    def __init__(self) -> None:
        problem = {"name": "amount", "reason": "would take the balance out of range"}
        super().__init__(Invalid.fields(problem).message, problems=[problem])


def to_row(values: dict[str, Any]) -> dict[str, Any]:
    """API values (Decimal money, enum type) as column values (integer units, text)."""
    row = dict(values)
    for name in ("credit_limit", "tax_rate", "low_balance"):
        if row.get(name) is not None:
            row[name] = to_units(row[name])
    if row.get("type") is not None:
        row["type"] = str(row["type"])
    return row


def create(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    account_ref = ids.new_id()
    try:
        with conn.begin_nested():
            conn.execute(
                insert(table).values(id=account_ref, org_id=org_id, balance=0, created_at=now, updated_at=now, **to_row(values))
            )
    except IntegrityError:
        raise DuplicateCode(values["account_id"]) from None
    return account_ref


_BY_CODE = select(table).where(c.org_id == bindparam("org_id"), c.account_id == bindparam("code"))  # built once: authorize reads it per call


def find(conn: Connection, org_id: int, account_ref: int | None = None, code: str | None = None):
    """One account, by row id or by its code."""
    if code is None:
        return lookup.by_id(conn, table, org_id, account_ref)
    return conn.execute(_BY_CODE, {"org_id": org_id, "code": code}).first()


Spendable = namedtuple("Spendable", "id account_id currency type balance credit_limit rate_plan_id")
_SPENDABLE = "SELECT id, account_id, currency, type, balance, credit_limit, rate_plan_id FROM accounts WHERE org_id = ? AND "


def spendable(conn: Connection, org_id: int, account_ref: int | None = None, code: str | None = None) -> Spendable | None:
    """What authorizing a call needs of one account, by row id or by its code (read through the
    driver: a switch asks before every call; see `lookup.driver_rows`)."""
    where, key = ("account_id = ?", code) if code is not None else ("id = ?", account_ref)
    rows = driver_rows(conn, _SPENDABLE + where, (org_id, key))
    return Spendable(*rows[0]) if rows else None


def change(conn: Connection, org_id: int, account_ref: int, values: dict[str, Any], now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(update(table).where(c.id == account_ref, c.org_id == org_id).values(updated_at=now, **to_row(values)))
    except IntegrityError:
        raise DuplicateCode(values.get("account_id")) from None


class HasHistory(Conflict):
    """The account has ledger entries, charged calls or invoices, which must keep their account."""

    def __init__(self) -> None:
        super().__init__("This account has ledger entries, charged calls or invoices; its history is kept", code="ACCOUNT_HAS_HISTORY")


def remove(conn: Connection, org_id: int, account_ref: int) -> None:
    """Delete an account that has no history; `HasHistory` otherwise."""
    used = (
        conn.execute(select(ledger.c.id).where(ledger.c.account_ref == account_ref).limit(1)).first()
        or conn.execute(select(calls.c.id).where(calls.c.org_id == org_id, calls.c.account_ref == account_ref).limit(1)).first()
        or conn.execute(select(invoices.c.id).where(invoices.c.account_ref == account_ref).limit(1)).first()
    )
    if used is not None:
        raise HasHistory
    conn.execute(delete(table).where(c.id == account_ref, c.org_id == org_id))


def refs(conn: Connection, org_id: int, codes: set[str]) -> dict[str, tuple[int, int | None]]:
    """The organization's accounts among `codes`, as {account_id: (row id, rate plan id)}, in one
    statement (a plan id of None: the organization's default plan)."""
    return {code: (ref, plan) for code, ref, plan in among(conn, table, org_id, "account_id", codes, "account_id", "id", "rate_plan_id")}


def plans_of(conn: Connection, org_id: int, refs: set[int]) -> dict[int, int | None]:
    """The rate plan of each of the organization's accounts among the row ids `refs` (None: the default plan)."""
    if not refs:
        return {}
    return dict(conn.execute(select(c.id, c.rate_plan_id).where(c.org_id == org_id, c.id.in_(refs))).all())


_NOW = bindparam("now", type_=UTCDateTime())
_APPLY = {
    # Materialized, so each change looks its account up by id (inline, SQLite would rather walk the
    # organization's accounts and scan the changes for each).
    "sqlite": text(
        "WITH d(id, amount) AS MATERIALIZED (SELECT value ->> 0, value ->> 1 FROM json_each(:changes))"
        " UPDATE accounts SET balance = balance + d.amount, updated_at = :now FROM d"
        " WHERE accounts.id = d.id AND accounts.org_id = :org_id RETURNING accounts.id, accounts.balance"
    ).bindparams(_NOW),
    "postgresql": text(
        "UPDATE accounts SET balance = accounts.balance + d.amount, updated_at = :now"
        " FROM unnest(CAST(:ids AS bigint[]), CAST(:amounts AS bigint[])) AS d(id, amount)"
        " WHERE accounts.id = d.id AND accounts.org_id = :org_id RETURNING accounts.id, accounts.balance"
    ).bindparams(_NOW),
}
# Concurrent multi-account changes (an ingest batch, a re-rating) lock their rows in id order: no deadlock.
_LOCK = text("SELECT id FROM accounts WHERE org_id = :org_id AND id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE")


def apply(
    conn: Connection, org_id: int, kind: TransactionKind, changes: dict[int, Charge], now: datetime, note: str | None = None
) -> dict[int, tuple[int, int]]:
    """Move balances and write the ledger, in the caller's transaction.

    `changes`: {account row id: its `Charge`}; zero amounts are left out. Accounts deleted meanwhile are skipped. Returns
    {account row id: (ledger entry id, balance after)}.
    """
    changes = {ref: change for ref, change in changes.items() if change.amount}
    if not changes:
        return {}
    order = sorted(changes)
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"org_id": org_id, "ids": order})
        parameters = {"ids": order, "amounts": [changes[ref].amount for ref in order]}
    else:
        parameters = {"changes": json.dumps([[ref, changes[ref].amount] for ref in order])}
        driver = conn.connection.driver_connection
        if not driver.in_transaction:  # sqlite3 opens one only before a statement that starts with INSERT, UPDATE…; this one starts with WITH
            driver.execute("BEGIN")
    balances = dict(conn.execute(_APPLY[conn.dialect.name], {"org_id": org_id, "now": now, **parameters}).all())
    if not balances:
        return {}
    entries = dict(zip(balances, ids.generator.many(len(balances))))
    conn.execute(
        insert(ledger),
        [
            {"id": entries[ref], "org_id": org_id, "account_ref": ref, "kind": str(kind), "amount": changes[ref].amount,
             "balance_after": balance, "calls": changes[ref].calls, "call_ref": changes[ref].call_ref, "note": note, "created_at": now}
            for ref, balance in balances.items()
        ],
    )
    alerts.announce_low(conn, org_id, {ref: changes[ref].amount for ref in balances}, balances, now)
    return {ref: (entries[ref], balance) for ref, balance in balances.items()}


def credit(
    conn: Connection, org_id: int, account_ref: int, amount: int, kind: TransactionKind, note: str | None, now: datetime
) -> int | None:
    """A top-up or adjustment of one account: the ledger entry's id, None if the account is gone.
    BalanceOutOfRange: the caller rolls back."""
    done = apply(conn, org_id, kind, {account_ref: Charge(amount)}, now, note)
    if not done:
        return None
    entry, balance = done[account_ref]
    if abs(balance) > MAX_BALANCE:
        raise BalanceOutOfRange
    return entry
