"""The paths a switch waits on during a call, against the platform's own floors in the same run.

One uvicorn worker, SQLite, a 100,000-prefix deck, 32 keep-alive connections. Cases: the bare
FastAPI route, `GET /api/auth/me` (the floor of any authenticated request), quote, authorize,
one CDR per `POST /api/calls` (unique call ids), a real FreeSWITCH mod_json_cdr document per
`POST /api/endpoint/cdr` (Basic auth, a new channel uuid each), `GET /api/call_rates/{id}` and a
list page of 100 rows. Each target is printed with HOLDS or MISSES.

    .venv/bin/python bench/realtime.py [--duration 5] [--connections 32]
"""

import argparse
import base64
import json
import random
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import loadgen
from api import BENCH, HOST, Measured, cpu_seconds, measure, server, setup

from trunkline.accounts import repository as accounts
from trunkline.accounts.schemas import TransactionKind
from trunkline.db.engine import make_engine
from trunkline.identity import repository as identity
from trunkline.kit import ids
from trunkline.kit.clock import utcnow
from trunkline.kit.config import Settings
from trunkline.switches import repository as switch_endpoints

P99_MS = 25
# A real mod_json_cdr A-leg (tests/fixtures/README.md names its source); each push gets a new uuid.
FREESWITCH_CDR = BENCH.parent / "tests" / "fixtures" / "switches" / "real" / "fs_json_cgrates_2018_aleg_hold.json"
FREESWITCH_UUID = "3da8bf84-c133-4959-9e24-e72875cb33a1"
# (name, case, floor case, the least ratio to the floor)
TARGETS = [
    ("quote", "quote", "auth/me", 0.6),
    ("authorize", "authorize", "auth/me", 0.6),
    ("one CDR per POST /api/calls", "push", "auth/me", 0.5),
    ("one FreeSWITCH CDR per push", "fs push", "auth/me", 0.5),
    ("GET /api/auth/me", "auth/me", "bare FastAPI", 0.6),
    ("GET by id", "by id", "bare FastAPI", 0.5),
    ("a list page of 100", "list", "by id", 0.25),
]


def add_account(settings: Settings) -> str:
    """A prepaid account of the operator's organization with 1,000,000.00000 to spend; its id."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            org_id = identity.operator_org(conn)
            ref = accounts.create(conn, org_id, {"account_id": "RT", "name": "Realtime", "currency": "EUR", "type": "prepaid", "credit_limit": 0}, utcnow())
            accounts.credit(conn, org_id, ref, 10**11, TransactionKind.topup, None, utcnow())
    finally:
        engine.dispose()
    return ids.encode(ref)


def add_endpoint(settings: Settings) -> str:
    """A cdr_push endpoint of the operator's organization; its Basic credentials, encoded."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            org_id = identity.operator_org(conn)
            _, login, password = switch_endpoints.create(conn, org_id, {"name": "fs-bench", "type": "cdr_push", "push_limit": 10**9})
    finally:
        engine.dispose()
    return base64.b64encode(f"{login}:{password}".encode()).decode()


def freeswitch_bodies(count: int) -> list[bytes]:
    document = FREESWITCH_CDR.read_text(encoding="utf-8")
    return [document.replace(FREESWITCH_UUID, f"3da8bf84-c133-4959-9e24-{n:012d}").encode() for n in range(count)]


def numbers(count: int) -> list[str]:
    """Dialled numbers under the synthetic deck's prefixes (bench/api.py `synthetic_rows`)."""
    rng = random.Random(3)
    return [f"{10 + i % 90}{i // 90:05d}{rng.randrange(10**4):04d}" for i in (rng.randrange(100_000) for _ in range(count))]


def push_bodies(count: int) -> list[bytes]:
    start = datetime.now(UTC).replace(microsecond=0).isoformat()
    return [json.dumps({"call_id": f"rt-{n}", "callee": number, "start": start, "duration": 65, "billsec": 60, "account_id": "RT"}).encode() for n, number in enumerate(numbers(count))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per case")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="trunkline-bench-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        token, rate_ids = setup(data_dir, args.rows)
        account = add_account(Settings(data_dir=data_dir))
        endpoint = add_endpoint(Settings(data_dir=data_dir))
        print(f"setup: {args.rows:,} rates in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        env = {"TRUNKLINE_DATA_DIR": str(data_dir)}
        auth = {"Authorization": f"Bearer {token}"}
        dialled = numbers(2000)
        results = {}
        with server("api:bare_fastapi_app", env, data_dir, app_dir=BENCH) as target:
            results["bare FastAPI"] = measure(target, ["/hello"], {}, args)
        with server("trunkline.app:create_app", env, data_dir) as target:
            results["auth/me"] = measure(target, ["/api/auth/me"], auth, args)
            results["quote"] = measure(target, [f"/api/call_rates/quote?number={n}&duration=65" for n in dialled], auth, args)
            results["authorize"] = measure(target, [f"/api/accounts/{account}/authorize?number={n}" for n in dialled], auth, args)
            results["by id"] = measure(target, [f"/api/call_rates/{ids.encode(rate_id)}" for rate_id in rate_ids], auth, args)
            results["list"] = measure(target, ["/api/call_rates?top=100"], auth, args)
            host = f"{HOST}:{target.port}"
            headers = {**auth, "Content-Type": "application/json"}
            pushes = [loadgen.request_bytes("POST", "/api/calls", host, headers, body) for body in push_bodies(400_000)]
            results["push"] = measure_requests(target, pushes, args)
            headers = {"Authorization": f"Basic {endpoint}", "Content-Type": "application/json"}
            pushes = [loadgen.request_bytes("POST", "/api/endpoint/cdr", host, headers, body) for body in freeswitch_bodies(200_000)]
            results["fs push"] = measure_requests(target, pushes, args)

    print(f"\n{args.connections} connections, {args.duration:g} s per case after {args.warmup:g} s warm-up, 1 worker, SQLite, {args.rows:,}-prefix deck")
    print(f"{'case':<14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cpu us/req':>10} {'non-2xx':>8}")  # a non-2xx case is not measured: fix it first
    for name, measured in results.items():
        result = measured.result
        print(f"{name:<14} {result.rate:>9,.0f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {measured.cpu_us:>10.0f} {result.non_2xx:>8}")
    print()
    for label, case, floor, least in TARGETS:
        ratio = results[case].result.rate / results[floor].result.rate
        holds = ratio >= least and (case not in ("quote", "authorize") or results[case].result.p99_ms <= P99_MS)
        extra = f", p99 {results[case].result.p99_ms:.1f} ms (≤ {P99_MS})" if case in ("quote", "authorize") else ""
        print(f"{label:<30} {ratio:>5.2f} × {floor:<13} (≥ {least}{extra}): {'HOLDS' if holds else 'MISSES'}")
    return 0


def measure_requests(target, requests: list[bytes], args):
    """`measure` for pre-built requests (the pushes: each body a new call id)."""
    cpu = cpu_seconds(target.pid)
    result = loadgen.run(HOST, target.port, requests, args.connections, args.duration, args.warmup)
    cpu = cpu_seconds(target.pid) - cpu
    return Measured(result, 1e6 * cpu / max(1, result.requests + result.warmup_requests))


if __name__ == "__main__":
    sys.exit(main())
