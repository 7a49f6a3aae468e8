"""The deck as the real-time routes need it: current, and never built on the event loop."""

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from trunkline.call_rates.deck_cache import DeckCache, PricedDeck
from trunkline.kit.resources import read

T = TypeVar("T")


async def current_deck(db: Engine, decks: DeckCache, org_id: int, also: Callable[[Connection], T] = lambda conn: None) -> tuple[PricedDeck, T]:
    """The organization's current deck and what `also` reads, in one short read (inline on
    SQLite: see `kit.resources.read`). A deck a committed write has made stale is rebuilt in a
    worker thread, so rebuilding a large deck never holds the event loop."""

    def look(conn: Connection) -> tuple[PricedDeck | None, T]:
        return decks.current(conn, org_id)[1], also(conn)

    deck, found = await read(db, look)
    if deck is None:

        def build() -> PricedDeck:
            with db.connect() as conn:
                return decks.get(conn, org_id)

        deck = await run_in_threadpool(build)
    return deck, found
