"""How long may a call run on what an account has left (the switch's authorization question).

Exact and pure: the answer is searched with `price` itself, so it agrees with what the
call will cost once its CDR is rated, to the unit.
"""

from .deck import Rate
from .pricing import price

MAX_CALL_SECONDS = 86_400  # the longest call ever authorized: a day


def max_seconds(rate: Rate, available: int, cap: int = MAX_CALL_SECONDS) -> int:
    """The longest call, in billable seconds up to `cap`, whose cost fits in `available` units.

    A duration fits when its cost is at most `available`, or is 0 (a call that costs nothing is
    never refused, whatever the balance). Cost never falls as a call gets longer, so the fitting
    durations are 0..D and D is found by bisection. The answer is D, except 0 when D stops within
    the grace period short of `cap`: then not even the cheapest charged call (grace_period + 1 s)
    fits, and a call that must end before it is charged is not worth starting.
    """
    budget = max(available, 0)

    def fits(seconds: int) -> bool:
        return price(rate, seconds).cost_units <= budget

    if fits(cap):  # always so when cap is within the grace period
        return cap
    if not fits(rate.grace_period + 1):
        return 0
    low, high = rate.grace_period + 1, cap  # fits(low), not fits(high)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low
