"""How the versions of a prefix in one period follow each other: each is in force from its
start until the next one starts, or until an earlier end of its own (a replaced plan ends the
prefixes it no longer has), so no two are ever in force at once.

`Line` keeps one prefix's versions for a single write, `Plan` a whole plan's for an import;
both return the ends (effective_to) that changed, for the repository to store.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import pairwise
from typing import Any

from trunkline.db.tables import EVER
from trunkline.kit.failures import Conflict


class DuplicatePrefix(Conflict):
    """The plan already has this prefix in force from the beginning, in this period."""

    def __init__(self, prefix: str | None) -> None:
        super().__init__(f"A call rate with prefix {prefix} already exists in this deck", code="DUPLICATE_PREFIX")


class OverlappingRates(Conflict):
    """Another rate of this prefix and period starts at the same moment."""


def clash(row: dict[str, Any], existing_id: str) -> Conflict:
    """The conflict of a rate starting where another version of its prefix and period starts."""
    if row["effective_from"] == EVER:
        return DuplicatePrefix(row["prefix"])
    period = f" in period {row['period']}" if row.get("period") else ""
    return OverlappingRates(
        f"Call rate {existing_id} of prefix {row['prefix']}{period} already takes effect at {row['effective_from'].isoformat()}: "
        "the new rate would be in force at the same time",
        code="OVERLAPPING_RATES",
    )


def starting_at(slots: list[list], start: datetime) -> Any:
    """The id of the version of `slots` ([start, end, id] each) starting exactly at `start`, if any."""
    return next((rate for begins, _, rate in slots if begins == start), None)


def chain(slots: list[list]) -> dict[int, datetime | None]:
    """End each version where the next starts, unless it ended earlier (`slots` sorted by start);
    the changed ends."""
    changed = {}
    for before, after in pairwise(slots):
        if before[1] is None or before[1] > after[0]:
            before[1] = after[0]
            changed[before[2]] = after[0]
    return changed


class Line:
    """One prefix's versions in one period: [start, end, id] sorted by start."""

    def __init__(self, rows: Iterable[tuple]) -> None:
        self.slots = sorted([start, end, rate] for start, end, rate in rows)

    def at(self, start: datetime) -> Any:
        """The id of the version starting exactly at `start`, if any."""
        return starting_at(self.slots, start)

    def insert(self, rate: int, start: datetime) -> dict[int, datetime | None]:
        self.slots.append([start, None, rate])
        self.slots.sort(key=lambda slot: slot[0])
        return chain(self.slots)

    def remove(self, rate: int) -> dict[int, datetime | None]:
        """Take a version out; the one before it runs on to where it ended."""
        index = next(i for i, slot in enumerate(self.slots) if slot[2] == rate)
        start, end, _ = self.slots.pop(index)
        if index and self.slots[index - 1][1] == start:
            self.slots[index - 1][1] = end
            return {self.slots[index - 1][2]: end}
        return {}


class Plan:
    """A plan's stored versions, keyed by (prefix, period), for an import to place rows into.

    Most prefixes have one version, kept as the stored row itself; a line of slots is made only
    for a prefix that gets a second version or a new end (a deck has 300,000 prefixes, and making
    two lists for each took a second of an import)."""

    def __init__(self, rows: Iterable[tuple], moment: Callable[[Any], datetime | None] = lambda value: value) -> None:
        self.single: dict[tuple[str, str], tuple] = {}  # (start, end, id), times as stored
        self.lines: dict[tuple[str, str], list[list]] = {}
        self.stored: dict[int, Any] = {}
        self.moment = moment
        for prefix, period, start, end, rate in rows:
            key = (prefix, period)
            self.stored[rate] = end
            if key in self.lines:
                self.lines[key].append([moment(start), moment(end), rate])
            elif key in self.single:
                first = self.single.pop(key)
                self.lines[key] = [[moment(first[0]), moment(first[1]), first[2]], [moment(start), moment(end), rate]]
            else:
                self.single[key] = (start, end, rate)
        self.touched: set[tuple[str, str]] = set()

    def slots(self, key: tuple[str, str]) -> list[list] | None:
        """The key's versions as a line of slots (made now for a single stored one), if any."""
        slots = self.lines.get(key)
        if slots is None and key in self.single:
            start, end, rate = self.single.pop(key)
            slots = self.lines[key] = [[self.moment(start), self.moment(end), rate]]
        return slots

    def place(self, rows: list[dict[str, Any]], fresh_ids: Iterator[int]) -> tuple[list[dict], list[dict]]:
        """Rows (with prefix, period and effective_from) as new versions to insert and stored ones
        to update in place, each with its `id`."""
        fresh, changed = [], []
        only: dict[tuple[str, str], dict] = {}  # a new prefix's one version so far: its row (no slot to make)
        for row in rows:
            key = (row["prefix"], row["period"])
            start = row["effective_from"]
            stored = self.single.get(key)
            if stored is not None and self.moment(stored[0]) == start:  # the usual re-import: no line to make
                row["id"] = stored[2]
                changed.append(row)
                continue
            slots = self.slots(key)
            existing = None if slots is None else starting_at(slots, start)
            if existing is not None:
                row["id"] = existing
                changed.append(row)
                continue
            row["id"] = next(fresh_ids)
            fresh.append(row)
            if slots is None:
                first = only.setdefault(key, row)
                if first is row:  # most of a new deck: nothing to chain
                    continue
                slots = self.lines[key] = [[first["effective_from"], None, first["id"]]]
            slots.append([start, None, row["id"]])
            self.touched.add(key)
        return fresh, changed

    def end_absent(self, at: datetime, kept: set[tuple[str, str]]) -> list[int]:
        """End at `at` the version in force then of every prefix and period not in `kept`; the
        ids of their versions starting at `at` or later, which the new list replaces before they
        take effect (the caller deletes them)."""
        dropped = []
        for key in [key for key in (*self.single, *self.lines) if key not in kept]:
            slots = self.slots(key)
            for slot in slots:
                if slot[0] >= at:
                    dropped.append(slot[2])
                elif slot[1] is None or slot[1] > at:
                    slot[1] = at
            self.lines[key] = [slot for slot in slots if slot[0] < at]
            self.touched.add(key)
        return dropped

    def ends(self) -> dict[int, datetime | None]:
        """The ends that differ from the stored ones (a new version's: None), once every touched
        line is chained."""
        for key in self.touched:
            slots = self.lines[key]
            slots.sort(key=lambda slot: slot[0])
            chain(slots)
        stored, moment = self.stored, self.moment
        return {slot[2]: slot[1] for key in self.touched for slot in self.lines[key] if moment(stored.get(slot[2])) != slot[1]}
