"""Rate-deck import time for a 300,000-row CSV, through the CLI and through the API.

    .venv/bin/python bench/import_deck.py [--rows 300000] [--postgres URL]

(a) `trunkline rates import FILE` as a subprocess, end to end (start-up, migration
check, validation, write); (a2) the same file again, which merges: every row an update;
(b) `POST /api/call_rates/import` (multipart) against the real server. SQLite in a
temporary directory; with `--postgres URL` the same on PostgreSQL, in throwaway
organizations that are deleted afterwards. Target: under 10 s.
"""

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from api import HOST, server
from sqlalchemy import delete

from trunkline.app import prepare
from trunkline.db.engine import make_engine
from trunkline.db.tables import organizations
from trunkline.identity import repository as identity
from trunkline.kit import ids
from trunkline.kit.config import Settings

TARGET = 10.0
TRUNKLINE = Path(sys.executable).with_name("trunkline")


# A carrier's usual list: no periods, no dates (those columns are optional, see call_rates.deck_csv).
COLUMNS = ("prefix", "type", "free_seconds", "grace_period", "interval_1", "interval_n", "connect_fee", "postcall_surcharge", "price_1", "price_n", "description")


def write_deck(path: Path, count: int, seed: int = 11) -> None:
    """A valid deck of `count` unique prefixes in the import format (money with up to five places)."""
    rng = random.Random(seed)
    types = ("LOCAL", "NATIONAL", "INTERNATIONAL", "MOBILE")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(count):
            price = rng.randrange(50, 300_000)
            writer.writerow(
                (
                    f"{10 + i % 90}{i // 90:06d}",
                    types[i % 4],
                    rng.choice((0, 0, 0, 30)),
                    rng.choice((0, 0, 3, 5)),
                    rng.choice((1, 30, 60)),
                    rng.choice((1, 6, 60)),
                    f"{rng.choice((0, 0, 1500)) / 100_000:.5f}",
                    rng.choice(("0", "0", "0.01")),
                    f"{price / 100_000:.5f}",
                    f"{price / 100_000:.4f}",
                    f"Range {i}" if i % 3 else "",
                )
            )


def fresh_orgs(settings: Settings) -> tuple[int, int, str]:
    """Two empty organizations (one per route, so both import into an empty deck) and a token for the second."""
    prepare(settings)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            identity.bootstrap(conn)
            cli_org = identity.create_organization(conn, "bench import (CLI)")
            api_org = identity.create_organization(conn, "bench import (API)", rate_limit_other=10**6)
            _, token = identity.create_token(conn, api_org, "bench", ["*"])
    finally:
        engine.dispose()
    return cli_org, api_org, token


def drop_orgs(settings: Settings, *org_ids: int) -> None:
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            conn.execute(delete(organizations).where(organizations.c.id.in_(org_ids)))
    finally:
        engine.dispose()


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time of a process (or of this one's finished children): a steadier figure than wall time on a busy machine."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cli_import(deck: Path, org_id: int, env: dict[str, str]) -> tuple[float, float, str]:
    cpu = cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(
        [str(TRUNKLINE), "rates", "import", str(deck), "--org", ids.encode(org_id)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"trunkline rates import failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, cpu_seconds() - cpu, done.stderr.strip().splitlines()[-1]


def api_import(deck: Path, port: int, pid: int, token: str) -> tuple[float, float, str]:
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=600) as client, deck.open("rb") as handle:
        cpu = cpu_seconds(pid)
        started = time.perf_counter()
        response = client.post(
            "/api/call_rates/import",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": (deck.name, handle, "text/csv")},
            data={"mode": "merge"},
        )
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu
    if response.status_code != 200:
        raise RuntimeError(f"POST /api/call_rates/import answered {response.status_code}: {response.text[:500]}")
    body = response.json()
    return elapsed, cpu, f"{body['inserted']:,} new, {body['updated']:,} updated"


def run(backend: str, settings: Settings, env: dict[str, str], deck: Path, cwd: Path) -> list[tuple[str, float, float, str]]:
    cli_org, api_org, token = fresh_orgs(settings)
    try:
        results = [(f"{backend}: (a) CLI rates import", *cli_import(deck, cli_org, env))]
        results.append((f"{backend}: (a2) CLI again (all updates)", *cli_import(deck, cli_org, env)))
        with server("trunkline.app:create_app", env, cwd) as target:
            results.append((f"{backend}: (b) POST /api/call_rates/import", *api_import(deck, target.port, target.pid, token)))
    finally:
        drop_orgs(settings, cli_org, api_org)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="trunkline-import-") as tmp:
        data_dir = Path(tmp)
        deck = data_dir / "deck.csv"
        write_deck(deck, args.rows)
        print(f"deck: {args.rows:,} rows, {deck.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
        env = {"TRUNKLINE_DATA_DIR": str(data_dir)}
        results = run("SQLite", Settings(data_dir=data_dir), env, deck, data_dir)
        if args.postgres:
            pg_env = {**env, "TRUNKLINE_DATABASE_URL": args.postgres}
            results += run("PostgreSQL", Settings(data_dir=data_dir, database_url=args.postgres), pg_env, deck, data_dir)

    print(f"\n{'case':<44} {'seconds':>8} {'cpu s':>6} {'rows/s':>9}  result")
    for name, seconds, cpu, outcome in results:
        print(f"{name:<44} {seconds:>8.2f} {cpu:>6.2f} {args.rows / seconds:>9,.0f}  {outcome}")
    print("(cpu s: CPU time of the CLI process, or of the server during the request)")
    slowest = max(seconds for _, seconds, _, _ in results)
    verdict = "meets" if slowest < TARGET else "MISSES"
    print(f"\nslowest {slowest:.2f} s: {verdict} the target of {TARGET:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
