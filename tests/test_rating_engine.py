"""The scalar rating engine against worked examples, its edge cases, and a slow
reference implementation written straight from the pricing rule in the README."""

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkline.rating import MAX_CALL_SECONDS, Breakdown, Deck, Rate, Rated, Unrated, max_seconds, normalize_number, price, price_message, rate_call


def make_rate(prefix="44", *, id=1, type="fixed", free_seconds=0, grace_period=0, interval_1=60, interval_n=6,
              connect_fee=0, postcall_surcharge=0, price_1=1200, price_n=1200) -> Rate:
    return Rate(id, prefix, type, free_seconds, grace_period, interval_1, interval_n,
                connect_fee, postcall_surcharge, price_1, price_n)


# --- reference implementation: obviously correct, slow ---------------------------------

def reference_normalize(raw: str) -> str | None:
    number = re.sub(r"[ \-.()]", "", raw)
    if number[:1] == "+":
        number = number[1:]
    elif number[:2] == "00":
        number = number[2:]
    return number if re.fullmatch(r"[0-9]+", number) else None


def reference_cost(rate: Rate, d: int) -> int:
    if d == 0 or d <= rate.grace_period:
        return 0
    first = Fraction(rate.price_1, 60) * rate.interval_1
    rest = d - rate.interval_1 - rate.free_seconds
    rest_part = Fraction(0)
    if rest > 0:
        rest_part = math.ceil(Fraction(rest, rate.interval_n)) * Fraction(rate.price_n, 60) * rate.interval_n
    cost = (rate.connect_fee + first + rest_part) * (1 + Fraction(rate.postcall_surcharge, 100_000))
    return math.floor(cost + Fraction(1, 2))


def reference_rate(rates: list[Rate], raw: str, d: int) -> tuple:
    number = reference_normalize(raw)
    if number is None:
        return ("invalid_number",)
    best = None
    for rate in rates:
        if number.startswith(rate.prefix) and (best is None or len(rate.prefix) > len(best.prefix)):
            best = rate
    if best is None:
        return ("no_matching_prefix",)
    return (best.id, reference_cost(best, d))


def outcome(result: Rated | Unrated) -> tuple:
    if isinstance(result, Unrated):
        return (result.reason,)
    return (result.rate.id, result.cost_units)


# --- spec examples and edge cases -------------------------------------------------------

@pytest.mark.parametrize(("billsec", "units"), [(0, 0), (7, 1200), (60, 1200), (61, 1320), (125, 2520)])
def test_worked_examples(billsec, units):
    assert price(make_rate(), billsec).cost_units == units


def test_grace_boundary():
    rate = make_rate(grace_period=5, connect_fee=500)
    free = price(rate, 5)
    assert free.cost_units == 0 and free.within_grace and free.prefix == "44"
    assert price(rate, 6).cost_units == 500 + 1200 and not price(rate, 6).within_grace


def test_zero_seconds_is_free_but_rated():
    result = rate_call(Deck([make_rate(connect_fee=999)]), "44", 0)
    assert isinstance(result, Rated) and result.cost_units == 0 and result.rate.prefix == "44"


def test_free_seconds_larger_than_the_call():
    b = price(make_rate(free_seconds=120), 100)
    assert (b.free_seconds, b.rest_seconds, b.rest_intervals, b.cost_units) == (40, 0, 0, 1200)
    b = price(make_rate(free_seconds=120), 190)
    assert (b.free_seconds, b.rest_seconds, b.rest_intervals, b.cost_units) == (120, 10, 2, 1440)


def test_short_call_pays_the_whole_first_interval():
    b = price(make_rate(interval_1=30, price_1=600), 1)
    assert (b.first_interval_seconds, b.first_interval_amount, b.cost_units) == (30, 300, 300)


def test_interval_n_of_one_second():
    assert price(make_rate(interval_n=1), 61).cost_units == 1220


def test_zero_prices_are_free_not_unrated():
    result = rate_call(Deck([make_rate(price_1=0, price_n=0)]), "441", 300)
    assert isinstance(result, Rated) and result.cost_units == 0
    assert price(make_rate(price_1=0, price_n=0, connect_fee=700), 300).cost_units == 700


