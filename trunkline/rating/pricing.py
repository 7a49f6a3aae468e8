"""Exact call pricing.

Every amount in a `Breakdown` is a `fractions.Fraction` of units (10⁻⁵): terms
such as 7 s at 0.00001/min are not whole units, and keeping them exact means
the cost is rounded once, half up, at the very end. `as_dict()` renders them as
Decimal currency amounts: exact whenever the fraction has a finite decimal
expansion (at most 12 places, since every denominator divides 60 × 10⁵ units),
otherwise rounded half up at 12 places; only `cost` is the billed amount.
"""

import operator
from dataclasses import dataclass
from decimal import MAX_PREC, Context, Decimal
from fractions import Fraction

from trunkline.rating.money import SCALE, from_units

from .deck import Rate

SECONDS_PER_MINUTE = 60
# cost = numerator / DENOMINATOR, numerator = minute-priced subtotal × (SCALE + surcharge)
DENOMINATOR = SECONDS_PER_MINUTE * SCALE
_MAX_PLACES = 12
_ZERO = Fraction(0)


def round_half_up(amount: Fraction) -> int:
    """Nearest integer, .5 going up (amounts are never negative)."""
    return (2 * amount.numerator + amount.denominator) // (2 * amount.denominator)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """How a call's cost was built; amounts are exact Fractions of units.
    A call within the grace period (or of 0 s) has every term zero."""

    prefix: str
    rate_id: int
    type: str
    billsec: int
    within_grace: bool
    connect_fee: Fraction
    first_interval_seconds: int  # interval_1, charged in full even for shorter calls
    first_interval_amount: Fraction
    free_seconds: int  # the free seconds this call actually used
    rest_seconds: int  # billsec - interval_1 - free_seconds, when positive
    rest_intervals: int  # rest_seconds rounded up to whole interval_n
    rest_amount: Fraction
    subtotal: Fraction  # connect fee + first interval + rest
    surcharge_amount: Fraction
    cost_units: int  # subtotal + surcharge, rounded once, half up

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly view: amounts as Decimal currency (5 to 12 places, see `_shown`),
        `cost` with five places, and `exact`: every amount exactly, as a string (see `exact`).
        (Render tiny amounts with format(value, "f"): str() may use an exponent.)"""
        shown = {name: _shown(getattr(self, name)) for name in EXACT_AMOUNTS}
        return {
            "prefix": self.prefix,
            "rate_id": self.rate_id,
            "type": self.type,
            "billsec": self.billsec,
            "within_grace": self.within_grace,
            "connect_fee": shown["connect_fee"][0],
            "first_interval_seconds": self.first_interval_seconds,
            "first_interval_amount": shown["first_interval_amount"][0],
            "free_seconds": self.free_seconds,
            "rest_seconds": self.rest_seconds,
            "rest_intervals": self.rest_intervals,
            "rest_amount": shown["rest_amount"][0],
            "subtotal": shown["subtotal"][0],
            "surcharge_amount": shown["surcharge_amount"][0],
            "cost": from_units(self.cost_units),
            "exact": {name: text for name, (_, text) in shown.items()},
        }


EXACT_AMOUNTS = ("connect_fee", "first_interval_amount", "rest_amount", "subtotal", "surcharge_amount")


def exact(units: Fraction) -> str:
    """An amount of units as currency, exactly: a decimal when it has one ("0.0014"), otherwise
    a reduced fraction ("7/6000" for 0.01/min over 7 s), never rounded."""
    return _shown(units)[1]


def _places(denominator: int) -> int | None:
    """How many decimal places n/`denominator` needs (a reduced fraction), or None when its
    expansion never ends (a prime factor other than 2 and 5)."""
    twos = (denominator & -denominator).bit_length() - 1
    rest, fives = denominator >> twos, 0
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    return max(twos, fives) if rest == 1 else None


def _shown(units: Fraction) -> tuple[Decimal, str]:
    """An amount of units as a currency Decimal with 5 to 12 places (see the module docstring),
    and exactly, as `exact` writes it. Integer arithmetic: a quote renders five amounts, and
    Fraction arithmetic made rendering cost more than pricing."""
    amount = units / SCALE
    numerator, denominator = amount.numerator, amount.denominator
    places = _places(denominator)
    if places is None:
        text = f"{numerator}/{denominator}"
    else:
        text = format(_fixed(numerator * 10**places // denominator, places).normalize(), "f")
    if places is not None and places <= _MAX_PLACES:
        shown = max(places, 5)
        return _fixed(numerator * 10**shown // denominator, shown), text
    return _fixed(round_half_up(amount * 10**_MAX_PLACES), _MAX_PLACES), text


def price(rate: Rate, billsec: int) -> Breakdown:
    """Price `billsec` billable seconds at `rate`; negative durations are a ValueError."""
    billsec = operator.index(billsec)
    if billsec < 0:
        raise ValueError(f"billsec must not be negative, got {billsec}")
    if billsec <= rate.grace_period:
        return Breakdown(
            rate.prefix, rate.id, rate.type, billsec, True,
            _ZERO, 0, _ZERO, 0, 0, 0, _ZERO, _ZERO, _ZERO, 0,
        )
    after_first = max(billsec - rate.interval_1, 0)
    free = min(rate.free_seconds, after_first)
    rest = after_first - free
    intervals = -(-rest // rate.interval_n)
    connect_fee = Fraction(rate.connect_fee)
    first = Fraction(rate.price_1 * rate.interval_1, SECONDS_PER_MINUTE)
    rest_amount = Fraction(intervals * rate.price_n * rate.interval_n, SECONDS_PER_MINUTE)
    subtotal = connect_fee + first + rest_amount
    surcharge = subtotal * rate.postcall_surcharge / SCALE
    return Breakdown(
        rate.prefix, rate.id, rate.type, billsec, False,
        connect_fee, rate.interval_1, first, free, rest, intervals, rest_amount,
        subtotal, surcharge, round_half_up(subtotal + surcharge),
    )


_EXACT = Context(prec=MAX_PREC)  # scaling never rounds, however many digits an amount has


def _fixed(coefficient: int, places: int) -> Decimal:
    """coefficient × 10^-places, exactly."""
    return Decimal(coefficient).scaleb(-places, _EXACT)
