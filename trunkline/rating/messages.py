"""The price of a message: an SMS plan's rate read per segment.

A rate of an SMS plan (a plan whose service is `sms`) keeps the deck's columns with these
meanings: `price_1` is the price of one segment, `connect_fee` a fee per message and
`postcall_surcharge` a fraction added to both; the interval, free-second, grace and `price_n`
columns play no part. Exact, rounded once, half up, as calls are.
"""

import operator
from fractions import Fraction

from .deck import Rate
from .money import SCALE
from .pricing import round_half_up


def price_message(rate: Rate, segments: int) -> int:
    """What `segments` segments cost at `rate`, in units; a ValueError below one segment."""
    segments = operator.index(segments)
    if segments < 1:
        raise ValueError(f"a message has at least one segment, got {segments}")
    subtotal = rate.connect_fee + rate.price_1 * segments
    return round_half_up(Fraction(subtotal * (SCALE + rate.postcall_surcharge), SCALE))
