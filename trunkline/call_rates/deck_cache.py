"""Each rate plan's deck, priced and cached: built once, rebuilt only when the organization's
rates or plans change.

Every call-rate and rate-plan write bumps the organization's `deck_version` in the writing
transaction, so a reader compares one integer to know whether its cached deck is current.
"""

import operator
import threading
from datetime import datetime

import msgspec
from sqlalchemy import Connection

from trunkline.call_rates.repository import deck_version, stored_times
from trunkline.db.tables import EVER
from trunkline.kit.lookup import driver_rows
from trunkline.rate_plans import service as plans
from trunkline.rating import ALWAYS, ALWAYS_FROM, ALWAYS_TO, PlanDeck, PlanRater, Rate, Rated, Unrated, Version, epoch_us

RATE_FIELDS = tuple(Rate.__dataclass_fields__)
# A call's `breakdown` column: the rate's pricing terms as a JSON array in this order. The
# rest of the rate (id, prefix, type) is in the call's own columns; a JSON object of all of it
# was 200 of the row's ~450 bytes, written for every call.
TERMS = tuple(name for name in RATE_FIELDS if name not in ("id", "prefix", "type"))
_encode = msgspec.json.Encoder().encode


class PricedDeck:
    """A plan's deck with what batch pricing needs, made on first use: its `PlanRater` and each
    rate's terms as JSON text (the `breakdown` column)."""

    __slots__ = ("_lock", "_rater", "_terms", "plan", "plan_id")

    def __init__(self, plan_id: int, plan: PlanDeck) -> None:
        self.plan_id = plan_id
        self.plan = plan
        self._rater: PlanRater | None = None
        self._terms: dict[int, str] = {}
        self._lock = threading.Lock()

    @property
    def rates(self) -> tuple[Rate, ...]:
        return self.plan.rates

    @property
    def rater(self) -> PlanRater:
        if self._rater is None:
            with self._lock:
                if self._rater is None:
                    self._rater = PlanRater(self.plan)
        return self._rater

    def period(self, moment: datetime) -> str:
        return self.plan.schedule.period_at(moment)

    def match(self, number: str, moment: datetime) -> Rate | None:
        return self.plan.match(number, moment)

    def rate_call(self, number: str, billsec: int, moment: datetime) -> Rated | Unrated:
        return self.plan.rate_call(number, billsec, moment)

    def terms_json(self, index: int) -> str:
        text = self._terms.get(index)
        if text is None:
            text = self._terms[index] = _encode(terms(self.rates[index])).decode()
        return text


_SELECT = f"SELECT {', '.join(RATE_FIELDS)}, period, effective_from, effective_to FROM call_rates WHERE plan_id = ? AND org_id = ?"


def _rates(conn: Connection, org_id: int, plan_id: int) -> tuple[list[Rate], list[Version]]:
    """A plan's rates and their versions, read through the driver, each distinct time made a
    microsecond count once (see `repository.stored_times`)."""
    micros = stored_times(conn, lambda moment: ALWAYS_FROM if moment == EVER else epoch_us(moment))
    size = len(RATE_FIELDS)
    rates, versions = [], []
    for found in driver_rows(conn, _SELECT, (plan_id, org_id)):
        rates.append(Rate(*found[:size]))
        period, start, end = found[size:]
        start = micros(start)
        if not period and end is None and start == ALWAYS_FROM:
            versions.append(ALWAYS)  # most rates: one shared object
        else:
            versions.append(Version(period, start, ALWAYS_TO if end is None else micros(end)))
    return rates, versions


class DeckCache:
    """Each plan's deck, built once and rebuilt only when its organization's deck changes."""

    def __init__(self) -> None:
        self._decks: dict[tuple[int, int], tuple[int, PricedDeck]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, org_id: int, plan_id: int | None = None) -> PricedDeck:
        """The plan's deck (default: the organization's default plan) as of `conn`'s view, built
        from its rows when the cached one is stale."""
        plan_id = org_id if plan_id is None else plan_id
        version, deck = self.current(conn, org_id, plan_id)
        if deck is not None:
            return deck
        with self._lock:
            cached = self._decks.get((org_id, plan_id))
            if cached and cached[0] == version:  # built by the request this one waited for
                return cached[1]
            row = plans.find(conn, org_id, plan_id)
            rates, versions = _rates(conn, org_id, plan_id)
            deck = PricedDeck(plan_id, PlanDeck(rates, versions, plans.schedule(row)))
            self._decks[(org_id, plan_id)] = (version, deck)
        return deck

    def current(self, conn: Connection, org_id: int, plan_id: int | None = None) -> tuple[int, PricedDeck | None]:
        """The deck version as of `conn`'s view (every call-rate and plan write bumps it), and the
        cached deck of the plan when it is of that version (None: `get` must build it)."""
        plan_id = org_id if plan_id is None else plan_id
        version = deck_version(conn, org_id)
        cached = self._decks.get((org_id, plan_id))
        return version, cached[1] if cached and cached[0] == version else None


terms = operator.attrgetter(*TERMS)  # a rate's terms as a tuple, in TERMS order
