"""Call-rate policy: a rate belongs to one of the organization's plans, for one of its periods;
and the deck as the real-time routes need it, current and never built on the event loop."""

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from trunkline.call_rates import repository as store
from trunkline.call_rates.deck_cache import DeckCache, PricedDeck
from trunkline.kit.failures import Invalid
from trunkline.kit.resources import read
from trunkline.rate_plans import service as plans
from trunkline.rating import ALL_PERIODS

T = TypeVar("T")


async def current_deck(
    db: Engine,
    decks: DeckCache,
    org_id: int,
    plan_id: int | None = None,
    also: Callable[[Connection], T] = lambda conn: None,
    plan_of: Callable[[T], int | None] | None = None,
) -> tuple[PricedDeck, T]:
    """A plan's current deck (default: the organization's default plan, or the one `plan_of`
    names in what `also` read) and what `also` reads, in one short read (inline on SQLite: see
    `kit.resources.read`). A deck a committed write has made stale is rebuilt in a worker
    thread, so rebuilding a large deck never holds the event loop."""

    def look(conn: Connection) -> tuple[PricedDeck | None, T, int | None]:
        found = also(conn)
        plan = plan_of(found) if plan_of is not None else plan_id
        return decks.current(conn, org_id, plan)[1], found, plan

    deck, found, plan = await read(db, look)
    if deck is None:

        def build() -> PricedDeck:
            with db.connect() as conn:
                return decks.get(conn, org_id, plan)

        deck = await run_in_threadpool(build)
    return deck, found


def plan_for(conn: Connection, org_id: int, rate_plan_id: str | None):
    """The plan a rate names (its API id), or the default plan: 422 when there is no such plan."""
    return plans.find(conn, org_id, None) if rate_plan_id is None else plans.given(conn, org_id, rate_plan_id)


def checked_period(plan, period: str | None) -> None:
    """A period the plan's schedule has (None: every period), else 422 listing the ones it has."""
    names = plans.schedule(plan).names
    if period and period not in names:
        known = ", ".join(name for name in names if name != ALL_PERIODS) or "none"
        raise Invalid.fields({"name": "period", "reason": f"the plan has no period {period} (its periods: {known})"})


def create(conn: Connection, org_id: int, values: dict[str, Any], now: datetime) -> int:
    plan = plan_for(conn, org_id, values.pop("rate_plan_id", None))
    currency = values.pop("currency", None)
    if currency is not None and currency != plan.currency:
        raise Invalid.fields({"name": "currency", "reason": f"the plan's rates are in {plan.currency}"})
    checked_period(plan, values.get("period"))
    return store.create(conn, org_id, plan.id, values, now)


def change(conn: Connection, org_id: int, rate_id: int, values: dict[str, Any], now: datetime) -> bool:
    if values.get("period"):
        row = store.find(conn, org_id, rate_id)
        if row is None:
            return False
        checked_period(plans.find(conn, org_id, row.plan_id), values["period"])
    return store.change(conn, org_id, rate_id, values, now)


def load(conn: Connection, org_id: int, plan, rows: list[dict[str, Any]], replace: bool, start: datetime | None, now: datetime) -> tuple[int, int]:
    """Import a validated deck into `plan` (see `repository.load`); a period the plan lacks is 422."""
    for period in sorted({row.get("period") or ALL_PERIODS for row in rows} - {ALL_PERIODS}):
        checked_period(plan, period)
    return store.load(conn, org_id, rows, replace, now, plan.id, start)
