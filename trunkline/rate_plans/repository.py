"""Rate-plan rows. The default plan's id is its organization's id (see db.tables.rate_plans)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from trunkline.db.tables import accounts, call_rates, calls, organizations, vendors
from trunkline.db.tables import rate_plans as table
from trunkline.kit import ids, lookup
from trunkline.kit.failures import Conflict

c = table.c
DEFAULT_NAME = "Default"


class DuplicateName(Conflict):
    def __init__(self, name: str | None) -> None:
        super().__init__(f"A rate plan named {name} already exists", code="DUPLICATE_NAME")


def rates_changed(conn: Connection, org_id: int) -> None:
    """Bump the organization's deck_version, in the writing transaction: every cached deck of
    the organization is stale from its commit on (see call_rates.deck_cache)."""
    version = organizations.c.deck_version
    conn.execute(update(organizations).where(organizations.c.id == org_id).values(deck_version=version + 1))


def create_default(conn: Connection, org_id: int, now: datetime) -> None:
    """A new organization's default plan: selling in USD, in UTC, at any time of day."""
    conn.execute(
        insert(table).values(
            id=org_id, org_id=org_id, name=DEFAULT_NAME, currency="USD", kind="sell", timezone="UTC", periods=[],
            description="The organization's default plan", created_at=now, updated_at=now,
        )
    )


def create(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    plan_id = ids.new_id()
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(id=plan_id, org_id=org_id, created_at=now, updated_at=now, **values))
    except IntegrityError:
        raise DuplicateName(values["name"]) from None
    return plan_id


def change(conn: Connection, org_id: int, plan_id: int, values: dict[str, Any], now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(update(table).where(c.id == plan_id, c.org_id == org_id).values(updated_at=now, **values))
    except IntegrityError:
        raise DuplicateName(values.get("name")) from None
    rates_changed(conn, org_id)


def remove(conn: Connection, org_id: int, plan_id: int) -> None:
    conn.execute(delete(call_rates).where(call_rates.c.plan_id == plan_id, call_rates.c.org_id == org_id))
    conn.execute(delete(table).where(c.id == plan_id, c.org_id == org_id))
    rates_changed(conn, org_id)


def find(conn: Connection, org_id: int, plan_id: int):
    return lookup.by_id(conn, table, org_id, plan_id)


def named(conn: Connection, org_id: int, name: str):
    return conn.execute(select(table).where(c.org_id == org_id, c.name == name)).first()


# What uses a plan, and how the refusal to delete it (or change its kind) says so.
_USERS = (
    (accounts.c.rate_plan_id, "accounts are priced by it"),
    (accounts.c.sms_rate_plan_id, "accounts' messages are priced by it"),
    (calls.c.rate_plan_id, "stored calls were priced by it"),
    (vendors.c.rate_plan_id, "a vendor charges by it"),
)
_AS_KIND = {"sell": accounts, "buy": vendors}  # who uses a plan of each kind as that kind


def in_use(conn: Connection, org_id: int, plan_id: int, as_kind: str | None = None) -> str | None:
    """What keeps a plan from being deleted: accounts priced by it, calls it priced, vendors on
    it; with `as_kind`, only what uses it as a plan of that kind (accounts a sell plan, vendors a
    buy plan), which keeps its kind from changing."""
    for column, reason in _USERS:
        asked = as_kind is None or column.table is _AS_KIND[as_kind]
        if asked and conn.scalar(select(exists().where(column.table.c.org_id == org_id, column == plan_id))):
            return reason
    return None


def periods_used(conn: Connection, plan_id: int) -> set[str]:
    """The periods the plan's rates are given for ("" is every period)."""
    return set(conn.scalars(select(call_rates.c.period).where(call_rates.c.plan_id == plan_id).distinct()))


def currencies_of_accounts(conn: Connection, org_id: int, plan_id: int) -> set[str]:
    priced = (accounts.c.rate_plan_id == plan_id) | (accounts.c.sms_rate_plan_id == plan_id)
    return set(conn.scalars(select(accounts.c.currency).where(accounts.c.org_id == org_id, priced).distinct()))
