"""A rate plan's deck over time: every version of every rate, each in force in its period from
its start to its end, and the plan's schedule of periods.

A call is matched at its start: the longest prefix with a rate in force at that moment, for
the call's period or for every period; a rate given for the call's period wins over one given
for every period on the same prefix.
"""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from .calls import INVALID_NUMBER, NO_MATCHING_PREFIX, Rated, Unrated
from .deck import Deck, Rate
from .numbers import normalize_number
from .pricing import price
from .schedule import ALL_PERIODS, Schedule, epoch_us

ALWAYS_FROM = -(2**63)  # a version in force from the beginning
ALWAYS_TO = 2**63 - 1  # a version not (yet) ended


@dataclass(frozen=True, slots=True)
class Version:
    """When a rate is in force: in `period` (ALL_PERIODS: every period) from `start` up to but
    not including `end`, both microseconds since the epoch."""

    period: str = ALL_PERIODS
    start: int = ALWAYS_FROM
    end: int = ALWAYS_TO


ALWAYS = Version()  # in force from the beginning, in every period, not ended


class Overlap(ValueError):
    """Two versions of one prefix and period in force at the same moment."""

    def __init__(self, first: Rate, second: Rate) -> None:
        super().__init__(f"rates {first.id} and {second.id} of prefix {first.prefix} are in force at the same time")
        self.rates = (first, second)


class PlanDeck:
    """The rates of one plan with their versions (aligned with `rates`), matched at a moment."""

    __slots__ = ("_deck", "_lengths", "lines", "rates", "schedule", "timeless", "versions")

    def __init__(self, rates: Sequence[Rate], versions: Sequence[Version], schedule: Schedule) -> None:
        if len(rates) != len(versions):
            raise ValueError("one version per rate")
        self.rates = tuple(rates)
        self.versions = tuple(versions)
        self.schedule = schedule
        # One version per prefix, in force always and in every period: a plain deck (the default
        # plan of most organizations, and any plan never dated), matched and rated exactly as
        # before plans, and built as fast (a deck of 300,000 is rebuilt after every change).
        self.timeless = all(version is ALWAYS or version == ALWAYS for version in self.versions)
        self._deck = Deck(self.rates) if self.timeless else None  # ValueError on a prefix twice
        self.lines: dict[tuple[str, str], tuple[list[int], list[int], list[int]]] = {}
        self._lengths: list[int] = []
        if not self.timeless:
            self._index_versions()

    def _index_versions(self) -> None:
        """Each prefix and period's versions, sorted by start and checked: a period the plan
        has, a start before the end, never two in force at once."""
        lines: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
        schedule = self.schedule
        for index, (rate, version) in enumerate(zip(self.rates, self.versions)):
            if version.period not in (ALL_PERIODS, *schedule.names):
                raise ValueError(f"rate {rate.id}: the plan has no period {version.period!r}")
            if version.start >= version.end:
                raise ValueError(f"rate {rate.id}: it ends before it starts")
            lines.setdefault((rate.prefix, version.period), []).append((version.start, version.end, index))
        for line in lines.values():
            line.sort()
            for (_, end, before), (start, _, after) in pairwise(line):
                if start < end:
                    raise Overlap(self.rates[before], self.rates[after])
        # Per (prefix, period): starts, ends and rate positions, sorted by start.
        self.lines = {key: tuple(map(list, zip(*line))) for key, line in lines.items()}
        self._lengths = sorted({len(rate.prefix) for rate in self.rates}, reverse=True)

    def __len__(self) -> int:
        return len(self.rates)

    @property
    def deck(self) -> Deck | None:
        """The plain deck of a timeless plan (None otherwise)."""
        return self._deck

    def find(self, digits: str, moment_us: int, period: str) -> int | None:
        """Position in `rates` of the rate pricing a call to `digits` (normalised) started at
        `moment_us` in `period`, if any."""
        if self._deck is not None:
            rate = self._deck.match(digits)
            return None if rate is None else self._deck.index(rate.prefix)
        lines = self.lines
        size = len(digits)
        for length in self._lengths:
            if length > size:
                continue
            prefix = digits[:length]
            for key in ((prefix, period), (prefix, ALL_PERIODS)) if period != ALL_PERIODS else ((prefix, period),):
                line = lines.get(key)
                if line is not None:
                    starts, ends, positions = line
                    at = bisect.bisect_right(starts, moment_us) - 1
                    if at >= 0 and moment_us < ends[at]:
                        return positions[at]
        return None

    def match(self, number: str, moment: datetime) -> Rate | None:
        """The rate pricing a call to `number` (as dialled) started at `moment`, if any."""
        digits = normalize_number(number)
        if digits is None:
            return None
        return self._match(digits, moment)

    def _match(self, digits: str, moment: datetime) -> Rate | None:
        if self._deck is not None:  # no dates, no periods: the plain deck's one probe per length
            return self._deck.match(digits)
        found = self.find(digits, epoch_us(moment), self.schedule.period_at(moment))
        return None if found is None else self.rates[found]

    def rate_call(self, number: str, billsec: int, moment: datetime) -> Rated | Unrated:
        """Rate one call started at `moment`, as `rating.rate_call` does on a plain deck."""
        if billsec < 0:
            raise ValueError(f"billsec must not be negative, got {billsec}")
        digits = normalize_number(number)
        if digits is None:
            return Unrated(INVALID_NUMBER, number)
        rate = self._match(digits, moment)
        if rate is None:
            return Unrated(NO_MATCHING_PREFIX, number)
        return Rated(rate, price(rate, billsec))