def test_first_interval_of_zero_seconds():
    b = price(make_rate(interval_1=0, interval_n=60), 61)
    assert (b.first_interval_amount, b.rest_intervals, b.cost_units) == (0, 2, 2400)


@pytest.mark.parametrize(("price_1", "interval_1", "units"), [
    (1, 30, 1),   # 0.5 -> 1
    (5, 30, 3),   # 2.5 -> 3 (half up, not half even)
    (7, 30, 4),   # 3.5 -> 4
    (1, 29, 0),   # 0.483 -> 0
    (1, 31, 1),   # 0.517 -> 1
])
def test_half_up_rounding(price_1, interval_1, units):
    assert price(make_rate(price_1=price_1, interval_1=interval_1), 1).cost_units == units


def test_surcharge():
    assert price(make_rate(postcall_surcharge=1000), 60).cost_units == 1212  # 1 %
    b = price(make_rate(postcall_surcharge=2500, connect_fee=100), 61)
    assert b.subtotal == 1420 and b.surcharge_amount == Fraction(71, 2) and b.cost_units == 1456  # 1455.5 -> 1456
    assert price(make_rate(price_1=60, interval_1=1, postcall_surcharge=50_000), 1).cost_units == 2  # 1.5 -> 2


def test_rounding_happens_once_at_the_end():
    # terms of 7/60 unit: rounding each one instead of the total would give 0 at 28 s
    rate = make_rate(price_1=1, price_n=1, interval_1=7, interval_n=7, postcall_surcharge=100_000)
    b = price(rate, 14)
    assert (b.first_interval_amount, b.rest_amount, b.subtotal) == (Fraction(7, 60), Fraction(7, 60), Fraction(7, 30))
    assert b.cost_units == 0 and price(rate, 28).cost_units == 1  # 14/30 * 2 = 0.93 -> 1


def test_breakdown_terms():
    b = price(make_rate(connect_fee=50, free_seconds=10, postcall_surcharge=1000, price_n=600), 125)
    assert isinstance(b, Breakdown)
    assert (b.prefix, b.rate_id, b.type, b.billsec, b.within_grace) == ("44", 1, "fixed", 125, False)
    assert (b.first_interval_seconds, b.free_seconds, b.rest_seconds, b.rest_intervals) == (60, 10, 55, 10)
    assert (b.connect_fee, b.first_interval_amount, b.rest_amount) == (50, 1200, 600)
    assert b.subtotal == 1850 and b.surcharge_amount == Fraction(37, 2) and b.cost_units == 1869  # 1868.5


def test_as_dict_is_exact_and_json_friendly():
    d = price(make_rate(postcall_surcharge=2500, connect_fee=100), 61).as_dict()
    assert d["cost"] == Decimal("0.01456") and str(d["cost"]) == "0.01456"
    assert str(d["subtotal"]) == "0.01420" and str(d["surcharge_amount"]) == "0.000355"
    assert str(d["connect_fee"]) == "0.00100" and d["rest_intervals"] == 1
    thirds = price(make_rate(price_1=1, interval_1=1), 1).as_dict()  # 1/60 unit: no finite decimal
    assert f'{thirds["first_interval_amount"]:f}' == "0.000000166667" and str(thirds["cost"]) == "0.00000"
    free = price(make_rate(grace_period=3), 2).as_dict()
    assert free["within_grace"] and str(free["cost"]) == "0.00000"


def test_negative_billsec_is_rejected():
    with pytest.raises(ValueError):
        price(make_rate(), -1)
    with pytest.raises(ValueError):
        rate_call(Deck([make_rate()]), "not a number", -1)


def test_huge_values_stay_exact():
    rate = make_rate(price_1=10**30, price_n=10**25, interval_n=7, postcall_surcharge=10**9)
    assert price(rate, 10**12).cost_units == reference_cost(rate, 10**12)


