"""CDR ingest throughput on the real server (uvicorn, 2 workers), next to the HTTP floor.

    .venv/bin/python bench/ingest.py [--postgres postgresql://postgres@127.0.0.1:5432/test] [--accounts]

Loads a synthetic wholesale deck (300,000 prefixes by default, bench/_deck.py) for an
organization with very high rate limits, then POSTs JSON batches of 10,000 CDRs from
2 concurrent clients per worker and reports CDRs/s rated and stored, checked against the stored
count at the end. The same batches POSTed to a bare Starlette route that only reads the
body give the floor of HTTP on this machine. Target: at least 50,000 CDRs/s.
SQLite in a temporary directory by default; `--postgres URL` uses a fresh database
created next to URL's (dropped afterwards) instead. `--accounts` opens the 100 accounts
the CDRs name first, so every call is also charged to its account (checked at the end).
`--plans` (implies --accounts) puts the accounts on three plans in turn: the default plan, a
plan with peak and off-peak rates (Europe/London) and a plan whose deck changes on 2024-05-15,
the middle of the CDRs' month.
"""

import argparse
import http.client
import json
import os
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import _deck
import numpy as np
from api import HOST, cpu_seconds, server
from sqlalchemy import create_engine, func, select, text, update
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from trunkline.accounts import repository as accounts
from trunkline.app import prepare
from trunkline.call_rates import repository as call_rates
from trunkline.db.engine import make_engine
from trunkline.db.tables import EVER, call_totals_by_account, calls, organizations
from trunkline.db.tables import accounts as account_rows
from trunkline.identity import repository as identity
from trunkline.kit import ids
from trunkline.kit.clock import utcnow
from trunkline.kit.config import Settings
from trunkline.rate_plans import repository as rate_plans
from trunkline.rating import DAYS
from trunkline.rating.money import from_units

BENCH = Path(__file__).resolve().parent
TARGET = 50_000
TYPES = ("LOCAL", "NATIONAL", "INTERNATIONAL", "MOBILE")
DECK_COLUMNS = ("prefix", "type", "free_seconds", "grace_period", "interval_1", "interval_n", "connect_fee", "postcall_surcharge", "price_1", "price_n")
MONTH = datetime(2024, 5, 1, tzinfo=UTC)  # calls start in May 2024 (31 days)
ACCOUNTS = 100
ANSWERED = 0.6


def bare_app() -> Starlette:
    """The floor: reads the whole body and answers a constant (`uvicorn ingest:bare_app --factory`)."""

    async def sink(request):
        body = await request.body()
        return JSONResponse({"success": True, "bytes": len(body)})

    return Starlette(routes=[Route("/sink", sink, methods=["POST"])])


# --- database ----------------------------------------------------------------------------


