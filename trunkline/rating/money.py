"""Exact money: amounts are stored and computed as integers of 10⁻⁵ ("units").

Rates carry five decimal places, so one unit is the smallest amount
a rate can express. Binary floats never touch money; Decimal is used only at
the edges (parsing input, rendering output).
"""

from decimal import Decimal, InvalidOperation

PLACES = 5
SCALE = 10**PLACES


class MoneyError(ValueError):
    """An amount that is not a finite decimal with at most five places."""


def to_units(value: Decimal | int | str) -> int:
    """Exact conversion to units; more than five decimal places is an error, never rounded."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not a decimal number") from None
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not a finite number")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PLACES:
        raise MoneyError(f"{value} has more than {PLACES} decimal places")
    return int(amount.scaleb(PLACES))


def from_units(units: int) -> Decimal:
    """Units back to a Decimal with exactly five places (e.g. 1200 -> 0.01200): an integer's
    exponent is 0, so scaling it gives -5, exactly, for any int64 (a report renders 300,000)."""
    return Decimal(units).scaleb(-PLACES)
