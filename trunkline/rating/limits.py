"""How long may a call run on what an account has left (the switch's authorization question).

Exact and pure: the answer solves the engine's own cost formula (see `pricing.price`), so it
agrees with what the call will cost once its CDR is rated, to the unit. tests/test_rating_engine
holds it to a bisection over `price` and to a scan of every duration.
"""

from .deck import Rate
from .pricing import DENOMINATOR, SCALE

MAX_CALL_SECONDS = 86_400  # the longest call ever authorized: a day


def max_seconds(rate: Rate, available: int, cap: int = MAX_CALL_SECONDS) -> int:
    """The longest call, in billable seconds up to `cap`, whose cost fits in `available` units.

    A duration fits when its cost is at most `available`, or is 0 (a call that costs nothing is
    never refused, whatever the balance). Cost never falls as a call gets longer, so the fitting
    durations are 0..D. The answer is D, except 0 when D stops within the grace period short of
    `cap`: then not even the cheapest charged call (grace_period + 1 s) fits, and a call that
    must end before it is charged is not worth starting.

    A charged call of k rest intervals costs round_half_up((base + k·per)·mult / DENOMINATOR)
    units (base: connect fee·60 + price_1·interval_1, per: price_n·interval_n, mult: SCALE +
    surcharge), so the most intervals that fit is one division, not a search over `price`.
    """
    if cap <= rate.grace_period:
        return cap
    budget = max(available, 0)
    base = rate.connect_fee * 60 + rate.price_1 * rate.interval_1
    per = rate.price_n * rate.interval_n
    mult = SCALE + rate.postcall_surcharge
    # round_half_up(n / DENOMINATOR) <= budget  <=>  n <= most (DENOMINATOR is even)
    most = DENOMINATOR * (budget + 1) - DENOMINATOR // 2 - 1
    covered = rate.interval_1 + rate.free_seconds  # billable seconds with no rest interval
    first = rate.grace_period + 1  # the cheapest charged call
    first_intervals = -(-max(first - covered, 0) // rate.interval_n)
    if (base + first_intervals * per) * mult > most:
        return 0
    if per == 0:  # every charged length costs the same, and it fits
        return cap
    intervals = (most - base * mult) // (per * mult)
    return min(cap, covered + intervals * rate.interval_n)