@pytest.mark.parametrize(("raw", "normal"), [
    ("+44 20-7946", "44207946"),
    ("0044 20 7946 0000", "442079460000"),
    ("(020) 7946.0000", "02079460000"),
    ("+0044", "0044"),
    ("0", "0"),
    ("000", "0"),
    ("+-44", "44"),
    ("1", "1"),
    ("", None),
    ("+", None),
    ("00", None),
    ("+ ", None),
    ("44a", None),
    ("44+1", None),
    ("++44", None),
    ("\t44", None),
    ("44\n", None),
    ("\uff14\uff14", None),  # fullwidth digits
    ("\u0664\u0664", None),  # Arabic-Indic digits
    ("²", None),
])
def test_normalisation(raw, normal):
    assert normalize_number(raw) == normal == reference_normalize(raw)


def test_longest_prefix_wins_and_shorter_numbers_fall_back():
    deck = Deck([make_rate("44", id=1), make_rate("4420", id=2), make_rate("442079", id=3)])
    assert rate_call(deck, "+44 20 7946", 60).rate.id == 3
    assert rate_call(deck, "4420", 60).rate.id == 2
    assert rate_call(deck, "442", 60).rate.id == 1  # shorter than "4420": the parent
    assert deck.match("44").id == 1 and deck.match("4") is None


def test_unrated_is_distinct_from_free():
    deck = Deck([make_rate("44")])
    missing = rate_call(deck, "+33 1", 60)
    assert missing == Unrated("no_matching_prefix", "+33 1")
    assert not hasattr(missing, "cost_units")
    assert rate_call(deck, "44-x", 60) == Unrated("invalid_number", "44-x")
    assert isinstance(rate_call(Deck([]), "44", 0), Unrated)


def test_64_digit_prefixes():
    long = "9" * 64
    deck = Deck([make_rate("9", id=1), make_rate(long, id=2), make_rate(long[:40], id=3)])
    assert rate_call(deck, long, 60).rate.id == 2
    assert rate_call(deck, long + "123", 60).rate.id == 2
    assert rate_call(deck, long[:63], 60).rate.id == 3
    assert rate_call(deck, long[:39], 60).rate.id == 1


@pytest.mark.parametrize("changes", [
    {"prefix": ""}, {"prefix": "4" * 65}, {"prefix": "+44"}, {"prefix": "4 4"}, {"prefix": "\uff14"},
    {"interval_n": 0}, {"price_1": -1}, {"grace_period": -5}, {"postcall_surcharge": -1000},
])
def test_invalid_rates_are_rejected(changes):
    with pytest.raises(ValueError):
        make_rate(**changes)


@pytest.mark.parametrize(
    "changes", [{"price_1": 0.012}, {"connect_fee": Decimal("1")}, {"interval_1": "60"}, {"type": 1}]
)
def test_rates_refuse_floats_and_other_types(changes):
    with pytest.raises(TypeError):
        make_rate(**changes)


def test_duplicate_prefixes_are_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        Deck([make_rate("44", id=1), make_rate("44", id=2)])


def test_deck_size():
    assert len(Deck([make_rate("1"), make_rate("2")])) == 2


# --- properties against the reference ---------------------------------------------------

amounts = st.one_of(st.integers(0, 20), st.integers(0, 300_000), st.integers(0, 10**20))
seconds = st.one_of(st.integers(0, 10), st.integers(0, 120), st.integers(0, 10**6))


@st.composite
def rates(draw, prefix: str) -> Rate:
    return Rate(
        draw(st.integers(0, 10**6)), prefix, draw(st.sampled_from(["fixed", "mobile"])),
        draw(seconds), draw(st.integers(0, 10)), draw(seconds), draw(st.integers(1, 120)),
        draw(amounts), draw(st.one_of(st.just(0), st.integers(0, 100_000), amounts)), draw(amounts), draw(amounts),
    )


@st.composite
def decks(draw) -> list[Rate]:
    alphabet = draw(st.sampled_from(["12", "0123", "0123456789"]))
    prefixes = draw(st.lists(st.text(alphabet, min_size=1, max_size=draw(st.sampled_from([4, 8, 64]))),
                             unique=True, max_size=30))
    return [draw(rates(prefix)) for prefix in prefixes]


