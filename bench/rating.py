"""Bulk rating throughput against the same job done by one DuckDB SQL query.

    .venv/bin/python bench/rating.py [--cdrs 10000000] [--prefixes 300000] [--repeat 1]

Both sides get the same synthetic deck and CDRs (bench/_deck.py) and all cores.
Timed: `BulkRater.rate` (deck compilation is reported apart: a deck is compiled
once for any number of batches) and DuckDB's query, from raw numbers to stored
results. Not timed: data generation and loading into DuckDB. The query
normalises numbers ("+"/"00", digits only), finds the longest prefix with one
hash join per prefix length present (the usual SQL way), and prices exactly in
integers with the same half-up rounding; DuckDB's BIGINT raises on overflow
rather than wrapping. The two results are compared on every row.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _deck import make_cdrs, make_prefixes, make_rates  # noqa: E402

from trunkline.rating import INVALID, NO_MATCH, RATED, BulkRater, Deck, Rate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=10_000_000)
    parser.add_argument("--prefixes", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per side; the best is reported")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{args.prefixes:,} prefixes, {args.cdrs:,} CDRs, {cores} cores, load average {os.getloadavg()[0]:.1f}")

    started = time.perf_counter()
    prefixes = make_prefixes(args.prefixes)
    rates = make_rates(prefixes)
    numbers, billsec = make_cdrs(prefixes, args.cdrs)
    print(f"generated in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    deck = Deck(rates)
    built = time.perf_counter()
    rater = BulkRater(deck, threads=cores)
    print(f"Deck built in {built - started:.2f} s, compiled for bulk rating in {time.perf_counter() - built:.2f} s")
    bulk_seconds, result = best_of(args.repeat, lambda: rater.rate(numbers, billsec))
    report("bulk", args.cdrs, bulk_seconds)

    con = duckdb.connect()
    con.execute(f"SET threads = {cores}")
    load_duckdb(con, rates, numbers, billsec)
    query = duckdb_query(sorted({len(p) for p in prefixes}, reverse=True))
    duck_seconds, _ = best_of(args.repeat, lambda: con.execute(query))
    report("duckdb", args.cdrs, duck_seconds)

    duck = con.execute("SELECT status, idx, cost FROM rated ORDER BY row_id").fetchnumpy()
    mine = {"status": result.status, "idx": result.rate_index, "cost": result.cost_units}
    same = all(np.array_equal(np.asarray(duck[name]), mine[name]) for name in mine)
    rated = np.count_nonzero(result.rated)
    print(f"identical results on all {args.cdrs:,} rows: {same} ({rated:,} rated, {args.cdrs - rated:,} unrated)")
    print(f"bulk is {duck_seconds / bulk_seconds:.1f}x DuckDB (load average now {os.getloadavg()[0]:.1f})")
    if not same:
        sys.exit(1)


def best_of(runs: int, job):
    times, value = [], None
    for _ in range(runs):
        started = time.perf_counter()
        value = job()
        times.append(time.perf_counter() - started)
    return min(times), value


def report(name: str, cdrs: int, seconds: float) -> None:
    print(f"{name:>7}: {seconds:6.2f} s  {cdrs / seconds:>13,.0f} CDRs/s")


def load_duckdb(con: duckdb.DuckDBPyConnection, rates: list[Rate], numbers: np.ndarray, billsec: np.ndarray) -> None:
    """Tables `rates` and `cdrs`. DuckDB takes no bytes arrays and turns str
    arrays into ENUMs, so numbers travel as a "+" flag and digits (value and
    count, for leading zeros) and are rebuilt as VARCHAR inside DuckDB."""
    fields = ("interval_1", "interval_n", "free_seconds", "grace_period",
              "connect_fee", "postcall_surcharge", "price_1", "price_n")
    columns = {name: np.array([getattr(r, name) for r in rates], np.int64) for name in fields}
    columns["idx"] = np.arange(len(rates), dtype=np.int64)
    columns["prefix_value"] = np.array([int(r.prefix) for r in rates], np.int64)
    columns["plen"] = np.array([len(r.prefix) for r in rates], np.int64)
    con.register("rates_in", columns)
    con.execute("""CREATE TABLE rates AS SELECT * EXCLUDE (prefix_value),
                   lpad(prefix_value::VARCHAR, plen::INT, '0') AS prefix FROM rates_in""")

    plus = np.strings.startswith(numbers, b"+")
    digits = np.strings.lstrip(numbers, b"+")
    cdrs = {"row_id": np.arange(len(numbers), dtype=np.int64), "plus": plus, "value": digits.astype(np.int64),
            "length": np.strings.str_len(digits), "billsec": billsec}
    con.register("cdrs_in", cdrs)
    con.execute("""CREATE TABLE cdrs AS SELECT row_id, billsec,
                   CASE WHEN plus THEN '+' ELSE '' END || lpad(value::VARCHAR, length::INT, '0') AS number
                   FROM cdrs_in""")
    con.unregister("rates_in")
    con.unregister("cdrs_in")
    sample = con.execute("SELECT row_id, number FROM cdrs USING SAMPLE 100000 ROWS").fetchnumpy()
    rebuilt = np.strings.encode(np.asarray(sample["number"], str), "ascii")
    assert (numbers[sample["row_id"]] == rebuilt).all(), "numbers not rebuilt exactly"


def duckdb_query(lengths: list[int]) -> str:
    """Normalise, match the longest prefix (one hash join per length), price."""
    joins = "\n".join(
        f"LEFT JOIN (SELECT idx, prefix FROM rates WHERE plen = {n}) p{n} ON p{n}.prefix = c.digits[1:{n}]"
        for n in lengths
    )
    longest_first = ", ".join(f"p{n}.idx" for n in lengths)
    return f"""
    CREATE OR REPLACE TABLE rated AS
    WITH calls AS (
        SELECT row_id, billsec,
               CASE WHEN number[1] = '+' THEN number[2:] WHEN number[1:2] = '00' THEN number[3:]
                    ELSE number END AS digits
        FROM cdrs
    ), checked AS (
        SELECT *, regexp_full_match(digits, '[0-9]+') AS ok FROM calls
    ), matched AS (
        SELECT c.row_id, c.billsec, c.ok, CASE WHEN c.ok THEN coalesce({longest_first}) END AS idx
        FROM checked c
        {joins}
    )
    {PRICED}
    """


# Status, rate index and exact cost of each `matched` row (row_id, billsec, ok, idx) from `rates`.
PRICED = f"""
    SELECT m.row_id,
           CASE WHEN NOT m.ok THEN {INVALID} WHEN m.idx IS NULL THEN {NO_MATCH} ELSE {RATED} END::TINYINT AS status,
           coalesce(m.idx, -1) AS idx,
           CASE WHEN m.idx IS NULL THEN -1
                WHEN m.billsec <= r.grace_period THEN 0
                ELSE ((r.connect_fee * 60 + r.price_1 * r.interval_1
                       + (greatest(m.billsec - r.interval_1 - r.free_seconds, 0) + r.interval_n - 1) // r.interval_n
                         * r.price_n * r.interval_n)
                      * (100000 + r.postcall_surcharge) + 3000000) // 6000000
           END AS cost
    FROM matched m LEFT JOIN rates r ON r.idx = m.idx"""


if __name__ == "__main__":
    main()
