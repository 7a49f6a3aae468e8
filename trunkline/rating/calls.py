"""Rating one call: normalise, match, price — or say why the call is unrated.

`Unrated` deliberately has no cost: an unrated call can never be summed as a
free one by accident.
"""

import operator
from dataclasses import dataclass

from .deck import Deck, Rate
from .numbers import normalize_number
from .pricing import Breakdown, price

INVALID_NUMBER = "invalid_number"
NO_MATCHING_PREFIX = "no_matching_prefix"


@dataclass(frozen=True, slots=True)
class Rated:
    rate: Rate
    breakdown: Breakdown

    @property
    def cost_units(self) -> int:
        return self.breakdown.cost_units


@dataclass(frozen=True, slots=True)
class Unrated:
    reason: str  # INVALID_NUMBER or NO_MATCHING_PREFIX
    number: str  # as given, before normalisation


def rate_call(deck: Deck, number: str, billsec: int) -> Rated | Unrated:
    """Rate one call; a negative `billsec` is a ValueError whatever the number."""
    billsec = operator.index(billsec)
    if billsec < 0:
        raise ValueError(f"billsec must not be negative, got {billsec}")
    digits = normalize_number(number)
    if digits is None:
        return Unrated(INVALID_NUMBER, number)
    rate = deck.match(digits)
    if rate is None:
        return Unrated(NO_MATCHING_PREFIX, number)
    return Rated(rate, price(rate, billsec))