@st.composite
def numbers(draw, deck: list[Rate]) -> str:
    if deck and draw(st.booleans()):
        base = draw(st.sampled_from(deck)).prefix
        base = base[: draw(st.integers(0, len(base)))] + draw(st.text("0123456789", max_size=6))
    else:
        base = draw(st.text("0123456789", max_size=12))
    lead = draw(st.sampled_from(["", "", "+", "00", "+00", " +", "(", "x"]))
    separated = "".join(c + draw(st.sampled_from(["", "", "", " ", "-", ".", ")", "/"])) for c in base)
    return lead + separated


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_engine_matches_reference(data):
    deck_rates = data.draw(decks())
    deck = Deck(deck_rates)
    for _ in range(5):
        number = data.draw(numbers(deck_rates))
        d = data.draw(seconds)
        assert outcome(rate_call(deck, number, d)) == reference_rate(deck_rates, number, d)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_breakdown_adds_up(data):
    rate = data.draw(rates("1"))
    d = data.draw(seconds)
    b = price(rate, d)
    assert b.cost_units == reference_cost(rate, d)
    if b.within_grace:
        assert d <= rate.grace_period and b.cost_units == 0
        return
    assert b.first_interval_seconds == rate.interval_1
    assert b.rest_seconds == max(d - rate.interval_1 - rate.free_seconds, 0)
    assert b.free_seconds + b.rest_seconds == max(d - rate.interval_1, 0)
    assert b.rest_intervals * rate.interval_n >= b.rest_seconds > (b.rest_intervals - 1) * rate.interval_n
    assert b.subtotal == b.connect_fee + b.first_interval_amount + b.rest_amount
    assert b.surcharge_amount == b.subtotal * rate.postcall_surcharge / 100_000
    assert abs(b.subtotal + b.surcharge_amount - b.cost_units) <= Fraction(1, 2)
    if b.cost_units >= 10**23:  # money.from_units works in 28 significant digits
        return
    as_dict = b.as_dict()
    assert as_dict["cost"] == Decimal(b.cost_units) / 100_000
    for name in ("connect_fee", "first_interval_amount", "rest_amount", "subtotal", "surcharge_amount"):
        assert abs(Fraction(as_dict[name]) - getattr(b, name) / 100_000) <= Fraction(1, 2 * 10**12)


@given(numerator=st.integers(min_value=0, max_value=10**15), denominator=st.integers(min_value=1, max_value=10**6))
def test_exact_amounts_read_back_to_the_same_fraction(numerator, denominator):
    from trunkline.rating.money import SCALE
    from trunkline.rating.pricing import exact

    units = Fraction(numerator, denominator)
    shown = exact(units)
    assert Fraction(shown) == units / SCALE
    assert ("/" in shown) == _has_other_factors((units / SCALE).denominator)  # a decimal whenever one is exact


def _has_other_factors(number: int) -> bool:
    for factor in (2, 5):
        while number % factor == 0:
            number //= factor
    return number != 1


@settings(max_examples=500, deadline=None)
@given(
    price_1=st.integers(0, 10**9), price_n=st.integers(0, 10**9), interval_1=st.integers(1, 3600), interval_n=st.integers(1, 3600),
    connect_fee=st.integers(0, 10**7), surcharge=st.integers(0, 10**6), billsec=st.integers(0, 10**6),
)
def test_rendered_amounts_are_the_exact_amounts(price_1, price_n, interval_1, interval_n, connect_fee, surcharge, billsec):
    """Every amount a breakdown shows is its exact amount: `exact` always, the Decimal whenever it
    has at most 12 places (else the nearest at 12, half up), and never fewer than 5 places."""
    rate = make_rate(price_1=price_1, price_n=price_n, interval_1=interval_1, interval_n=interval_n, connect_fee=connect_fee, postcall_surcharge=surcharge)
    itemised = price(rate, billsec)
    shown = itemised.as_dict()
    for name in ("connect_fee", "first_interval_amount", "rest_amount", "subtotal", "surcharge_amount"):
        amount = getattr(itemised, name) / 10**5
        assert Fraction(shown["exact"][name]) == amount
        decimal = shown[name]
        assert -decimal.as_tuple().exponent >= 5
        if Fraction(decimal) != amount:
            assert -decimal.as_tuple().exponent == 12 and abs(Fraction(decimal) - amount) <= Fraction(1, 2 * 10**12)


