"""Authorize on PostgreSQL + Redis with one and with two uvicorn workers, load from `wrk`.

The deck (100,000 prefixes) and a prepaid account live in a fresh PostgreSQL database; the rate
limits are shared through Redis, as in production. `wrk` (Debian's package) drives 32
connections through 2,000 dialled numbers, pinned to the last CPU with `taskset`, and the
server is pinned to the others; on a 2-core machine that leaves one core for the workers, so
the run is made a second time with nothing pinned, and both are printed.

    .venv/bin/python bench/workers.py [--postgres URL] [--redis URL] [--duration 5]
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from api import HOST, server, setup
from realtime import add_account, numbers
from sqlalchemy import create_engine, text

from trunkline.kit.config import Settings

DATABASE = "trunkline_bench_workers"
LEAST = 1.6  # two workers over one, on authorize


def fresh_database(admin_url: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return f"{base}/{DATABASE}"


LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Authorization"] = "Bearer %s"})
end
"""


def wrk(port: int, script: Path, duration: float, cpu: str | None) -> float:
    command = ["wrk", "-t1", "-c32", f"-d{duration:g}s", "--latency", "-s", str(script), f"http://{HOST}:{port}/"]
    if cpu is not None:
        command = ["taskset", "-c", cpu, *command]
    subprocess.run([*command[:-4], "-d3s", *command[-3:]], capture_output=True, check=True)  # warm-up: each worker builds its deck on its first authorize
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TRUNKLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cpus = sorted(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="trunkline-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=fresh_database(args.postgres), redis_url=args.redis)
        token, _ = setup(Path(tmp), args.rows, settings)
        account = add_account(settings)
        script = Path(tmp) / "authorize.lua"
        paths = ", ".join(f'"/api/accounts/{account}/authorize?number={number}"' for number in numbers(2000))
        script.write_text(LUA % (paths, token))
        env = {"TRUNKLINE_DATA_DIR": tmp, "TRUNKLINE_DATABASE_URL": settings.database_url, "TRUNKLINE_REDIS_URL": args.redis}
        results = {}
        for pinned in (True, False):
            for workers in (1, 2):
                with server("trunkline.app:create_app", env, Path(tmp), workers=workers) as target:
                    if pinned and len(cpus) > 1:  # the server and its worker processes, every thread
                        children = subprocess.run(["pgrep", "-P", str(target.pid)], capture_output=True, text=True).stdout.split()
                        for pid in (str(target.pid), *children):
                            subprocess.run(["taskset", "-a", "-p", "-c", ",".join(map(str, cpus[:-1])), pid], capture_output=True, check=False)  # a thread may end meanwhile
                    rate = wrk(target.port, script, args.duration, str(cpus[-1]) if pinned and len(cpus) > 1 else None)
                    results[(pinned, workers)] = rate
                    print(f"  {'wrk pinned' if pinned else 'unpinned  '} {workers} worker(s): {rate:,.0f} req/s", file=sys.stderr)
    print(f"\nauthorize, PostgreSQL + Redis, 32 connections (wrk), {args.rows:,}-prefix deck, {len(cpus)} CPUs")
    for pinned in (True, False):
        one, two = results[(pinned, 1)], results[(pinned, 2)]
        label = f"wrk on CPU {cpus[-1]}, server on {','.join(map(str, cpus[:-1]))}" if pinned else "nothing pinned"
        print(f"{label:<32} 1 worker {one:>8,.0f}  2 workers {two:>8,.0f}  {two / one:.2f}× (≥ {LEAST}): {'HOLDS' if two / one >= LEAST else 'MISSES'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
