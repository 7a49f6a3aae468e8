"""Authorizing a call before it starts: may it start on what the account has, and for how long."""

from datetime import datetime
from typing import Any

from trunkline.call_rates.deck_cache import PricedDeck
from trunkline.call_rates.quote import shown
from trunkline.rating import INVALID_NUMBER, NO_MATCHING_PREFIX, max_seconds, normalize_number

INSUFFICIENT_BALANCE = "insufficient_balance"


def authorize(deck: PricedDeck, number: str, available: int, at: datetime) -> dict[str, Any]:
    """May a call to `number` starting `at` begin with `available` units to spend, and for how long at most."""
    digits = normalize_number(number)
    rate = deck.match(number, at) if digits is not None else None
    answer = {"number": number, "normalized": digits, "rate": shown(rate) if rate else None}
    if rate is None:
        reason = NO_MATCHING_PREFIX if digits is not None else INVALID_NUMBER
        return {**answer, "authorized": False, "max_seconds": 0, "reason": reason}
    seconds = max_seconds(rate, available)
    return {**answer, "authorized": seconds > 0, "max_seconds": seconds, "reason": None if seconds else INSUFFICIENT_BALANCE}
