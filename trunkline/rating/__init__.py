"""Pure rating engine: no HTTP, no database.

Numbers are normalised (separators " -.()" removed, one leading "+" or "00"
dropped, digits only; see `numbers`), matched to the rate with the longest
prefix, and priced exactly in integer units, rounded once, half up. `rate_call`
rates one call; `BulkRater` rates numpy batches with the same results; `max_seconds`
says how long a call may run on a given budget. A `PlanDeck` holds a rate plan's rates over
time and periods (`Schedule`); `PlanRater` rates its batches.
"""

from .bulk import INVALID, NO_MATCH, RATED, REASONS, BulkRater, BulkResult
from .calls import INVALID_NUMBER, NO_MATCHING_PREFIX, Rated, Unrated, rate_call
from .deck import Deck, Rate
from .limits import MAX_CALL_SECONDS, max_seconds
from .messages import price_message
from .numbers import normalize_number
from .plan_rater import PlanRater
from .plans import ALWAYS, ALWAYS_FROM, ALWAYS_TO, Overlap, PlanDeck, Version
from .pricing import Breakdown, price
from .schedule import ALL_PERIODS, DAYS, Schedule, Window, epoch_us

__all__ = [
    "ALL_PERIODS",
    "ALWAYS",
    "ALWAYS_FROM",
    "ALWAYS_TO",
    "DAYS",
    "INVALID",
    "INVALID_NUMBER",
    "MAX_CALL_SECONDS",
    "NO_MATCH",
    "NO_MATCHING_PREFIX",
    "RATED",
    "REASONS",
    "Breakdown",
    "BulkRater",
    "BulkResult",
    "Deck",
    "Overlap",
    "PlanDeck",
    "PlanRater",
    "Rate",
    "Rated",
    "Schedule",
    "Unrated",
    "Version",
    "Window",
    "epoch_us",
    "max_seconds",
    "normalize_number",
    "price_message",
    "price",
    "rate_call",
]