@contextmanager
def database(postgres: str | None):
    """Settings for a fresh, migrated database: SQLite in a temp dir, or a new PostgreSQL database."""
    with tempfile.TemporaryDirectory(prefix="trunkline-bench-") as tmp:
        if postgres is None:
            settings = Settings(data_dir=Path(tmp))
            prepare(settings)
            yield settings
            return
        base, _, _ = postgres.rpartition("/")
        name = f"trunkline_bench_{os.getpid()}"
        admin = create_engine(Settings(database_url=postgres).sqlalchemy_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            settings = Settings(data_dir=Path(tmp), database_url=f"{base}/{name}")
            prepare(settings)
            yield settings
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def deck_rows(prefixes: list[str], seed: int = 2) -> list[tuple]:
    """One rate per prefix (varied intervals, fees, grace, surcharge), as call_rates column tuples
    in DECK_COLUMNS order; vectorised, since building 300,000 Rate objects alone takes seconds."""
    rng = np.random.default_rng(seed)
    n = len(prefixes)
    interval_1, interval_n = np.array([(60, 60), (60, 6), (30, 6), (1, 1), (6, 6), (60, 1)])[rng.integers(0, 6, n)].T
    price_1 = rng.integers(50, 300_000, n)
    price_n = np.where(rng.random(n) < 0.7, price_1, rng.integers(50, 300_000, n))
    grace = rng.choice([0, 0, 0, 3, 5], n)
    free = np.where(rng.random(n) < 0.05, rng.choice([30, 60, 120], n), 0)
    connect = np.where(rng.random(n) < 0.2, rng.integers(0, 10_000, n), 0)
    surcharge = np.where(rng.random(n) < 0.2, rng.choice([1000, 2500, 15000], n), 0)
    kind = np.array(list(TYPES))[rng.integers(0, len(TYPES), n)]
    columns = (prefixes, kind, free, grace, interval_1, interval_n, connect, surcharge, price_1, price_n)
    return list(zip(*(column.tolist() if isinstance(column, np.ndarray) else column for column in columns)))


def load_deck(conn, org_id: int, rows: list[tuple], plan_id: int | None = None, period: str = "", start: datetime = EVER) -> None:
    """A deck (a plan's, default: the default plan's; one period's, from `start`), written fast:
    call_rates.load on PostgreSQL (COPY), the driver's executemany on SQLite."""
    plan_id = org_id if plan_id is None else plan_id
    if conn.dialect.name == "postgresql":
        values = [dict(zip(DECK_COLUMNS, row), description=None, period=period, effective_from=start) for row in rows]
        call_rates.load(conn, org_id, values, False, utcnow(), plan_id)
        return
    stamp = call_rates.table.c.created_at.type.process_bind_param
    now, begins = stamp(utcnow(), conn.dialect), stamp(start, conn.dialect)
    names = ("id", "org_id", "plan_id", "period", "effective_from", *DECK_COLUMNS, "created_at", "updated_at")
    conn.exec_driver_sql(
        f"INSERT INTO call_rates ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [(rate_id, org_id, plan_id, period, begins, *row, now, now) for rate_id, row in zip(ids.generator.many(len(rows)), rows)],
    )


def setup(settings: Settings, prefixes: list[str]) -> tuple[str, int]:
    """The operator org with limits no bench can reach and the deck: (token, org id)."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            token = identity.bootstrap(conn)
            org_id = identity.operator_org(conn)
            conn.execute(update(organizations).where(organizations.c.id == org_id).values(rate_limit_get=10**9, rate_limit_other=10**9))
            load_deck(conn, org_id, deck_rows(prefixes))
    finally:
        engine.dispose()
    return token, org_id


def open_accounts(settings: Settings, org_id: int, plans: list[int | None]) -> None:
    """The ACCOUNTS postpaid accounts the CDRs name (acct-000 …), on `plans` in turn."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            for number in range(ACCOUNTS):
                values = {"account_id": f"acct-{number:03d}", "name": f"Customer {number}", "currency": "USD", "type": "postpaid", "credit_limit": 0,
                          "rate_plan_id": plans[number % len(plans)]}
                accounts.create(conn, org_id, values, utcnow())
    finally:
        engine.dispose()


def open_plans(settings: Settings, org_id: int, prefixes: list[str]) -> list[int | None]:
    """Two plans besides the default one: peak and off-peak rates in Europe/London, and a deck
    that changes mid-month. Their ids, the default plan's as None."""
    week = [{"period": "peak", "days": list(DAYS[:5]), "start": "08:00", "end": "20:00"},
            {"period": "offpeak", "days": list(DAYS[:5]), "start": "00:00", "end": "08:00"},
            {"period": "offpeak", "days": list(DAYS[:5]), "start": "20:00", "end": "24:00"},
            {"period": "offpeak", "days": list(DAYS[5:]), "start": "00:00", "end": "24:00"}]
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            periods = rate_plans.create(conn, org_id, {"name": "Peak", "currency": "USD", "kind": "sell", "timezone": "Europe/London", "periods": week}, utcnow())
            load_deck(conn, org_id, deck_rows(prefixes, seed=3), periods, "peak")
            load_deck(conn, org_id, deck_rows(prefixes, seed=4), periods, "offpeak")
            dated = rate_plans.create(conn, org_id, {"name": "Dated", "currency": "USD", "kind": "sell", "timezone": "UTC", "periods": []}, utcnow())
            load_deck(conn, org_id, deck_rows(prefixes, seed=5), dated)
            call_rates.load(conn, org_id, [dict(zip(DECK_COLUMNS, row), description=None) for row in deck_rows(prefixes, seed=6)], False, utcnow(),
                            dated, datetime(2024, 5, 15, tzinfo=UTC))
    finally:
        engine.dispose()
    return [None, periods, dated]


def charged(settings: Settings, org_id: int) -> tuple[int, int]:
    """(units taken from the accounts, cost of the stored calls) for the org."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            taken = -(conn.execute(select(func.sum(account_rows.c.balance)).where(account_rows.c.org_id == org_id)).scalar() or 0)
            cost = conn.execute(select(func.sum(calls.c.cost)).where(calls.c.org_id == org_id)).scalar() or 0
    finally:
        engine.dispose()
    return int(taken), int(cost)  # PostgreSQL sums bigints as numeric


def stored(settings: Settings, org_id: int) -> tuple[int, int]:
    """(rows in calls, calls counted in the daily totals) for the org."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(calls).where(calls.c.org_id == org_id)).scalar_one()
            totals = conn.execute(select(func.sum(call_totals_by_account.c.calls)).where(call_totals_by_account.c.org_id == org_id)).scalar()
    finally:
        engine.dispose()
    return rows, totals or 0


# --- CDRs --------------------------------------------------------------------------------


def batches(prefixes: list[str], count: int, size: int, seed: int = 11) -> list[bytes]:
    """`count` JSON array bodies of `size` CDRs each, every call_id unique: numbers from
    bench/_deck.py (uniform over the deck's prefixes; 30 % "+…", 10 % "00…", a few matching
    nothing), ~60 % answered, 100 accounts, starts spread over May 2024 in time order, as a
    switch sends them (each batch covers the next slice of the month)."""
    total = count * size
    numbers, _ = _deck.make_cdrs(prefixes, total, seed)
    rng = np.random.default_rng(seed + 1)
    talk = np.where(rng.random(total) < ANSWERED, rng.exponential(150, total).astype(np.int64) + 1, 0)
    ring = rng.integers(2, 30, total)
    start = np.datetime64(MONTH.replace(tzinfo=None), "s") + np.sort(rng.integers(0, 31 * 86400, total))
    answer = start + ring
    end = answer + talk
    texts = [np.datetime_as_string(moments, unit="s").tolist() for moments in (start, answer, end)]
    account = rng.integers(0, ACCOUNTS, total).tolist()
    records = [
        f'{{"call_id":"bench-{seed}-{i}","account_id":"acct-{account[i]:03d}","caller":"+15550100000",'
        f'"callee":"{numbers[i].decode()}","start":"{texts[0][i]}Z",'
        + (f'"answer":"{texts[1][i]}Z",' if talk[i] else "")
        + f'"end":"{texts[2][i]}Z","duration":{ring[i] + talk[i]},"billsec":{talk[i]},'
        f'"disposition":"{"ANSWERED" if talk[i] else "NO ANSWER"}","direction":"outbound"}}'
        for i in range(total)
    ]
    return [("[" + ",".join(records[i : i + size]) + "]").encode() for i in range(0, total, size)]


# --- server and clients ------------------------------------------------------------------


def server_env(settings: Settings) -> dict[str, str]:
    env = {"TRUNKLINE_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["TRUNKLINE_DATABASE_URL"] = settings.database_url
    return env


def post(port: int, path: str, body: bytes, headers: dict[str, str], status: int = 200) -> dict:
    """One POST on a connection of its own; raises unless it answers `status`."""
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    if response.status != status:
        raise RuntimeError(f"POST {path} answered {response.status}: {answer[:500]!r}")
    return json.loads(answer)


def run(port: int, path: str, bodies: list[bytes], headers: dict[str, str], clients: int, status: int = 200) -> tuple[float, list[dict]]:
    """POST every body once, `clients` at a time, each on a new connection so that the kernel
    spreads the batches over the server's workers: (seconds, answers)."""
    queue = iter(enumerate(bodies))
    lock = threading.Lock()
    answers: list[dict | None] = [None] * len(bodies)
    failures: list[BaseException] = []

    def client() -> None:
        try:
            while True:
                with lock:
                    index, body = next(queue, (None, None))
                if body is None:
                    return
                answers[index] = post(port, path, body, headers, status)
        except BaseException as exc:  # reported after the run
            failures.append(exc)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return seconds, answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL (a fresh database next to URL's)")
    parser.add_argument("--prefixes", type=int, default=300_000)
    parser.add_argument("--batches", type=int, default=30, help="measured batches")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (trunkline serve --workers)")
    parser.add_argument("--clients", type=int, help="concurrent clients [default: 2 per worker]")
    parser.add_argument("--accounts", action="store_true", help="charge every call to one of 100 accounts")
    parser.add_argument("--plans", action="store_true", help="and price the accounts by three plans in turn (periods, dates)")
    args = parser.parse_args()
    args.clients = args.clients or 2 * args.workers
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup on kill too
    backend = "PostgreSQL" if args.postgres else "SQLite"

    started = time.perf_counter()
    prefixes = [str(prefix) for prefix in _deck.make_prefixes(args.prefixes)]
    warmups = 2 * args.clients  # enough for every worker to build its deck cache before the clock starts
    bodies = batches(prefixes, args.batches + warmups, args.batch_size)
    warmup, measured = bodies[:warmups], bodies[warmups:]
    cdrs = args.batches * args.batch_size
    print(f"CDRs: {len(bodies)} batches of {args.batch_size:,} ({len(bodies[0]) / 1e6:.1f} MB each) in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    with database(args.postgres) as settings:
        started = time.perf_counter()
        token, org_id = setup(settings, prefixes)
        if args.accounts or args.plans:
            open_accounts(settings, org_id, open_plans(settings, org_id, prefixes) if args.plans else [None])
        print(f"deck: {args.prefixes:,} prefixes loaded into {backend} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        auth = {"Authorization": f"Bearer {token}"}
        env = server_env(settings)

        with server("ingest:bare_app", env, settings.data_dir, app_dir=BENCH, workers=args.workers) as target:
            run(target.port, "/sink", warmup, {}, args.clients)
            floor_seconds, _ = run(target.port, "/sink", measured, {}, args.clients)
        with server("trunkline.app:create_app", env, settings.data_dir, workers=args.workers) as target:
            run(target.port, "/api/calls", warmup, auth, args.clients)  # builds the deck cache
            cpu = cpu_seconds(target.pid)
            seconds, answers = run(target.port, "/api/calls", measured, auth, args.clients)
            cpu = cpu_seconds(target.pid) - cpu
        rows, totals = stored(settings, org_id)
        taken, cost = charged(settings, org_id)

    expected = (args.batches + warmups) * args.batch_size
    reported = sum(answer["stored"] for answer in answers)
    unrated = sum(answer["unrated"] for answer in answers)
    if rows != expected or totals != expected or reported != cdrs:
        print(f"STORED COUNT WRONG: {rows:,} rows, {totals:,} in totals, {reported:,} reported stored; expected {expected:,}")
        return 1
    args.accounts = args.accounts or args.plans
    if args.accounts and taken != cost:
        print(f"CHARGES WRONG: {taken:,} units taken from the accounts, the calls cost {cost:,}")
        return 1
    floor, rate = cdrs / floor_seconds, cdrs / seconds
    print(f"\n{backend}, {args.prefixes:,}-prefix deck, {args.batches} batches of {args.batch_size:,} JSON CDRs, {args.clients} clients, {args.workers} worker(s)")
    print(f"{'case':<44} {'seconds':>8} {'CDRs/s':>10} {'ratio':>6}")
    print(f"{'bare Starlette route (reads the body)':<44} {floor_seconds:>8.2f} {floor:>10,.0f} {1:>6.2f}")
    print(f"{'POST /api/calls (rated and stored)':<44} {seconds:>8.2f} {rate:>10,.0f} {rate / floor:>6.2f}")
    print(f"verified: {rows:,} calls stored (and in daily totals), {unrated:,} of the measured ones unrated")
    if args.plans:
        print("accounts priced by three plans in turn: the default plan, peak/off-peak (Europe/London), a deck changing on 2024-05-15")
    if args.accounts:
        print(f"verified: {ACCOUNTS} accounts charged {from_units(cost):,} in all, the calls' cost to the unit")
    where = " (not counting PostgreSQL's own processes)" if args.postgres else ""
    print(f"server process CPU: {cpu / cdrs * 1e6:.1f} µs per CDR{where}; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    verdict = "meets" if rate >= TARGET else "MISSES"
    print(f"{rate:,.0f} CDRs/s {verdict} the target of {TARGET:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
