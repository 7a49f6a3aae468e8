"""Vectorised rating of CDR batches, identical to `rate_call` row for row.

Numbers come as a numpy bytes ('S') or str ('U') array, or a sequence numpy
turns into one; bytes are read as Latin-1, so any non-ASCII byte makes a number
invalid, as it would be on the scalar path. Rows that are plain ASCII digits,
optionally led by one "+" or "00", are parsed, matched and priced with numpy,
chunk by chunk, on several threads (numpy releases the GIL). Every other row is
rated by `rate_call` itself: numbers needing the full normalisation (separators,
bad characters, empty), numbers that could match a prefix longer than 18 digits,
and calls whose integer arithmetic could overflow int64. So the results equal
the scalar path's for every row, at numpy speed for the ordinary ones.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .calls import INVALID_NUMBER, NO_MATCHING_PREFIX, Rated, rate_call
from .deck import Deck, Rate
from .pricing import DENOMINATOR
from .segments import DIGITS, PrefixIndex

RATED, INVALID, NO_MATCH = 0, 1, 2
REASONS = {INVALID: INVALID_NUMBER, NO_MATCH: NO_MATCHING_PREFIX}

INT64_MAX = 2**63 - 1
# Rounding adds DENOMINATOR // 2, so numerators must stay below this.
_NUMERATOR_LIMIT = INT64_MAX - DENOMINATOR // 2
_SAFE_FIELD = 2**31  # below this, the price table is computed without overflow
_SAFE_SECONDS = 2**62  # above this, a rate is priced exactly only
_PLUS, _ZERO = ord("+"), ord("0")


@dataclass(frozen=True, slots=True, eq=False)
class BulkResult:
    """Per-row arrays. Unrated rows have rate_index = rate_id = cost_units = -1
    and status INVALID or NO_MATCH (REASONS gives the scalar reason string);
    filter on `rated` before summing costs."""

    status: np.ndarray  # int8: RATED, INVALID or NO_MATCH
    rate_index: np.ndarray  # int64 position in deck.rates
    rate_id: np.ndarray  # int64 Rate.id
    cost_units: np.ndarray  # int64

    @property
    def rated(self) -> np.ndarray:
        return self.status == RATED

    def __len__(self) -> int:
        return len(self.status)


class BulkRater:
    """A deck compiled for batches: prefix index plus a per-rate price table.

    `bucket_digits` sizes the index's direct table (10^digits entries; chosen
    from the deck size by default), `chunk_size` the rows numpy handles at a
    time, `threads` how many chunks run at once (default: every usable core).
    """

    def __init__(
        self, deck: Deck, *, bucket_digits: int | None = None, chunk_size: int = 1 << 16, threads: int | None = None
    ) -> None:
        self.deck = deck
        self.chunk_size = chunk_size
        self.threads = threads or os.cpu_count() or 1
        prefixes = [rate.prefix for rate in deck.rates]
        # About ten buckets per prefix; 10^7 buckets (a 40 MB table) at most.
        self._index = PrefixIndex(prefixes, bucket_digits or min(len(str(len(prefixes))) + 1, 7))
        self._ids = np.array([rate.id for rate in deck.rates] + [-1], np.int64)
        self._prices = price_table(deck.rates)
        # First 18 digits of the prefixes the index leaves out.
        long = np.flatnonzero(self._index.lengths > DIGITS)
        self._long_heads = np.unique(np.array([int(prefixes[i][:DIGITS]) for i in long], np.int64))

    def rate(self, numbers, billsec) -> BulkResult:
        """Rate `numbers` (bytes or str array, or a sequence) called for `billsec`
        (integers); a negative billsec is a ValueError."""
        numbers, billsec = checked(numbers, billsec)
        size = len(numbers)
        if size == 0:
            return empty_result()
        status = np.empty(size, np.int8)
        label = np.empty(size, np.int64)
        cost = np.empty(size, np.int64)

        def run(begin: int) -> np.ndarray:
            end = min(begin + self.chunk_size, size)
            part = slice(begin, end)
            odd = self._rate_chunk(numbers[part], billsec[part], status[part], label[part], cost[part])
            return odd + begin

        starts = range(0, size, self.chunk_size)
        if len(starts) == 1:  # one chunk (every push): starting a pool's thread cost more than rating it
            odd_rows = [run(0)]
        else:
            with ThreadPoolExecutor(min(self.threads, len(starts))) as pool:
                odd_rows = list(pool.map(run, starts))
        for row in np.concatenate(odd_rows):
            self._rate_one(numbers[row], int(billsec[row]), row, status, label, cost)
        return BulkResult(status, label, self._ids[label], cost)

    def _rate_chunk(self, numbers, billsec, status, label, cost) -> np.ndarray:
        """Fill the output slices; return the rows left to the scalar path."""
        values, lengths, plain = parse_numbers(numbers)
        label[:] = self._index.lookup(values, lengths)
        if self._long_heads.size:
            plain &= ~((lengths > DIGITS) & np.isin(values, self._long_heads))
        unmatched = label < 0
        cost[:], unsafe = price_rows(np.take(self._prices, label, axis=0), billsec)
        np.copyto(cost, -1, where=unmatched)
        status[:] = RATED
        status[unmatched] = NO_MATCH
        return np.flatnonzero(~plain | (unsafe & ~unmatched))

    def _rate_one(self, number, billsec, row, status, label, cost) -> None:
        text = number.decode("latin-1") if isinstance(number, bytes) else str(number)
        result = rate_call(self.deck, text, billsec)
        if isinstance(result, Rated):
            if result.cost_units > INT64_MAX:
                raise OverflowError(f"row {row}: cost {result.cost_units} units does not fit in int64")
            status[row], label[row], cost[row] = RATED, self.deck.index(result.rate.prefix), result.cost_units
        else:
            status[row] = INVALID if result.reason == INVALID_NUMBER else NO_MATCH
            label[row] = cost[row] = -1


def checked(numbers, billsec) -> tuple[np.ndarray, np.ndarray]:
    """Numbers and billsec as the arrays rating reads, or the error saying why they cannot be."""
    numbers = np.asarray(numbers)
    billsec = np.asarray(billsec)
    if numbers.ndim != 1 or billsec.shape != numbers.shape:
        raise ValueError("numbers and billsec must be 1-D arrays of the same length")
    if not len(numbers):
        return numbers, billsec
    if numbers.dtype.kind not in "SU":
        raise TypeError(f"numbers must be bytes or str, got {numbers.dtype}")
    if billsec.dtype.kind not in "iu":
        raise TypeError(f"billsec must be integers, got {billsec.dtype}")
    if billsec.min() < 0:
        raise ValueError("billsec must not be negative")
    if billsec.max() > INT64_MAX:
        raise OverflowError("billsec does not fit in int64")
    return np.ascontiguousarray(numbers, dtype=numbers.dtype.newbyteorder("=")), np.ascontiguousarray(billsec, dtype=np.int64)


def empty_result() -> BulkResult:
    return BulkResult(*(np.empty(0, dtype) for dtype in (np.int8, np.int64, np.int64, np.int64)))


def parse_numbers(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """18-digit padded values, digit counts and a "plain number" mask per row.

    Plain means ASCII digits with at most one leading "+" or "00" marker, at
    least one digit after it; values and lengths of other rows are meaningless.
    """
    chars = _char_matrix(numbers)
    digits = chars - np.uint8(_ZERO)  # wraps: non-digits become >= 10
    is_digit = digits < 10
    digits *= is_digit
    digit_count = _count_ones(is_digit.view(np.uint8).view("<u8"))

    high, middle, low = _swar(digits.view("<u8")[:, :3]).T  # digits 0-7, 8-15, 16-23
    first_19 = high * 10**11 + middle * 10**3 + low // 10**5  # markers read as zeros

    plus = chars[:, 0] == _PLUS
    double_zero = (chars[:, 0] == _ZERO) & (chars[:, 1] == _ZERO)
    size = np.strings.str_len(numbers).astype(np.int64)
    lengths = size - plus - 2 * double_zero
    plain = (digit_count == size - plus) & (lengths > 0)
    # The first 18 digits after the marker: "+" frees one digit, "00" two.
    value = np.where(plus, first_19, first_19 // 10)
    value = np.where(double_zero, first_19 * 10 + (low // 10**4) % 10, value)
    return value.view(np.int64), lengths, plain


def _char_matrix(numbers: np.ndarray) -> np.ndarray:
    """Rows as ASCII bytes, zero-padded to a multiple of 8 and at least 24 columns."""
    rows = len(numbers)
    if numbers.dtype.kind == "S":
        width = numbers.dtype.itemsize
        chars = numbers.view(np.uint8).reshape(rows, width)
    else:
        width = numbers.dtype.itemsize // 4
        chars = np.minimum(numbers.view(np.uint32).reshape(rows, width), 0x7F).astype(np.uint8)
    padded = max(24, -(-width // 8) * 8)
    if padded == width:
        return chars
    out = np.zeros((rows, padded), np.uint8)
    out[:, :width] = chars
    return out


def _count_ones(words: np.ndarray) -> np.ndarray:
    """Number of 1 bytes per row of 0/1 bytes viewed as uint64 words.

    Columns are added lane-wise (a byte lane holds at most 31 ones of a group
    before the 8 lanes are summed), which beats numpy's short-axis sum."""
    total = np.zeros(len(words), np.int64)
    for group in range(0, words.shape[1], 31):
        lanes = words[:, group].copy()
        for column in range(group + 1, min(group + 31, words.shape[1])):
            lanes += words[:, column]
        total += ((lanes * 0x0101010101010101) >> 56).view(np.int64)
    return total


