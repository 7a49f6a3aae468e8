"""How a priced call is shown: the quote for a number, a rate and an itemised breakdown,
with API ids and money as Decimal."""

from datetime import datetime
from typing import Any

from trunkline.call_rates.deck_cache import RATE_FIELDS, PricedDeck
from trunkline.kit import ids
from trunkline.rating import Breakdown, Rate, Unrated, normalize_number, price
from trunkline.rating.money import from_units


def quote(deck: PricedDeck, number: str, billsec: int, at: datetime) -> dict[str, Any]:
    """The answer to "what would this call, started `at`, cost", itemised, or why it cannot be priced."""
    result = deck.rate_call(number, billsec, at)
    base = {
        "number": number, "normalized": normalize_number(number), "duration": billsec, "at": at,
        "rate_plan_id": ids.encode(deck.plan_id), "period": deck.period(at) or None,
    }
    if isinstance(result, Unrated):
        return {**base, "status": "unrated", "unrated_reason": result.reason, "cost": None, "rate": None, "breakdown": None}
    return {
        **base, "status": "rated", "unrated_reason": None, "cost": from_units(result.cost_units),
        "rate": shown(result.rate), "breakdown": shown_breakdown(result.breakdown),
    }


def shown(rate: Rate) -> dict[str, Any]:
    """A rate as the API shows it: API id, money as Decimal."""
    fields = {name: getattr(rate, name) for name in RATE_FIELDS}
    fields["id"] = ids.encode(rate.id)
    for name in ("connect_fee", "postcall_surcharge", "price_1", "price_n"):
        fields[name] = from_units(fields[name])
    return fields


def breakdown(row) -> dict[str, Any] | None:
    """The full itemised cost of a stored call, recomputed exactly from the rate it kept."""
    if not row.rated or not row.breakdown:
        return None
    return shown_breakdown(price(Rate(row.rate_id, row.prefix, row.rate_type, *row.breakdown), row.billsec))


def shown_breakdown(itemised: Breakdown) -> dict[str, Any]:
    """A breakdown as the API shows it: the rate's API id, money as Decimal."""
    return {**itemised.as_dict(), "rate_id": ids.encode(itemised.rate_id)}
