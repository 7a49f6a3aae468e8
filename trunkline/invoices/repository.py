"""Invoice rows and the reads that issuing one makes: every sum over calls is a GROUP BY on the
database, over the account's calls of one range (`ix_calls_account_ref_start`), never a loop
over calls in Python."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from trunkline.db.tables import account_transactions as ledger
from trunkline.db.tables import accounts, call_rates, calls, organizations
from trunkline.db.tables import invoice_lines as lines
from trunkline.db.tables import invoices as table
from trunkline.kit import lookup

c = table.c
CREDITS = ("topup", "adjustment")  # the ledger's kinds that are money paid in or credited, not calls
MESSAGES = ("messages", "message_refund")
NOT_CALLS = (*CREDITS, *MESSAGES)  # every kind that moves the balance for something other than calls


def find(conn: Connection, org_id: int, invoice_id: int):
    return lookup.by_id(conn, table, org_id, invoice_id)


def lines_of(conn: Connection, invoice_id: int) -> list:
    return conn.execute(select(lines).where(lines.c.invoice_id == invoice_id).order_by(lines.c.position)).all()


def latest(conn: Connection, account_ref: int):
    """The account's invoice of the latest month, if any."""
    return conn.execute(select(table).where(c.account_ref == account_ref).order_by(c.period_start.desc()).limit(1)).first()


def next_number(conn: Connection, org_id: int) -> int:
    """The organization's next invoice number (read inside its exclusive turn, see service.issue)."""
    return conn.execute(select(func.coalesce(func.max(c.number), 0) + 1).where(c.org_id == org_id)).scalar_one()


def issuer(conn: Connection, org_id: int) -> str:
    return conn.execute(select(organizations.c.name).where(organizations.c.id == org_id)).scalar_one()


def _charged(org_id: int, account_ref: int, starts_at: datetime):
    k = calls.c
    return [k.org_id == org_id, k.account_ref == account_ref, k.start_at >= starts_at]


def usage(conn: Connection, org_id: int, account_ref: int, starts_at: datetime, ends_at: datetime) -> list:
    """The account's billed, answered calls started in [starts_at, ends_at), per (rate, prefix):
    rows of (rated, prefix, calls, seconds, cost, description), the description of the rate when it
    still exists. Unrated calls come as rated False."""
    k = calls.c
    groups = (k.rated, k.rate_id, k.prefix)
    month = (
        select(*groups, func.count().label("calls"), func.sum(k.billsec).label("seconds"), func.sum(k.cost).label("cost"))
        .where(*_charged(org_id, account_ref, starts_at), k.start_at < ends_at, k.billed.is_(True), k.billsec > 0)
        .group_by(*groups)
        .subquery()
    )
    rate = (call_rates.c.id == month.c.rate_id) & (call_rates.c.org_id == org_id)
    return conn.execute(
        select(month.c.rated, month.c.prefix, month.c.calls, month.c.seconds, month.c.cost, call_rates.c.description).select_from(month.outerjoin(call_rates, rate))
    ).all()


def cost_from(conn: Connection, org_id: int, account_ref: int, starts_at: datetime) -> int:
    """The cost of the account's calls started at or after `starts_at` (usually a few days' worth)."""
    total = conn.execute(select(func.sum(calls.c.cost)).where(*_charged(org_id, account_ref, starts_at))).scalar()
    return int(total or 0)  # PostgreSQL sums bigints as numeric


def charged(conn: Connection, org_id: int, account_ref: int) -> int:
    """The cost of every call ever charged to the account, as priced now, read from the ledger in
    one statement (one snapshot): the balance moves only by ledger entries, so calls and re-rating
    took `credits - balance`, where credits are the top-ups and adjustments (a few rows) and what
    messages took or got back (one row per send request and refund: billed apart, `messages_charged`)."""
    credited = (
        select(func.coalesce(func.sum(ledger.c.amount), 0))
        .where(ledger.c.account_ref == accounts.c.id, ledger.c.kind.in_(NOT_CALLS))
        .scalar_subquery()
    )
    taken = conn.execute(select(credited - accounts.c.balance).where(accounts.c.id == account_ref, accounts.c.org_id == org_id)).scalar_one()
    return int(taken)


def messages_charged(conn: Connection, account_ref: int, starts_at: datetime, ends_at: datetime) -> int:
    """What the account's messages cost in [starts_at, ends_at): prices reserved, less refunds, as
    the ledger recorded them (a positive amount of units)."""
    t = ledger.c
    total = conn.execute(
        select(func.sum(t.amount)).where(t.account_ref == account_ref, t.kind.in_(MESSAGES), t.created_at >= starts_at, t.created_at < ends_at)
    ).scalar()
    return -int(total or 0)


def credits(conn: Connection, account_ref: int, starts_at: datetime, ends_at: datetime) -> list:
    """The account's top-ups and adjustments made in [starts_at, ends_at), oldest first."""
    t = ledger.c
    return conn.execute(
        select(t.kind, t.amount, t.note, t.created_at)
        .where(t.account_ref == account_ref, t.kind.in_(CREDITS), t.created_at >= starts_at, t.created_at < ends_at)
        .order_by(t.created_at, t.id)
    ).all()


def create(conn: Connection, values: dict[str, Any], invoice_lines: list[dict[str, Any]]) -> None:
    conn.execute(insert(table).values(**values))
    if invoice_lines:
        conn.execute(insert(lines), [{"invoice_id": values["id"], "position": position, **line} for position, line in enumerate(invoice_lines, start=1)])
