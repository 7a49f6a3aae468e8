"""How the versions of a prefix in one period follow each other: each is in force from its
start until the next one starts, or until an earlier end of its own (a replaced plan ends the
prefixes it no longer has), so no two are ever in force at once.

`Line` keeps one prefix's versions for a single write, `Plan` a whole plan's for an import;
both return the ends (effective_to) that changed, for the repository to store.
"""

from collections.abc import Iterable, Iterator
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


class Line:
    """One prefix's versions in one period: [start, end, id] sorted by start."""

    def __init__(self, rows: Iterable[tuple]) -> None:
        self.slots = sorted([start, end, rate] for start, end, rate in rows)

    def at(self, start: datetime) -> Any:
        """The id of the version starting exactly at `start`, if any."""
        return next((rate for begins, _, rate in self.slots if begins == start), None)

    def insert(self, rate: int, start: datetime) -> dict[int, datetime | None]:
        self.slots.append([start, None, rate])
        self.slots.sort(key=lambda slot: slot[0])
        return self.chain()

    def remove(self, rate: int) -> dict[int, datetime | None]:
        """Take a version out; the one before it runs on to where it ended."""
        index = next(i for i, slot in enumerate(self.slots) if slot[2] == rate)
        start, end, _ = self.slots.pop(index)
        if index and self.slots[index - 1][1] == start:
            self.slots[index - 1][1] = end
            return {self.slots[index - 1][2]: end}
        return {}

    def chain(self) -> dict[int, datetime | None]:
        """End each version where the next starts, unless it ended earlier; the changed ends."""
        changed = {}
        for before, after in pairwise(self.slots):
            if before[1] is None or before[1] > after[0]:
                before[1] = after[0]
                changed[before[2]] = after[0]
        last = self.slots[-1] if self.slots else None
        if last is not None and last[1] is not None and last[1] <= last[0]:
            last[1] = None
            changed[last[2]] = None
        return changed


class Plan:
    """A plan's stored versions, keyed by (prefix, period), for an import to place rows into."""

    def __init__(self, rows: Iterable[tuple]) -> None:
        self.lines: dict[tuple[str, str], Line] = {}
        self.stored: dict[int, datetime | None] = {}
        grouped: dict[tuple[str, str], list] = {}
        for prefix, period, start, end, rate in rows:
            grouped.setdefault((prefix, period), []).append((start, end, rate))
            self.stored[rate] = end
        self.lines = {key: Line(slots) for key, slots in grouped.items()}
        self.touched: set[tuple[str, str]] = set()

    def place(self, rows: list[dict[str, Any]], fresh_ids: Iterator[int]) -> tuple[list[dict], list[dict]]:
        """Rows (with prefix, period and effective_from) as new versions to insert and stored ones
        to update in place, each with its `id`."""
        fresh, changed = [], []
        for row in rows:
            key = (row["prefix"], row["period"])
            line = self.lines.setdefault(key, Line([]))
            existing = line.at(row["effective_from"])
            if existing is None:
                row["id"] = next(fresh_ids)
                line.slots.append([row["effective_from"], None, row["id"]])
                self.stored[row["id"]] = None
                fresh.append(row)
                self.touched.add(key)
            else:
                row["id"] = existing
                changed.append(row)
        return fresh, changed

    def end_absent(self, at: datetime, kept: set[tuple[str, str]]) -> list[int]:
        """End at `at` the version in force then of every prefix and period not in `kept`; the
        ids of their versions starting at `at` or later, which the new list replaces before they
        take effect (the caller deletes them)."""
        dropped = []
        for key, line in self.lines.items():
            if key in kept:
                continue
            for slot in line.slots:
                if slot[0] >= at:
                    dropped.append(slot[2])
                elif slot[1] is None or slot[1] > at:
                    slot[1] = at
            line.slots = [slot for slot in line.slots if slot[0] < at]
            self.touched.add(key)
        return dropped

    def ends(self) -> dict[int, datetime | None]:
        """The ends that differ from the stored ones, once every touched line is chained."""
        for key in self.touched:
            line = self.lines[key]
            line.slots.sort(key=lambda slot: slot[0])
            line.chain()
        return {slot[2]: slot[1] for key in self.touched for slot in self.lines[key].slots if self.stored.get(slot[2]) != slot[1]}
