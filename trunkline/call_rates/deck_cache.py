"""Each organization's deck, priced and cached: built once, rebuilt only when the deck changes.

Every call-rate write bumps the organization's `deck_version` in the writing transaction, so a
reader compares one integer to know whether its cached deck is current.
"""

import operator
import threading

import msgspec
from sqlalchemy import Connection, select

from trunkline.call_rates.repository import deck_version
from trunkline.db.tables import call_rates
from trunkline.rating import BulkRater, Deck, Rate

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
        """The deck as of `conn`'s view, built from its rows when the cached one is stale."""
        version, deck = self.current(conn, org_id)
        if deck is not None:
            return deck
        with self._lock:
            cached = self._decks.get(org_id)
            if cached and cached[0] == version:  # built by the request this one waited for
                return cached[1]
            rows = conn.execute(select(*(call_rates.c[name] for name in RATE_FIELDS)).where(call_rates.c.org_id == org_id)).all()
            deck = PricedDeck(Rate(*row) for row in rows)
            self._decks[org_id] = (version, deck)
        return deck

    def current(self, conn: Connection, org_id: int) -> tuple[int, PricedDeck | None]:
        """The deck version as of `conn`'s view (every call-rate write bumps it), and the cached
        deck when it is of that version (None: `get` must build it)."""
        version = deck_version(conn, org_id)
        cached = self._decks.get(org_id)
        return version, cached[1] if cached and cached[0] == version else None


terms = operator.attrgetter(*TERMS)  # a rate's terms as a tuple, in TERMS order
