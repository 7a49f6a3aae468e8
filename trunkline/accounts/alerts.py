"""account.balance_low: published in the transaction that moved the balance, when a change takes
an account from at least its `low_balance` to below it. Crossing, not being below: an account
that stays low is not announced again with each call, and a top-up above it re-arms it."""

from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from trunkline.accounts.schemas import present
from trunkline.db.tables import accounts
from trunkline.rating.money import from_units
from trunkline.webhooks import outbox

EVENT = "account.balance_low"
c = accounts.c
_WATCHED = select(accounts).where(c.id.in_(bindparam("refs", expanding=True)), c.low_balance.is_not(None))


def announce_low(conn: Connection, org_id: int, amounts: dict[int, int], balances: dict[int, int], now: datetime) -> None:
    """`amounts`: {account row id: the change}; `balances`: {account row id: the balance after}.
    Nothing is read when no webhook takes the event."""
    if not outbox.subscribed(conn, org_id, EVENT):
        return
    for row in conn.execute(_WATCHED, {"refs": list(balances)}):
        before = balances[row.id] - amounts[row.id]
        if before >= row.low_balance > balances[row.id]:
            outbox.publish(conn, org_id, EVENT, {**present(row), "previous_balance": from_units(before)}, now)