def bisected_max_seconds(rate: Rate, available: int, cap: int) -> int:
    """`max_seconds` as it was before its closed form: a bisection over `price` itself."""

    def fits(seconds: int) -> bool:
        return price(rate, seconds).cost_units <= max(available, 0)

    if fits(cap):
        return cap
    if not fits(rate.grace_period + 1):
        return 0
    low, high = rate.grace_period + 1, cap
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def scanned_max_seconds(rate: Rate, available: int, cap: int) -> int:
    """Every duration tried with the reference cost: the longest that fits, 0 if that stops
    within the grace period short of the cap."""
    longest = max(d for d in range(cap + 1) if reference_cost(rate, d) <= max(available, 0))
    return longest if longest == cap or longest > rate.grace_period else 0


RATES = st.builds(
    make_rate,
    free_seconds=st.integers(0, 120), grace_period=st.integers(0, 30), interval_1=st.integers(0, 120), interval_n=st.integers(1, 90),
    connect_fee=st.integers(0, 10**5), postcall_surcharge=st.integers(0, 10**5), price_1=st.integers(0, 10**6), price_n=st.integers(0, 10**6),
)


@settings(max_examples=400, deadline=None)
@given(rate=RATES, available=st.integers(-10**3, 10**7), cap=st.integers(0, 1500))
def test_max_seconds_matches_every_duration_tried(rate, available, cap):
    assert max_seconds(rate, available, cap) == scanned_max_seconds(rate, available, cap)


@settings(max_examples=2000, deadline=None)
@given(rate=RATES, available=st.integers(-10**3, 10**12))
def test_max_seconds_matches_a_bisection_over_price(rate, available):
    assert max_seconds(rate, available) == bisected_max_seconds(rate, available, MAX_CALL_SECONDS)


@settings(max_examples=1000, deadline=None)
@given(rate=RATES, seconds=st.integers(0, 5000), off=st.sampled_from((-1, 0, 1)))
def test_max_seconds_at_the_budget_of_a_real_call(rate, seconds, off):
    """Budgets right at, just under and just over what some call costs: where an off-by-one shows."""
    available = price(rate, seconds).cost_units + off
    assert max_seconds(rate, available) == bisected_max_seconds(rate, available, MAX_CALL_SECONDS)


def test_max_seconds_stops_where_the_cost_reaches_half_a_unit_more():
    """30 units a minute by the second from the first second on: 21 intervals cost 10.5 units,
    which rounds up to 11; with 10 units the call may run 60 + 20 seconds, not 81."""
    rate = make_rate(price_1=0, interval_1=60, price_n=30, interval_n=1)
    assert price(rate, 81).cost_units == 11 and price(rate, 80).cost_units == 10
    assert max_seconds(rate, 10) == 80


@given(
    segments=st.integers(1, 10_000),
    price_1=st.integers(0, 10**9),
    connect_fee=st.integers(0, 10**7),
    surcharge=st.integers(0, 10**6),
)
def test_a_message_costs_its_segments_at_price_1_plus_the_fee_and_surcharge(segments, price_1, connect_fee, surcharge):
    """Against Decimal arithmetic in currency units, rounded once, half up, to 5 places."""
    rate = Rate(1, "44", "MOBILE", 30, 5, 60, 6, connect_fee, surcharge, price_1, 7)  # intervals, grace and price_n play no part
    expected = (Decimal(connect_fee) / 10**5 + Decimal(price_1) / 10**5 * segments) * (1 + Decimal(surcharge) / 10**5)
    assert price_message(rate, segments) == int((expected * 10**5).quantize(Decimal(1), ROUND_HALF_UP))
