"""Call-data reports over 1,000,000 stored calls, on the real server (uvicorn, 1 worker).

    .venv/bin/python bench/reports.py [--postgres postgresql://postgres@127.0.0.1:5432/test]

Stores 1,000,000 synthetic calls for one organization through the store layer
(`calls.ingest.ingest` in batches: rated against a 300,000-prefix deck, daily totals kept
in step), then times `GET /api/reports/call-data` for May 2024 (31 days) grouped by
day, account, type, prefix and day,account, and by prefix for one account and by
account and prefix (these two read the calls, not the totals): the median of several
runs each, over HTTP. Target: the groupings by day, account, type and prefix under a second
(the combinations are timed for reference; account,prefix is an export of every pair). The calls are those of
bench/ingest.py (100 accounts, starts in time order over the month); their destinations are
`--traffic zipf` (default): 20,000 draws from the deck by Zipf popularity (s = 1),
as real traffic concentrates on a few thousand destinations, or `--traffic uniform`:
every prefix alike, the worst case (a prefix report of ~290,000 rows).
"""

import argparse
import http.client
import json
import signal
import statistics
import sys
import time
from urllib.parse import urlencode

import _deck
import ingest as ingest_bench
import numpy as np
from api import HOST, server

from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls import parsing
from trunkline.calls.ingest import ingest
from trunkline.db.engine import make_engine
from trunkline.kit.clock import utcnow

ONE_ACCOUNT = "acct-007"
# (label, query): every grouping of the totals, and the two that read the calls themselves.
# The target is for the groupings the issue names (GOAL); the combinations are shown beside them.
GOAL = ("day", "account", "type", "prefix")
CASES = (
    ("day", {"group_by": "day"}),
    ("account", {"group_by": "account"}),
    ("type", {"group_by": "type"}),
    ("prefix", {"group_by": "prefix"}),
    ("day,account", {"group_by": "day,account"}),
    (f"prefix, {ONE_ACCOUNT}", {"group_by": "prefix", "account_id": ONE_ACCOUNT}),
    ("account,prefix", {"group_by": "account,prefix"}),
)
TARGET = 1.0


def destinations(prefixes: list[str], traffic: str, seed: int = 5) -> list[str]:
    """The prefixes calls are drawn from, uniformly (repeats make a prefix more popular)."""
    if traffic == "uniform":
        return prefixes
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(prefixes) + 1)
    ranked = rng.permutation(len(prefixes))
    return [prefixes[i] for i in ranked[rng.choice(len(prefixes), 20_000, p=weights / weights.sum())]]


def store_calls(settings, org_id: int, prefixes: list[str], count: int, batch: int) -> None:
    """`count` calls through calls.ingest.ingest, `batch` per transaction."""
    engine = make_engine(settings.sqlalchemy_url)
    decks = DeckCache()
    try:
        for index, body in enumerate(ingest_bench.batches(prefixes, count // batch, batch)):
            records, _ = parsing.parse(body, "application/json")
            with engine.begin() as conn:
                ingest(conn, org_id, records, decks, utcnow())
            print(f"\r  {(index + 1) * batch:,} calls stored", end="", file=sys.stderr)
        print(file=sys.stderr)
    finally:
        engine.dispose()


def get(port: int, path: str, headers: dict[str, str]) -> tuple[float, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}: {body[:500]!r}")
    return seconds, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL (a fresh database next to URL's)")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--prefixes", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per grouping (median shown)")
    parser.add_argument("--traffic", choices=("zipf", "uniform"), default="zipf")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup on kill too
    backend = "PostgreSQL" if args.postgres else "SQLite"

    prefixes = [str(prefix) for prefix in _deck.make_prefixes(args.prefixes)]
    with ingest_bench.database(args.postgres) as settings:
        started = time.perf_counter()
        token, org_id = ingest_bench.setup(settings, prefixes)
        store_calls(settings, org_id, destinations(prefixes, args.traffic), args.calls, args.batch)
        rows, totals = ingest_bench.stored(settings, org_id)
        print(f"setup: {rows:,} calls ({totals:,} in daily totals) in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        if rows != args.calls or totals != args.calls:
            print(f"STORED COUNT WRONG: {rows:,} calls, {totals:,} in totals; expected {args.calls:,}")
            return 1
        auth = {"Authorization": f"Bearer {token}"}
        results, answers = {}, {}
        with server("trunkline.app:create_app", ingest.server_env(settings), settings.data_dir) as target:
            for label, params in CASES:
                path = f"/api/reports/call-data?{urlencode({'start_date': '2024-05-01', 'end_date': '2024-05-31', **params})}"
                _, body = get(target.port, path, auth)  # warm-up, and the answer to check
                data = json.loads(body)["data"]
                if "account_id" in params:
                    expected = next(row["calls"] for row in answers["account"] if row["account_id"] == params["account_id"])
                else:
                    expected = args.calls
                if sum(row["calls"] for row in data) != expected:
                    print(f"REPORT WRONG for {label}: {sum(row['calls'] for row in data):,} calls, expected {expected:,}")
                    return 1
                answers[label] = data
                times = [get(target.port, path, auth)[0] for _ in range(args.runs)]
                results[label] = (statistics.median(times), max(times), len(data), len(body))

    print(f"\n{backend}, {args.calls:,} calls for one organization ({args.traffic} traffic), report over 31 days, median of {args.runs} runs")
    print(f"{'group_by':<20} {'median s':>9} {'max s':>7} {'rows':>9} {'bytes':>12}")
    for label, (median, worst, count, size) in results.items():
        print(f"{label:<20} {median:>9.3f} {worst:>7.3f} {count:>9,} {size:>12,}")
    slowest = max(GOAL, key=lambda name: results[name][0])
    verdict = "meets" if results[slowest][0] < TARGET else "MISSES"
    print(f"slowest of {', '.join(GOAL)}: {slowest} at {results[slowest][0]:.3f} s: {verdict} the target of under {TARGET:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