def _swar(words: np.ndarray) -> np.ndarray:
    """Eight digit values per little-endian uint64 (first digit lowest) -> integer."""
    words = (words * 10 + (words >> 8)) & 0x00FF00FF00FF00FF
    words = (words * 100 + (words >> 16)) & 0x0000FFFF0000FFFF
    return (words * 10000 + (words >> 32)) & 0xFFFFFFFF


def price_rows(prices: np.ndarray, billsec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Costs per row from gathered price-table rows, and where int64 is unsafe."""
    grace, first, interval, free, base, per, mult, max_intervals = prices.T
    rest = np.maximum(billsec - first - free, 0)
    intervals = -(-rest // interval)
    cost = ((base + intervals * per) * mult + DENOMINATOR // 2) // DENOMINATOR
    free_call = billsec <= grace
    np.copyto(cost, 0, where=free_call)
    return cost, ~free_call & (intervals > max_intervals)


def price_table(rates: tuple[Rate, ...]) -> np.ndarray:
    """Per rate: grace, interval_1, interval_n, free_seconds, the numerator's fixed
    part (connect_fee·60 + price_1·interval_1) and per-interval part
    (price_n·interval_n), the surcharge multiplier, and the most intervals the
    int64 numerator can take (-1: price this rate exactly, always). A last row
    serves label -1."""
    fields = [
        (r.grace_period, r.interval_1, r.interval_n, r.free_seconds,
         r.connect_fee, r.price_1, r.price_n, r.postcall_surcharge)
        for r in rates
    ]
    fields.append((0, 0, 1, 0, 0, 0, 0, 0))
    try:
        raw = np.array(fields, np.int64)
    except OverflowError:
        raw = np.array([[min(v, _SAFE_FIELD) for v in row] for row in fields], np.int64)
    grace, first, interval, free, connect, price_1, price_n, surcharge = raw.T
    base = connect * 60 + price_1 * first
    per = price_n * interval
    mult = surcharge + 100_000
    room = _NUMERATOR_LIMIT // mult - base
    max_intervals = np.where(room < 0, -1, np.where(per == 0, INT64_MAX, room // np.maximum(per, 1)))
    table = np.stack([grace, first, interval, free, base, per, mult, max_intervals], axis=1)
    for row in np.flatnonzero((raw >= _SAFE_FIELD).any(axis=1)):
        table[row] = _exact_row(*fields[row])
    return table


def _exact_row(grace, first, interval, free, connect, price_1, price_n, surcharge) -> tuple[int, ...]:
    """The price-table row for a rate with large fields, computed in Python ints."""
    base = connect * 60 + price_1 * first
    per = price_n * interval
    mult = surcharge + 100_000
    room = _NUMERATOR_LIMIT // mult - base
    if room < 0 or max(first, interval, free) > _SAFE_SECONDS:
        max_intervals = -1
    else:
        max_intervals = INT64_MAX if per == 0 else min(room // per, INT64_MAX)
    return (
        min(grace, INT64_MAX),
        min(first, _SAFE_SECONDS),
        min(interval, _SAFE_SECONDS),
        min(free, _SAFE_SECONDS),
        base if max_intervals >= 0 else 0,
        min(per, INT64_MAX),
        min(mult, INT64_MAX),
        max_intervals,
    )
