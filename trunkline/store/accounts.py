"""Accounts and their ledger: every balance change is one `account_transactions` row.

`apply` is the one way a balance moves. It serves a top-up (one account) as it serves an
ingest batch (one statement for all the batch's accounts, one ledger row per account), so
charging calls costs a few statements per batch, not per call.
"""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from trunkline import ids
from trunkline.money import to_units
from trunkline.platform.query import Field, Fields
from trunkline.schemas.accounts import AccountType, TransactionKind
from trunkline.store.lookup import among
from trunkline.store.tables import UTCDateTime
from trunkline.store.tables import account_transactions as ledger
from trunkline.store.tables import accounts as table
from trunkline.store.tables import calls

c = table.c
FIELDS = Fields(
    fields={
        "id": Field(c.id, "id"),
        "account_id": Field(c.account_id, "str"),
        "name": Field(c.name, "str"),
        "currency": Field(c.currency, "str"),
        "type": Field(c.type, "enum", choices=tuple(AccountType)),
        "balance": Field(c.balance, "money"),
        # what a call may spend: the balance, plus the credit limit when postpaid
        "available": Field(case((c.type == AccountType.postpaid.value, c.balance + c.credit_limit), else_=c.balance), "money"),
        "credit_limit": Field(c.credit_limit, "money"),
        "created_at": Field(c.created_at, "datetime"),
        "updated_at": Field(c.updated_at, "datetime"),
    },
    search=(c.account_id, c.name),
    default_order=("id",),
)
t = ledger.c
TRANSACTION_FIELDS = Fields(
    fields={
        "id": Field(t.id, "id"),
        "kind": Field(t.kind, "str"),
        "amount": Field(t.amount, "money"),
        "balance_after": Field(t.balance_after, "money"),
        "calls": Field(t.calls, "int"),
        "call": Field(t.call_ref, "id"),
        "note": Field(t.note, "str"),
        "created_at": Field(t.created_at, "datetime"),
    },
    search=(t.note,),
    default_order=("id desc",),  # a statement: newest first
)
# |balance| stays below 10¹² currency units, so sums of amounts never near 64 bits.
MAX_BALANCE = 10**17 - 1


class DuplicateCode(Exception):
    """The organization already has an account with this account_id."""


class BalanceOutOfRange(Exception):
    """The change would take the balance beyond ±MAX_BALANCE units."""


def to_row(values: dict[str, Any]) -> dict[str, Any]:
    """API values (Decimal money, enum type) as column values (integer units, text)."""
    row = dict(values)
    if row.get("credit_limit") is not None:
        row["credit_limit"] = to_units(row["credit_limit"])
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


def find(conn: Connection, org_id: int, account_ref: int | None = None, code: str | None = None):
    """One account, by row id or by its code."""
    key = c.id == account_ref if code is None else c.account_id == code
    return conn.execute(select(table).where(c.org_id == org_id, key)).first()


def change(conn: Connection, org_id: int, account_ref: int, values: dict[str, Any], now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(update(table).where(c.id == account_ref, c.org_id == org_id).values(updated_at=now, **to_row(values)))
    except IntegrityError:
        raise DuplicateCode(values.get("account_id")) from None


class HasHistory(Exception):
    """The account has ledger entries or charged calls, which must keep their account."""


def remove(conn: Connection, org_id: int, account_ref: int) -> None:
    """Delete an account that has no history; `HasHistory` otherwise."""
    used = conn.execute(select(ledger.c.id).where(ledger.c.account_ref == account_ref).limit(1)).first() or conn.execute(
        select(calls.c.id).where(calls.c.org_id == org_id, calls.c.account_ref == account_ref).limit(1)
    ).first()
    if used is not None:
        raise HasHistory
    conn.execute(delete(table).where(c.id == account_ref, c.org_id == org_id))


def refs(conn: Connection, org_id: int, codes: set[str]) -> dict[str, int]:
    """The organization's accounts among `codes`, as {account_id: row id}, in one statement."""
    return dict(among(conn, table, org_id, "account_id", codes, "account_id", "id"))


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
    conn: Connection, org_id: int, kind: TransactionKind, changes: dict[int, list], now: datetime, note: str | None = None
) -> dict[int, tuple[int, int]]:
    """Move balances and write the ledger, in the caller's transaction.

    `changes`: {account row id: [amount in units (added), calls covered or None, call row id or None]};
    zero amounts are left out. Accounts deleted meanwhile are skipped. Returns
    {account row id: (ledger entry id, balance after)}.
    """
    changes = {ref: change for ref, change in changes.items() if change[0]}
    if not changes:
        return {}
    order = sorted(changes)
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"org_id": org_id, "ids": order})
        parameters = {"ids": order, "amounts": [changes[ref][0] for ref in order]}
    else:
        parameters = {"changes": json.dumps([[ref, changes[ref][0]] for ref in order])}
    balances = dict(conn.execute(_APPLY[conn.dialect.name], {"org_id": org_id, "now": now, **parameters}).all())
    if not balances:
        return {}
    entries = dict(zip(balances, ids.generator.many(len(balances))))
    conn.execute(
        insert(ledger),
        [
            {"id": entries[ref], "org_id": org_id, "account_ref": ref, "kind": str(kind), "amount": changes[ref][0],
             "balance_after": balance, "calls": changes[ref][1], "call_ref": changes[ref][2], "note": note, "created_at": now}
            for ref, balance in balances.items()
        ],
    )
    return {ref: (entries[ref], balance) for ref, balance in balances.items()}


def credit(
    conn: Connection, org_id: int, account_ref: int, amount: int, kind: TransactionKind, note: str | None, now: datetime
) -> int | None:
    """A top-up or adjustment of one account: the ledger entry's id, None if the account is gone.
    BalanceOutOfRange: the caller rolls back."""
    done = apply(conn, org_id, kind, {account_ref: [amount, None, None]}, now, note)
    if not done:
        return None
    entry, balance = done[account_ref]
    if abs(balance) > MAX_BALANCE:
        raise BalanceOutOfRange(balance)
    return entry
