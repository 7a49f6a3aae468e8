"""Vectorised rating against a rate plan over time, identical to `PlanDeck.rate_call` row for row.

Calls are split by the period at their start. Per period, a prefix index finds each number's
longest prefix that has a rate for that period or for every period; the version in force at
the call's start is then one search in that prefix's sorted versions. A call whose longest
prefix has no version in force then (a prefix not yet started, or ended) may still match a
shorter one, so it goes to the scalar path with the other rows `bulk` leaves to it.
"""

import numpy as np

from .bulk import INT64_MAX, INVALID, NO_MATCH, RATED, BulkRater, BulkResult, checked, empty_result, parse_numbers, price_rows, price_table
from .numbers import normalize_number
from .plans import PlanDeck
from .pricing import price
from .schedule import ALL_PERIODS
from .segments import DIGITS, PrefixIndex


class PlanRater:
    """A plan compiled for batches. A plan without dates or periods is a plain deck and is
    rated by `BulkRater` itself."""

    def __init__(self, plan: PlanDeck) -> None:
        self.plan = plan
        self._plain = BulkRater(plan.deck) if plan.timeless else None
        if self._plain is None:
            self._prices = price_table(plan.rates)
            self._ids = np.array([rate.id for rate in plan.rates] + [-1], np.int64)
            self._views = [_PeriodView(plan, name) for name in plan.schedule.names]

    def rate(self, numbers, billsec, starts_us, periods: np.ndarray | None = None) -> BulkResult:
        """Rate calls to `numbers` of `billsec` seconds started at `starts_us` (microseconds
        since the epoch); `rate_index` is a position in `plan.rates`. `periods`: the calls'
        periods when the caller has them already (`Schedule.periods_at`)."""
        if self._plain is not None:
            return self._plain.rate(numbers, billsec)
        numbers, billsec = checked(numbers, billsec)
        starts_us = np.asarray(starts_us, np.int64)
        if starts_us.shape != numbers.shape:
            raise ValueError("starts must be a 1-D array as long as numbers")
        size = len(numbers)
        if size == 0:
            return empty_result()
        if periods is None:
            periods = self.plan.schedule.periods_at(starts_us)
        status = np.empty(size, np.int8)
        label = np.full(size, -1, np.int64)
        cost = np.empty(size, np.int64)
        odd_rows = []
        for period in np.unique(periods).tolist():
            rows = np.flatnonzero(periods == period)
            view = self._views[period]
            values, lengths, plain = parse_numbers(numbers[rows])
            found, missed = view.find(values, lengths, starts_us[rows])
            if view.long_heads.size:
                plain &= ~((lengths > DIGITS) & np.isin(values, view.long_heads))
            part_cost, unsafe = price_rows(np.take(self._prices, found, axis=0), billsec[rows])
            unmatched = found < 0
            np.copyto(part_cost, -1, where=unmatched)
            label[rows] = found
            cost[rows] = part_cost
            status[rows] = np.where(unmatched, NO_MATCH, RATED)
            odd_rows.append(rows[~plain | missed | (unsafe & ~unmatched)])
        names = self.plan.schedule.names
        for row in np.concatenate(odd_rows).tolist():
            self._rate_one(numbers[row], int(billsec[row]), int(starts_us[row]), names[periods[row]], row, status, label, cost)
        return BulkResult(status, label, self._ids[label], cost)

    def _rate_one(self, number, billsec: int, start_us: int, period: str, row: int, status, label, cost) -> None:
        text = number.decode("latin-1") if isinstance(number, bytes) else str(number)
        digits = normalize_number(text)
        found = None if digits is None else self.plan.find(digits, start_us, period)
        if found is None:
            status[row] = INVALID if digits is None else NO_MATCH
            label[row] = cost[row] = -1
            return
        units = price(self.plan.rates[found], billsec).cost_units
        if units > INT64_MAX:
            raise OverflowError(f"row {row}: cost {units} units does not fit in int64")
        status[row], label[row], cost[row] = RATED, found, units


class _PeriodView:
    """For one period: the index over prefixes with a rate for it or for every period, and per
    prefix the versions of each kind as one sorted array (prefix rank, start rank)."""

    def __init__(self, plan: PlanDeck, period: str) -> None:
        kinds = (period, ALL_PERIODS) if period != ALL_PERIODS else (ALL_PERIODS,)
        lines = plan.lines
        keys = sorted({prefix for prefix, kind in lines if kind in kinds})
        self.index = PrefixIndex(keys, min(len(str(len(keys))) + 1, 7))
        long = [key for key in keys if len(key) > DIGITS]
        self.long_heads = np.unique(np.array([int(key[:DIGITS]) for key in long], np.int64))
        self._tables = [_Versions(keys, lines, kind) for kind in kinds]

    def find(self, values, lengths, starts_us) -> tuple[np.ndarray, np.ndarray]:
        """Rate positions (-1: none) and the rows whose longest prefix had nothing in force."""
        keys = self.index.lookup(values, lengths)
        found = np.full(len(keys), -1, np.int64)
        for table in self._tables:
            open_rows = (found < 0) & (keys >= 0)
            found[open_rows] = table.find(keys[open_rows], starts_us[open_rows])
        return found, (found < 0) & (keys >= 0)


class _Versions:
    """The versions of one kind (one period, or every period) of each prefix key, searchable by
    (key, moment) at once: a version's place is key × starts + the rank of its start."""

    def __init__(self, keys: list[str], lines: dict, kind: str) -> None:
        rows = []
        for key_index, key in enumerate(keys):
            line = lines.get((key, kind))
            if line is not None:
                rows += [(key_index, start, end, position) for start, end, position in zip(*line)]
        key, start, end, position = (np.array(column, np.int64) for column in zip(*rows)) if rows else [np.empty(0, np.int64)] * 4
        self._starts = np.unique(start)
        self._width = max(len(self._starts), 1)
        self._places = key * self._width + np.searchsorted(self._starts, start)
        order = np.argsort(self._places, kind="stable")
        self._places, self._keys, self._ends, self._positions = self._places[order], key[order], end[order], position[order]

    def find(self, keys: np.ndarray, moments: np.ndarray) -> np.ndarray:
        if not len(self._places):
            return np.full(len(keys), -1, np.int64)
        wanted = keys * self._width + np.searchsorted(self._starts, moments, side="right") - 1
        at = np.searchsorted(self._places, wanted, side="right") - 1
        safe = np.maximum(at, 0)
        hit = (at >= 0) & (self._keys[safe] == keys) & (moments < self._ends[safe])
        return np.where(hit, self._positions[safe], -1)
