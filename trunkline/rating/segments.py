"""Vectorised longest-prefix match for prefixes of up to 18 digits.

A prefix p of length L owns the range [p·10^(18−L), (p+1)·10^(18−L)) of 18-digit
values, and the ranges of distinct prefixes are nested or disjoint. At load they
are flattened into sorted, non-overlapping segments labelled with the deepest
range (the longest prefix), so matching a number right-padded with zeros to 18
digits means finding the segment that holds its value. A table over the first
`bucket_digits` digits names that segment directly for most numbers; buckets
split by longer prefixes get a short branchless binary search. Padding can put a
number shorter than a prefix inside its range ("44" → 4400…0 lies in "440"); such
matches are walked up to the longest enclosing prefix no longer than the number.
"""

from collections.abc import Sequence

import numpy as np

DIGITS = 18
POW10 = 10 ** np.arange(DIGITS + 1, dtype=np.int64)


class PrefixIndex:
    """Labels are positions in `prefixes`; prefixes longer than 18 digits are
    left out (the caller must handle numbers that could match them)."""

    def __init__(self, prefixes: Sequence[str], bucket_digits: int) -> None:
        count = len(prefixes)
        lengths = np.fromiter(map(len, prefixes), np.int64, count)
        short = np.flatnonzero(lengths <= DIGITS)
        values = np.fromiter((int(prefixes[i]) for i in short.tolist()), np.int64, len(short))
        size = POW10[DIGITS - lengths[short]]
        starts = values * size

        # One sentinel slot at the end, so label -1 reads length 0 and parent -1.
        self.lengths = np.zeros(count + 1, np.int64)
        self.lengths[:count] = lengths
        self.parent = np.full(count + 1, -1, np.int64)
        self.parent[short] = _parents(values, lengths[short], short)
        ends = np.zeros(count + 1, np.int64)
        ends[short] = starts + size
        self.bounds, self.labels = _segments(starts, short, self.parent, ends)

        self._step = int(POW10[DIGITS - bucket_digits])
        self._buckets = _bucket_table(self.bounds, bucket_digits)

    def lookup(self, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Label of the longest prefix of each number, or -1.

        `values` are the numbers' first 18 digits, right-padded with zeros, as
        int64; `lengths` their full digit counts.
        """
        bucket = values // self._step
        entry = self._buckets.take(bucket)
        segment = (entry >> 1) + (entry & 1) - 1
        span = (self._buckets.take(bucket + 1) >> 1) - 1 - segment
        busy = np.flatnonzero(span)
        if busy.size:
            segment[busy] = self._search(values.take(busy), segment.take(busy), span.take(busy) + 1)
        label = self.labels.take(segment)
        walk = np.flatnonzero(self.lengths.take(label) > lengths)
        while walk.size:
            label[walk] = self.parent.take(label.take(walk))
            walk = walk[(label.take(walk) >= 0) & (self.lengths.take(label.take(walk)) > lengths.take(walk))]
        return label

    def _search(self, values: np.ndarray, low: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Last segment starting at or before each value, within [low, low + size)."""
        for _ in range((int(size.max()) - 1).bit_length()):
            half = size >> 1
            middle = low + half
            low = np.where(self.bounds.take(middle) <= values, middle, low)
            size -= half
        return low


def _bucket_table(bounds: np.ndarray, digits: int) -> np.ndarray:
    """Where numbers sharing their first `digits` digits (a bucket) can land.

    Entry b is 2 × (segments starting before bucket b) + (1 if one starts
    exactly at its first number), one more entry closing the last bucket. A
    number in bucket b lies in segment first..last, where
    first = (entry[b] >> 1) + (entry[b] & 1) - 1 and last = (entry[b + 1] >> 1) - 1.
    """
    step = int(POW10[DIGITS - digits])
    bucket = bounds // step
    # Segments starting before bucket b, as a step function over b = 0 .. 10^digits.
    runs = np.diff(np.concatenate(([-1], bucket, [10**digits])))
    table = np.repeat(np.arange(len(bounds) + 1, dtype=np.int32), runs)
    table *= 2
    table[bucket[bounds % step == 0]] += 1
    return table


def _parents(values: np.ndarray, lengths: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Label of each prefix's longest proper prefix in the set, or -1."""
    parent = np.full(len(values), -1, np.int64)
    for length in np.unique(lengths):
        own = lengths == length
        order = np.argsort(values[own])
        keys, owners = values[own][order], labels[own][order]
        longer = np.flatnonzero(lengths > length)
        heads = values[longer] // POW10[lengths[longer] - length]
        at = np.minimum(np.searchsorted(keys, heads), len(keys) - 1)
        hit = keys[at] == heads
        parent[longer[hit]] = owners[at[hit]]  # later (longer) lengths overwrite
    return parent


def _segments(
    starts: np.ndarray, labels: np.ndarray, parent: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted segment starts (from 0) and the label owning each segment (-1: none),
    from the ranges' `starts` (one per label) and `ends` and `parent` (by label).

    A segment starting where a prefix starts belongs to the deepest prefix
    starting there. One starting where prefix i ends belongs to the deepest
    ancestor of i still open there (nested ranges: all ranges holding that point
    and starting before it enclose i).
    """
    order = np.lexsort((-ends[labels], starts))  # by start, outer ranges first
    starts, labels = starts[order], labels[order]
    deepest = _last_of_runs(starts)
    start_points, start_labels = starts[deepest], labels[deepest]

    end_points, first = np.unique(ends[labels], return_index=True)
    owner = parent[labels[first]]
    open_ = np.flatnonzero(owner >= 0)
    while open_.size:
        closed = open_[ends[owner[open_]] == end_points[open_]]
        owner[closed] = parent[owner[closed]]
        open_ = closed[owner[closed] >= 0]

    points = np.concatenate(([0], end_points, start_points))
    owners = np.concatenate(([-1], owner, start_labels))
    rank = np.concatenate(([0], np.full(len(end_points), 1), np.full(len(start_points), 2)))
    order = np.lexsort((rank, points))
    points, owners = points[order], owners[order]
    keep = _last_of_runs(points) & (points < POW10[DIGITS])
    points, owners = points[keep], owners[keep]
    change = np.append(True, owners[1:] != owners[:-1])
    return points[change], owners[change]


def _last_of_runs(values: np.ndarray) -> np.ndarray:
    """Mask of the last element of each run of equal values."""
    last = np.ones(len(values), bool)
    last[:-1] = values[1:] != values[:-1]
    return last
