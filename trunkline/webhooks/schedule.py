"""When a failed delivery is tried again: the Standard Webhooks (Svix) schedule.

Attempt 1 is immediate; a failure waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h before
attempts 2 to 8, about 28 hours in all, so a receiver down for most of a day still gets every
event. Each wait is stretched or shortened by up to a tenth at random, so the retries of
deliveries that failed together (a receiver's outage) do not all arrive together.
"""

import random
from collections.abc import Callable
from datetime import datetime, timedelta

RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1


def next_attempt_at(attempts: int, now: datetime, chance: Callable[[], float] = random.random) -> datetime | None:
    """When to try again after `attempts` failed attempts; None once all have been made."""
    if attempts >= ATTEMPTS:
        return None
    return now + RETRY_DELAYS[attempts - 1] * (1 + JITTER * (2 * chance() - 1))
