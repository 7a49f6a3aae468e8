"""Bulk rating over rate plans, effective dates and time-of-day periods, against the same job
done by one DuckDB SQL query.

    .venv/bin/python bench/rating_plans.py [--cdrs 2000000] [--prefixes 100000] [--repeat 1]

Three sell plans (UTC, Europe/London, America/New_York), each with a peak / off-peak schedule
(peak Monday to Friday 08:00–20:00 local, off-peak the rest) and two effective versions of a
deck of `--prefixes` prefixes, the second taking over on 2026-03-29 (London's DST change):
three quarters of the prefixes have a rate per period, the rest one rate for every period.
Calls start over the two months around the change and go to a random plan.

Timed: grouping the calls by plan and `PlanRater.rate` per plan (compiling each plan is
reported apart: a plan is compiled once for any number of batches), and DuckDB's query, from
raw numbers, plans and UTC start times to stored results: period by `timezone()`, longest
prefix by one hash join per prefix length and kind (period or every period) with the
effective range as a join condition, and the same exact integer pricing. Both results are
compared on every row.
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _deck import make_cdrs, make_prefixes, make_rates
from rating import PRICED, best_of, report

from trunkline.rating import ALL_PERIODS, ALWAYS_FROM, ALWAYS_TO, RATED, PlanDeck, PlanRater, Schedule, Version, Window, epoch_us

ZONES = ("UTC", "Europe/London", "America/New_York")
WEEKDAYS, WEEKEND = frozenset(range(5)), frozenset({5, 6})
WINDOWS = (
    Window("peak", WEEKDAYS, 8 * 60, 20 * 60),
    Window("offpeak", WEEKDAYS, 0, 8 * 60),
    Window("offpeak", WEEKDAYS, 20 * 60, 24 * 60),
    Window("offpeak", WEEKEND, 0, 24 * 60),
)
SWITCH = epoch_us(datetime(2026, 3, 29, 1, tzinfo=UTC))
SPAN_US = 30 * 86_400_000_000


def make_plans(prefixes: list[str]) -> list[PlanDeck]:
    """Per plan: every prefix in two versions, per period for three in four of them."""
    rng = np.random.default_rng(7)
    split = rng.random(len(prefixes)) < 0.75
    plans, seed, next_id = [], 10, 1
    for zone in ZONES:
        rates, versions = [], []
        for start, end in ((ALWAYS_FROM, SWITCH), (SWITCH, ALWAYS_TO)):
            for period in ("peak", "offpeak", ALL_PERIODS):
                chosen = [p for p, per_period in zip(prefixes, split.tolist()) if per_period == (period != ALL_PERIODS)]
                for rate in make_rates(chosen, seed):
                    rates.append(rate.__class__(next_id, *(getattr(rate, name) for name in rate.__dataclass_fields__ if name != "id")))
                    versions.append(Version(period, start, end))
                    next_id += 1
                seed += 1
        plans.append(PlanDeck(rates, versions, Schedule(zone, WINDOWS)))
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=2_000_000)
    parser.add_argument("--prefixes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per side; the best is reported")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"3 plans x 2 periods x 2 versions of {args.prefixes:,} prefixes, {args.cdrs:,} CDRs, {cores} cores, load average {os.getloadavg()[0]:.1f}")

    started = time.perf_counter()
    prefixes = make_prefixes(args.prefixes)
    plans = make_plans(prefixes)
    numbers, billsec = make_cdrs(prefixes, args.cdrs)
    rng = np.random.default_rng(11)
    plan_of = rng.integers(0, len(plans), args.cdrs)
    starts = SWITCH + rng.integers(-SPAN_US, SPAN_US, args.cdrs)
    print(f"generated in {time.perf_counter() - started:.1f} s ({sum(map(len, plans)):,} rates)")

    started = time.perf_counter()
    raters = [PlanRater(plan) for plan in plans]
    print(f"3 plans compiled for bulk rating in {time.perf_counter() - started:.2f} s")
    offsets = np.cumsum([0] + [len(plan) for plan in plans[:-1]])

    def rate_all():
        status = np.empty(args.cdrs, np.int8)
        index = np.empty(args.cdrs, np.int64)
        cost = np.empty(args.cdrs, np.int64)
        for number, rater in enumerate(raters):
            rows = np.flatnonzero(plan_of == number)
            result = rater.rate(numbers[rows], billsec[rows], starts[rows])
            status[rows], cost[rows] = result.status, result.cost_units
            index[rows] = np.where(result.rate_index >= 0, result.rate_index + offsets[number], -1)
        return status, index, cost

    bulk_seconds, (status, index, cost) = best_of(args.repeat, rate_all)
    report("bulk", args.cdrs, bulk_seconds)

    con = duckdb.connect()
    con.execute(f"SET threads = {cores}")
    con.execute("SET TimeZone = 'UTC'")
    load(con, plans, numbers, billsec, plan_of, starts)
    lengths = sorted({len(rate.prefix) for plan in plans for rate in plan.rates}, reverse=True)
    duck_seconds, _ = best_of(args.repeat, lambda: con.execute(query(lengths)))
    report("duckdb", args.cdrs, duck_seconds)

    duck = con.execute("SELECT status, idx, cost FROM rated ORDER BY row_id").fetchnumpy()
    same = all(np.array_equal(np.asarray(duck[name]), mine) for name, mine in (("status", status), ("idx", index), ("cost", cost)))
    rated = np.count_nonzero(status == RATED)
    print(f"identical results on all {args.cdrs:,} rows: {same} ({rated:,} rated, {args.cdrs - rated:,} unrated)")
    ratio = duck_seconds / bulk_seconds
    print(f"bulk is {ratio:.1f}x DuckDB: target >= 3x {'HOLDS' if ratio >= 3 else 'MISSES'} (load average now {os.getloadavg()[0]:.1f})")
    if not same:
        sys.exit(1)


def load(con, plans: list[PlanDeck], numbers: np.ndarray, billsec: np.ndarray, plan_of: np.ndarray, starts: np.ndarray) -> None:
    """Tables `rates` (every plan's, indexed as the bulk side's offsets make them), `windows`,
    `zones` and `cdrs` (numbers rebuilt as VARCHAR, as bench/rating.py does)."""
    fields = ("interval_1", "interval_n", "free_seconds", "grace_period", "connect_fee", "postcall_surcharge", "price_1", "price_n")
    rates = [(number, rate, version) for number, plan in enumerate(plans) for rate, version in zip(plan.rates, plan.versions)]
    columns = {name: np.array([getattr(rate, name) for _, rate, _ in rates], np.int64) for name in fields}
    columns["idx"] = np.arange(len(rates), dtype=np.int64)
    columns["plan"] = np.array([number for number, _, _ in rates], np.int64)
    columns["period"] = np.array([version.period for _, _, version in rates], dtype=object)
    columns["start_us"] = np.array([version.start for _, _, version in rates], np.int64)
    columns["end_us"] = np.array([version.end for _, _, version in rates], np.int64)
    columns["prefix_value"] = np.array([int(rate.prefix) for _, rate, _ in rates], np.int64)
    columns["plen"] = np.array([len(rate.prefix) for _, rate, _ in rates], np.int64)
    con.register("rates_in", columns)
    con.execute("CREATE TABLE rates AS SELECT * EXCLUDE (prefix_value, period), period::VARCHAR AS period, lpad(prefix_value::VARCHAR, plen::INT, '0') AS prefix FROM rates_in")
    con.execute("CREATE TABLE zones (plan BIGINT, tz VARCHAR)")
    con.executemany("INSERT INTO zones VALUES (?, ?)", list(enumerate(ZONES)))
    con.execute("CREATE TABLE windows (plan BIGINT, period VARCHAR, dow BIGINT, start_min BIGINT, end_min BIGINT)")
    con.executemany(
        "INSERT INTO windows VALUES (?, ?, ?, ?, ?)",
        [(number, w.period, day + 1, w.start, w.end) for number in range(len(plans)) for w in WINDOWS for day in sorted(w.days)],
    )
    plus = np.strings.startswith(numbers, b"+")
    digits = np.strings.lstrip(numbers, b"+")
    cdrs = {"row_id": np.arange(len(numbers), dtype=np.int64), "plus": plus, "value": digits.astype(np.int64),
            "length": np.strings.str_len(digits), "billsec": billsec, "plan": plan_of, "start_us": starts}
    con.register("cdrs_in", cdrs)
    con.execute("""CREATE TABLE cdrs AS SELECT row_id, billsec, plan, start_us,
                   CASE WHEN plus THEN '+' ELSE '' END || lpad(value::VARCHAR, length::INT, '0') AS number FROM cdrs_in""")
    con.unregister("rates_in")
    con.unregister("cdrs_in")


def query(lengths: list[int]) -> str:
    """Period at the start in the plan's zone, longest prefix in force then (a rate for the
    period before one for every period), exact price."""
    joins, candidates = [], []
    for n in lengths:
        for kind, condition in (("s", "r.period = c.period"), ("g", "r.period = ''")):
            joins.append(
                f"LEFT JOIN (SELECT idx, plan, period, prefix, start_us, end_us FROM rates r WHERE plen = {n}) {kind}{n} "
                f"ON {kind}{n}.plan = c.plan AND {kind}{n}.prefix = c.digits[1:{n}] AND {condition.replace('r.', f'{kind}{n}.')} "
                f"AND {kind}{n}.start_us <= c.start_us AND c.start_us < {kind}{n}.end_us"
            )
            candidates.append(f"{kind}{n}.idx")
    return f"""
    CREATE OR REPLACE TABLE rated AS
    WITH calls AS (
        SELECT row_id, billsec, plan, start_us,
               CASE WHEN number[1] = '+' THEN number[2:] WHEN number[1:2] = '00' THEN number[3:] ELSE number END AS digits,
               timezone(z.tz, make_timestamp(start_us)::TIMESTAMPTZ) AS local
        FROM cdrs JOIN zones z USING (plan)
    ), timed AS (
        SELECT c.*, w.period, regexp_full_match(c.digits, '[0-9]+') AS ok
        FROM calls c JOIN windows w ON w.plan = c.plan AND w.dow = isodow(c.local)
             AND hour(c.local) * 60 + minute(c.local) >= w.start_min AND hour(c.local) * 60 + minute(c.local) < w.end_min
    ), matched AS (
        SELECT c.row_id, c.billsec, c.ok, CASE WHEN c.ok THEN coalesce({", ".join(candidates)}) END AS idx
        FROM timed c
        {chr(10).join(joins)}
    )
    {PRICED}
    """


if __name__ == "__main__":
    main()
