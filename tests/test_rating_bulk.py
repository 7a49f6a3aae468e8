"""The vectorised path must agree with `rate_call` on every row: same match, same
cost, same unrated set, including the rows it hands back to the scalar path."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkline.rating import INVALID, NO_MATCH, RATED, REASONS, BulkRater, Deck, Rate, Rated, rate_call


def make_rate(prefix, id=1, *, grace=0, interval_1=60, interval_n=6, free=0, connect=0, surcharge=0, p1=1200, pn=1200):
    return Rate(id, prefix, "fixed", free, grace, interval_1, interval_n, connect, surcharge, p1, pn)


def scalar(deck: Deck, numbers, billsec) -> list[tuple]:
    rows = []
    for number, d in zip(numbers, billsec):
        text = number.decode("latin-1") if isinstance(number, bytes) else number
        result = rate_call(deck, text, int(d))
        if isinstance(result, Rated):
            rows.append((RATED, deck.rates.index(result.rate), result.rate.id, result.cost_units))
        else:
            rows.append((INVALID if result.reason == "invalid_number" else NO_MATCH, -1, -1, -1))
    return rows


def bulk(rater: BulkRater, numbers, billsec) -> list[tuple]:
    result = rater.rate(numbers, billsec)
    assert result.status.dtype == np.int8 and result.cost_units.dtype == result.rate_id.dtype == np.int64
    columns = (result.status, result.rate_index, result.rate_id, result.cost_units)
    return list(zip(*(column.tolist() for column in columns)))


def check(deck: Deck, numbers, billsec, **options) -> list[tuple]:
    expected = scalar(deck, numbers, billsec)
    assert bulk(BulkRater(deck, **options), numbers, billsec) == expected
    return expected


DECK = Deck([
    make_rate("1", 1),
    make_rate("44", 2, grace=5),
    make_rate("4420", 3, surcharge=2500, connect=100),
    make_rate("442079", 4, interval_n=1),
    make_rate("0", 5),
    make_rate("99", 6, p1=10**17, pn=10**17),  # prices overflow int64 arithmetic at once
    make_rate("98", 7, pn=10**12),  # overflows only for long calls
    make_rate("1234567890123456789012", 8),  # longer than 18 digits
    make_rate("123456789012345678", 9),  # exactly 18
    make_rate("12345678901234567", 10),
])


def test_mixed_batch_matches_scalar_path():
    numbers = [
        "+442079460000", "00442079", "4420", "442", "44", "4", "", "+", "00", "000", "+0044", "1", "44 20-79", "(44)20",
        "44x", "++44", "\t44", "٤٤", "33", "+33", "0033", "0", "44\x0020",
        "1234567890123456789012", "12345678901234567890123", "1234567890123456789", "123456789012345678",
        "12345678901234567", "1234567890123456", "+1234567890123456789012", "00123456789012345678",
        "9912", "9812", "9812",
    ]
    billsec = [61, 5, 6, 3, 5, 60, 0, 0, 0, 60, 60, 125, 61, 61, 61, 61, 61, 61, 61, 61, 61, 61, 61,
               61, 61, 61, 61, 61, 61, 61, 61, 61, 60, 10**7]
    expected = check(DECK, np.array(numbers, dtype="U40"), np.array(billsec))
    statuses = [row[0] for row in expected]
    assert statuses.count(INVALID) == 8 and statuses.count(NO_MATCH) == 4
    check(DECK, np.array([n.encode() for n in numbers], dtype="S64"), billsec, chunk_size=5, threads=3)
    check(DECK, numbers, billsec, bucket_digits=1)
    check(DECK, np.array(numbers, dtype=">U40"), billsec)  # byte order other than native


@pytest.mark.parametrize("dtype", ["S1", "S5", "S8", "S19", "S24", "S25", "S300", "U3", "U24"])
def test_any_string_width(dtype):
    numbers = ["+44", "4420", "00442079", "1", "0", "", "12345678901234567890"]
    width = int(dtype[1:])
    numbers = np.array([n[:width] for n in numbers], dtype=dtype)
    check(DECK, numbers, np.full(len(numbers), 61))


def test_64_digit_prefixes():
    long = "5" * 64
    deck = Deck([make_rate("5", 1), make_rate(long, 2), make_rate(long[:30], 3), make_rate(long[:18], 4)])
    numbers = [long, long + "1", "+" + long, "00" + long[:63], long[:40], long[:19], long[:18], long[:17], "5"]
    rows = check(deck, numbers, [61] * len(numbers))
    assert [row[2] for row in rows] == [2, 2, 2, 3, 3, 4, 4, 1, 1]


def test_non_ascii_and_nul_bytes_are_invalid():
    numbers = np.array([b"44\xa020", b"\xff44", b"44\x0020", b"4420\x00", b"\x0044"], dtype="S8")
    assert [row[0] for row in check(DECK, numbers, [60] * 5)] == [INVALID, INVALID, INVALID, RATED, INVALID]


def test_result_arrays():
    result = BulkRater(DECK).rate(np.array(["+4420", "33", "x"]), np.array([61, 61, 61]))
    assert result.status.tolist() == [RATED, NO_MATCH, INVALID] and len(result) == 3
    assert result.rated.tolist() == [True, False, False]
    assert result.rate_id.tolist() == [3, -1, -1] and result.rate_index.tolist() == [2, -1, -1]
    assert result.cost_units.tolist() == [1456, -1, -1]
    assert REASONS[NO_MATCH] == "no_matching_prefix" and REASONS[INVALID] == "invalid_number"


def test_empty_batch():
    result = BulkRater(DECK).rate([], [])
    assert len(result) == 0 and result.cost_units.dtype == np.int64


def test_bad_input_is_rejected():
    rater = BulkRater(DECK)
    with pytest.raises(ValueError):
        rater.rate(["44"], [-1])
    with pytest.raises(ValueError):
        rater.rate(["44", "1"], [1])
    with pytest.raises(TypeError):
        rater.rate(["44"], [1.5])
    with pytest.raises(TypeError):
        rater.rate(np.array([44]), [1])
    with pytest.raises(OverflowError):
        rater.rate(np.array(["44"]), np.array([2**63], dtype=np.uint64))


def test_cost_beyond_int64_is_an_error_not_a_wrap():
    deck = Deck([make_rate("1", p1=10**15, pn=10**15, interval_n=1)])
    with pytest.raises(OverflowError):
        BulkRater(deck).rate(["1"], [10**6])


def test_deep_nesting_and_short_numbers():
    prefixes = ["4", "44", "440", "4400", "44000", "440000", "4400000", "44000000"]
    deck = Deck([make_rate(p, i, p1=100 * i, pn=100 * i) for i, p in enumerate(prefixes, start=1)])
    numbers = ["4" + "0" * k for k in range(10)] + ["44" + "0" * k for k in range(10)] + ["45", "4401"]
    for bucket_digits in (1, 3, 6):
        check(deck, numbers, [61] * len(numbers), bucket_digits=bucket_digits)


def test_prefix_ranges_ending_together():
    prefixes = ["9", "99", "999", "9999", "19", "199", "2", "3", "39", "4"]
    deck = Deck([make_rate(p, i) for i, p in enumerate(prefixes, start=1)])
    numbers = [str(v) for v in range(0, 1000, 7)] + ["9" * 18, "9" * 25, "1999", "2000", "3999", "40"]
    for bucket_digits in (1, 2, 6):
        check(deck, numbers, [61] * len(numbers), bucket_digits=bucket_digits)


# --- properties -------------------------------------------------------------------------

amounts = st.one_of(
    st.integers(0, 300_000), st.integers(0, 10**20), st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63])
)
seconds = st.one_of(st.integers(0, 7), st.integers(0, 10**4), st.integers(0, 2**63 - 1))


@st.composite
def rates(draw, id: int, prefix: str) -> Rate:
    return Rate(
        id, prefix, "fixed",
        draw(st.one_of(st.integers(0, 120), seconds)), draw(st.integers(0, 10)),
        draw(st.one_of(st.sampled_from([0, 1, 6, 30, 60]), seconds)),
        draw(st.one_of(st.integers(1, 60), st.integers(1, 2**64))),
        draw(amounts), draw(st.one_of(st.just(0), st.integers(0, 100_000), amounts)), draw(amounts), draw(amounts),
    )


@st.composite
def decks(draw) -> Deck:
    alphabet = draw(st.sampled_from(["09", "0129", "0123456789"]))
    long = draw(st.booleans())
    prefixes = draw(st.lists(
        st.text(alphabet, min_size=1, max_size=26 if long else 6), unique=True, max_size=25))
    return Deck([draw(rates(i, prefix)) for i, prefix in enumerate(prefixes, start=1)])


@st.composite
def batches(draw, deck: Deck) -> tuple[list[str], list[int]]:
    size = draw(st.integers(1, 40))
    numbers = []
    for _ in range(size):
        if deck.rates and draw(st.integers(0, 3)):
            digits = draw(st.sampled_from(deck.rates)).prefix
            digits = digits[: draw(st.integers(0, len(digits)))] + draw(st.text("0123456789", max_size=8))
        else:
            digits = draw(st.text("0129", max_size=24))
        lead = draw(st.sampled_from(["", "", "", "+", "00", "0", "+00", "-", " ", "x"]))
        tail = draw(st.sampled_from(["", "", "", "", " ", "1-2", "a"]))
        numbers.append(lead + digits + tail)
    billsec = [draw(seconds) for _ in range(size)]
    return numbers, billsec


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_bulk_matches_scalar(data):
    deck = data.draw(decks())
    numbers, billsec = data.draw(batches(deck))
    expected = scalar(deck, numbers, billsec)
    rater = BulkRater(
        deck, bucket_digits=data.draw(st.sampled_from([1, 2, 6])), chunk_size=data.draw(st.sampled_from([7, 1 << 16]))
    )
    as_bytes = data.draw(st.booleans())
    batch = np.array([n.encode() for n in numbers]) if as_bytes else np.array(numbers)
    if any(cost > 2**63 - 1 for *_, cost in expected):
        with pytest.raises(OverflowError):
            rater.rate(batch, np.array(billsec, dtype=np.int64))
        return
    assert bulk(rater, batch, np.array(billsec, dtype=np.int64)) == expected
