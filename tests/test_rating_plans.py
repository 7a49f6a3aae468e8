"""Plans over time and periods: the scalar path, the bulk path and a brute-force reference agree
on every call; schedules follow wall-clock time across DST."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkline.rating import (
    ALL_PERIODS,
    ALWAYS_FROM,
    ALWAYS_TO,
    NO_MATCH,
    RATED,
    Overlap,
    PlanDeck,
    PlanRater,
    Rate,
    Schedule,
    Version,
    Window,
    epoch_us,
    normalize_number,
    price,
)

WEEKDAYS, WEEKEND = frozenset(range(5)), frozenset({5, 6})
PEAK = [
    Window("peak", WEEKDAYS, 8 * 60, 20 * 60),
    Window("offpeak", WEEKDAYS, 0, 8 * 60),
    Window("offpeak", WEEKDAYS, 20 * 60, 24 * 60),
    Window("weekend", WEEKEND, 0, 24 * 60),
]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_rate(id, prefix, p1=1200, pn=1200):
    return Rate(id, prefix, "LOCAL", 0, 0, 60, 6, 0, 0, p1, pn)


def reference(rates, versions, schedule_windows, zone, number, moment):
    """Brute force, from the rule as written: every rate whose prefix starts the number, in
    force at the moment, for the call's period or every period; longest prefix first, then a
    rate for the period over one for every period."""
    digits = normalize_number(number)
    if digits is None:
        return None
    local = moment.astimezone(ZoneInfo(zone))
    minute = local.hour * 60 + local.minute
    period = next((w.period for w in schedule_windows if local.weekday() in w.days and w.start <= minute < w.end), ALL_PERIODS)
    at = epoch_us(moment)
    best = None
    for index, (rate, version) in enumerate(zip(rates, versions)):
        if not digits.startswith(rate.prefix) or not version.start <= at < version.end:
            continue
        if version.period not in (period, ALL_PERIODS):
            continue
        rank = (len(rate.prefix), version.period == period and period != ALL_PERIODS)
        if best is None or rank > best[0]:
            best = (rank, index)
    return None if best is None else best[1]


@st.composite
def plans(draw):
    windows = draw(st.sampled_from([[], PEAK]))
    names = sorted({w.period for w in windows}) or [ALL_PERIODS]
    cuts = sorted(draw(st.lists(st.integers(0, 60), min_size=0, max_size=3, unique=True)))
    moments = [epoch_us(T0 + timedelta(days=cut)) for cut in cuts]
    rates, versions = [], []
    for prefix in draw(st.lists(st.text("0123456789", min_size=1, max_size=4), min_size=1, max_size=12, unique=True)):
        for period in draw(st.lists(st.sampled_from([ALL_PERIODS, *names]), min_size=1, max_size=2, unique=True)):
            bounds = [ALWAYS_FROM, *moments, ALWAYS_TO]
            kept = draw(st.lists(st.booleans(), min_size=len(bounds) - 1, max_size=len(bounds) - 1))
            for start, end, keep in zip(bounds, bounds[1:], kept):
                if keep:
                    rates.append(make_rate(len(rates) + 1, prefix, p1=draw(st.integers(0, 5000)), pn=draw(st.integers(0, 5000))))
                    versions.append(Version(period, start, end))
    return rates, versions, windows


calls_strategy = st.lists(
    st.tuples(
        st.text("0123456789+", min_size=0, max_size=8),
        st.integers(0, 4000),
        st.integers(-5 * 86400, 70 * 86400),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(plans(), calls_strategy, st.sampled_from(["UTC", "Europe/London", "America/New_York"]))
def test_scalar_and_bulk_paths_match_the_reference(plan, calls, zone):
    rates, versions, windows = plan
    deck = PlanDeck(rates, versions, Schedule(zone, windows))
    numbers = [number for number, _, _ in calls]
    billsec = [seconds for _, seconds, _ in calls]
    moments = [T0 + timedelta(seconds=offset) for _, _, offset in calls]
    result = PlanRater(deck).rate(np.array(numbers, dtype=str), np.array(billsec, np.int64), np.array([epoch_us(m) for m in moments], np.int64))
    for row, (number, seconds, moment) in enumerate(zip(numbers, billsec, moments)):
        expected = reference(rates, versions, windows, zone, number, moment)
        scalar = deck.match(number, moment)
        assert scalar == (None if expected is None else rates[expected])
        if expected is None:
            assert result.status[row] != RATED
        else:
            assert (result.status[row], result.rate_index[row], result.cost_units[row]) == (RATED, expected, price(rates[expected], seconds).cost_units)


def test_a_dated_version_takes_over_at_its_start_and_the_shorter_prefix_covers_before():
    start = epoch_us(T0)
    rates = [make_rate(1, "44", p1=100), make_rate(2, "4420", p1=200), make_rate(3, "4420", p1=300)]
    versions = [Version(), Version(start=start, end=start + 86_400_000_000), Version(start=start + 86_400_000_000)]
    deck = PlanDeck(rates, versions, Schedule("UTC"))
    assert deck.match("44201", T0 - timedelta(seconds=1)).id == 1  # 4420 not yet in force
    assert deck.match("44201", T0).id == 2
    assert deck.match("44201", T0 + timedelta(days=1)).id == 3
    result = PlanRater(deck).rate(np.array(["44201"] * 3), np.array([60] * 3), np.array([start - 1, start, start + 86_400_000_000]))
    assert result.rate_id.tolist() == [1, 2, 3]


def test_overlapping_versions_of_one_prefix_and_period_are_refused_naming_both():
    rates = [make_rate(7, "44"), make_rate(8, "44")]
    with pytest.raises(Overlap) as raised:
        PlanDeck(rates, [Version(), Version(start=epoch_us(T0))], Schedule("UTC"))
    assert raised.value.rates == tuple(rates)
    PlanDeck(rates, [Version(end=epoch_us(T0)), Version(start=epoch_us(T0))], Schedule("UTC"))  # adjoining: fine


def test_a_rate_for_the_calls_period_wins_over_one_for_every_period():
    rates = [make_rate(1, "44", p1=100), make_rate(2, "44", p1=50)]
    deck = PlanDeck(rates, [Version(), Version(period="weekend")], Schedule("UTC", PEAK))
    saturday, monday = datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 3, 9, 12, tzinfo=UTC)
    assert deck.match("441", saturday).id == 2 and deck.match("441", monday).id == 1


def test_schedules_must_cover_the_week_once():
    with pytest.raises(ValueError, match="no period covers sat 00:00"):
        Schedule("UTC", PEAK[:3])
    with pytest.raises(ValueError, match="overlaps peak on mon at 19:00"):
        Schedule("UTC", [*PEAK, Window("late", frozenset({0}), 19 * 60, 21 * 60)])


LONDON = Schedule("Europe/London", PEAK)


@pytest.mark.parametrize(
    ("moment", "period"),
    [
        # Friday 27 March 2026 19:59 GMT is peak; Monday 30 March 07:30 UTC is 08:30 BST: peak.
        (datetime(2026, 3, 27, 19, 59, tzinfo=UTC), "peak"),
        (datetime(2026, 3, 30, 7, 30, tzinfo=UTC), "peak"),
        (datetime(2026, 3, 30, 6, 59, tzinfo=UTC), "offpeak"),  # 07:59 BST
        # The spring change itself (Sunday 29 March, 01:00 UTC = 02:00 BST): still the weekend.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "weekend"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "weekend"),
        # Autumn: Monday 26 October 2026 is back on GMT, 08:00 local = 08:00 UTC.
        (datetime(2026, 10, 26, 7, 59, tzinfo=UTC), "offpeak"),
        (datetime(2026, 10, 26, 8, 0, tzinfo=UTC), "peak"),
        (datetime(2026, 10, 23, 18, 59, tzinfo=UTC), "peak"),  # Friday 19:59 BST
        (datetime(2026, 10, 23, 19, 0, tzinfo=UTC), "offpeak"),  # Friday 20:00 BST
    ],
)
def test_periods_follow_wall_clock_time_across_dst(moment, period):
    assert LONDON.period_at(moment) == period
    assert LONDON.names[LONDON.periods_at(np.array([epoch_us(moment)]))[0]] == period


def test_a_window_ending_at_a_dst_change_in_a_zone_changing_inside_the_hour():
    """Lord Howe Island moves its clocks by 30 minutes at 02:00 local: an hour whose start and end
    have different offsets is looked up call by call."""
    schedule = Schedule("Australia/Lord_Howe", [Window("early", frozenset(range(7)), 0, 150), Window("day", frozenset(range(7)), 150, 1440)])
    start = datetime(2026, 4, 4, 14, 0, tzinfo=UTC)  # around the April 2026 change
    moments = [start + timedelta(minutes=minute) for minute in range(0, 240, 7)]
    vector = schedule.periods_at(np.array([epoch_us(m) for m in moments]))
    assert [schedule.names[i] for i in vector] == [schedule.period_at(m) for m in moments]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(10**9), 4 * 10**9), min_size=1, max_size=50), st.sampled_from(["Europe/London", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham"]))
def test_vectorised_periods_equal_the_scalar_ones(seconds, zone):
    schedule = Schedule(zone, PEAK)
    moments = [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=s) for s in seconds]
    vector = schedule.periods_at(np.array([epoch_us(m) for m in moments]))
    assert [schedule.names[i] for i in vector] == [schedule.period_at(m) for m in moments]


def test_an_undated_plan_is_rated_as_a_plain_deck():
    rates = [make_rate(1, "44"), make_rate(2, "4420")]
    deck = PlanDeck(rates, [Version(), Version()], Schedule("UTC"))
    assert deck.timeless and deck.deck is not None
    result = PlanRater(deck).rate(np.array(["442071", "33"]), np.array([60, 60]), np.array([0, 0]))
    assert result.rate_id.tolist() == [2, -1] and result.status.tolist()[1] == NO_MATCH
