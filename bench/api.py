"""API throughput next to a bare Starlette route, on the real server (uvicorn, 1 worker, SQLite).

    .venv/bin/python bench/api.py [--connections 32] [--duration 8]

Measures (a) a bare Starlette route returning constant JSON, (a2) the same route in a
bare FastAPI app (the framework's own cost, before any work), (b) an authenticated,
rate-limited `GET /api/call_rates/{id}` over a 100,000-row deck, (c) a filtered list
page. The bare route is the ceiling of this stack on this machine; the target for (b)
is at least 0.35 of it.
"""

import argparse
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import loadgen
from fastapi import FastAPI
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from trunkline.app import prepare
from trunkline.call_rates import repository as call_rates
from trunkline.db.engine import make_engine
from trunkline.db.tables import organizations
from trunkline.identity import repository as identity
from trunkline.kit import ids
from trunkline.kit.clock import utcnow
from trunkline.kit.config import Settings

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent
FILTER = "startswith(prefix, '44') and price_1 gt 0.01"
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning", "--no-proxy-headers", "--no-server-header"]


def bare_app() -> Starlette:
    """The ceiling: one route, constant JSON, same server flags (`uvicorn api:bare_app --factory`)."""

    async def hello(_request):
        return JSONResponse({"success": True, "hello": "world"})

    return Starlette(routes=[Route("/hello", hello)])


def bare_fastapi_app() -> FastAPI:
    """FastAPI's floor: the same constant JSON from an `async` route, no middleware, no dependencies."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/hello")
    async def hello():
        return {"success": True, "hello": "world"}

    return app


def synthetic_rows(count: int, seed: int = 7) -> list[dict]:
    """`count` unique rates as column values: 90 two-digit "countries" of ~count/90 ranges each."""
    rng = random.Random(seed)
    types = ("LOCAL", "NATIONAL", "INTERNATIONAL", "MOBILE")
    rows = []
    for i in range(count):
        price_1 = rng.randrange(50, 300_000)
        rows.append(
            {
                "prefix": f"{10 + i % 90}{i // 90:05d}",
                "type": types[i % 4],
                "free_seconds": 0,
                "grace_period": rng.choice((0, 0, 3, 5)),
                "interval_1": rng.choice((1, 30, 60)),
                "interval_n": rng.choice((1, 6, 60)),
                "connect_fee": rng.choice((0, 0, 0, 1500)),
                "postcall_surcharge": 0,
                "price_1": price_1,
                "price_n": price_1 if rng.random() < 0.7 else rng.randrange(50, 300_000),
                "description": f"Range {i}",
            }
        )
    return rows


def setup(data_dir: Path, rows: int, settings: Settings | None = None) -> tuple[str, list[int]]:
    """Migrated database (`settings`' own, else SQLite in `data_dir`) with the operator org, its
    token, limits no bench can reach and a deck: (token, sample of rate ids)."""
    settings = settings or Settings(data_dir=data_dir)
    prepare(settings)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            token = identity.bootstrap(conn)
            org_id = identity.operator_org(conn)
            conn.execute(update(organizations).where(organizations.c.id == org_id).values(rate_limit_get=10**9, rate_limit_other=10**9))
            call_rates.load(conn, org_id, synthetic_rows(rows), True, utcnow())
        with engine.connect() as conn:
            rate_ids = list(conn.execute(select(call_rates.table.c.id)).scalars())
    finally:
        engine.dispose()
    return token, random.Random(1).sample(rate_ids, min(2000, len(rate_ids)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a server and its worker processes (its process group): per
    request, a steadier figure than req/s on a busy machine."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(app: str, env: dict[str, str], cwd: Path, app_dir: Path | None = None, workers: int = 1):
    """A uvicorn subprocess serving `app` with `workers` processes; always killed on the way out."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", HOST, "--port", str(port), *UVICORN_FLAGS, "--workers", str(workers)]
    if app_dir:
        command += ["--app-dir", str(app_dir)]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=cwd, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited with {process.returncode} before serving")
            try:
                socket.create_connection((HOST, port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start listening within 60 s") from None
                time.sleep(0.1)
        yield Server(port, process.pid)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def check(port: int, path: str, headers: dict[str, str]) -> int:
    """One request before the run, so a broken setup fails loudly instead of measuring errors."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
    return len(body)


@dataclass(frozen=True)
class Measured:
    result: loadgen.Result
    cpu_us: float  # server CPU per request over the whole run, warm-up included


def measure(target: Server, paths: list[str], headers: dict[str, str], args) -> Measured:
    size = check(target.port, paths[0], headers)
    requests = [loadgen.request_bytes("GET", path, f"{HOST}:{target.port}", headers) for path in paths]
    cpu = cpu_seconds(target.pid)
    result = loadgen.run(HOST, target.port, requests, args.connections, args.duration, args.warmup)
    cpu = cpu_seconds(target.pid) - cpu
    served = result.requests + result.warmup_requests
    print(f"  {paths[0][:60]:<60} {result.rate:>9,.0f} req/s  ({size} B body)", file=sys.stderr)
    return Measured(result, 1e6 * cpu / max(1, served))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per case")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup on kill too

    with tempfile.TemporaryDirectory(prefix="trunkline-bench-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        token, rate_ids = setup(data_dir, args.rows)
        print(f"setup: {args.rows:,} rates in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        env = {"TRUNKLINE_DATA_DIR": str(data_dir)}
        auth = {"Authorization": f"Bearer {token}"}
        results = {}
        with server("api:bare_app", env, data_dir, app_dir=BENCH) as target:
            results["(a) bare Starlette route"] = measure(target, ["/hello"], {}, args)
        with server("api:bare_fastapi_app", env, data_dir, app_dir=BENCH) as target:
            results["(a2) bare FastAPI route"] = measure(target, ["/hello"], {}, args)
        with server("trunkline.app:create_app", env, data_dir) as target:
            paths = [f"/api/call_rates/{ids.encode(rate_id)}" for rate_id in rate_ids]
            results["(b) GET /api/call_rates/{id}"] = measure(target, paths, auth, args)
            listing = f"/api/call_rates?filter={quote(FILTER)}&top=100"
            results["(c) GET /api/call_rates?filter=…&top=100"] = measure(target, [listing], auth, args)

    bare = results["(a) bare Starlette route"]
    print(f"\n{args.connections} connections, {args.duration:g} s per case after {args.warmup:g} s warm-up, 1 worker, SQLite")
    print(f"{'case':<42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'cpu us/req':>10} {'cpu ratio':>9} {'non-2xx':>8} {'errors':>7}")
    for name, measured in results.items():
        result = measured.result
        print(
            f"{name:<42} {result.rate:>9,.0f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f} "
            f"{result.rate / bare.result.rate:>6.2f} {measured.cpu_us:>10.0f} {bare.cpu_us / measured.cpu_us:>9.2f} "
            f"{result.non_2xx:>8} {result.errors:>7}"
        )
    ratio = results["(b) GET /api/call_rates/{id}"].result.rate / bare.result.rate
    print(f"\n(b) runs at {ratio:.2f} of bare Starlette (bench/realtime.py holds the targets)")
    print("cpu ratio: bare's server CPU per request over the case's (the same comparison, less sensitive to other load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
