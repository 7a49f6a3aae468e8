"""Issuing an invoice for an account with 1,000,000 calls in the month, on the real server (uvicorn, 1 worker).

    .venv/bin/python bench/invoices.py [--postgres postgresql://postgres@127.0.0.1:5432/test]

Stores 1,000,000 calls of one account, started over May 2024, through the store layer
(`calls.ingest.ingest` in batches of 50,000: rated against a 20,000-prefix deck whose rates
carry descriptions, charged to the account, 60 % answered, destinations drawn by Zipf popularity
as bench/reports.py does), then times `POST /api/invoices` for May 2024 over HTTP (a fresh
database per run, so the invoice is issued once) and checks its usage against the calls' cost.
The same invoice's PDF is timed for reference. Target: issuing under 5 s.
"""

import argparse
import http.client
import json
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path

import _deck
import ingest as ingest_bench
import numpy as np
from api import HOST, server
from reports import destinations, get
from sqlalchemy import func, select, text

from trunkline.accounts import repository as accounts
from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls import parsing
from trunkline.calls.ingest import ingest
from trunkline.db.engine import make_engine
from trunkline.db.tables import calls
from trunkline.kit.clock import utcnow

ACCOUNT = "big-1"
TARGET = 5.0


def bodies(prefixes: list[str], count: int, size: int, seed: int = 21):
    """JSON array bodies of `size` CDRs of ACCOUNT, starts spread over May 2024 in time order."""
    numbers, _ = _deck.make_cdrs(prefixes, count, seed)
    rng = np.random.default_rng(seed + 1)
    talk = np.where(rng.random(count) < ingest_bench.ANSWERED, rng.exponential(150, count).astype(np.int64) + 1, 0)
    start = np.datetime64(ingest_bench.MONTH.replace(tzinfo=None), "s") + np.sort(rng.integers(0, 31 * 86400, count))
    starts = np.datetime_as_string(start, unit="s").tolist()
    for first in range(0, count, size):
        records = [
            f'{{"call_id":"inv-{i}","account_id":"{ACCOUNT}","callee":"{numbers[i].decode()}","start":"{starts[i]}Z",'
            + (f'"answer":"{starts[i]}Z",' if talk[i] else "")
            + f'"duration":{talk[i]},"billsec":{talk[i]},"disposition":"{"ANSWERED" if talk[i] else "NO ANSWER"}"}}'
            for i in range(first, min(first + size, count))
        ]
        yield ("[" + ",".join(records) + "]").encode()


def store(settings, org_id: int, prefixes: list[str], count: int, batch: int) -> int:
    """The account (20 % tax) and its `count` calls; the cost of their rated calls, in units."""
    engine = make_engine(settings.sqlalchemy_url)
    decks = DeckCache()
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE call_rates SET description = 'Zone ' || substr(prefix, 1, 3) WHERE org_id = :org"), {"org": org_id})
            account = accounts.create(conn, org_id, {"account_id": ACCOUNT, "name": "Big customer", "currency": "USD", "type": "postpaid",
                                                     "credit_limit": 0, "timezone": "UTC", "tax_rate": "0.2"}, utcnow())
        for index, body in enumerate(bodies(prefixes, count, batch)):
            records, _ = parsing.parse(body, "application/json")
            with engine.begin() as conn:
                ingest(conn, org_id, records, decks, utcnow())
            print(f"\r  {(index + 1) * batch:,} calls stored", end="", file=sys.stderr)
        print(file=sys.stderr)
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("ANALYZE"))
            return int(conn.execute(select(func.sum(calls.c.cost)).where(calls.c.account_ref == account)).scalar())
    finally:
        engine.dispose()


def issue(port: int, token: str) -> tuple[float, dict]:
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        started = time.perf_counter()
        conn.request("POST", "/api/invoices", body=json.dumps({"account_id": ACCOUNT, "period": "2024-05"}),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"POST /api/invoices answered {response.status}: {body[:500]!r}")
    return seconds, json.loads(body, parse_float=Decimal)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL (a fresh database next to URL's)")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--prefixes", type=int, default=20_000)
    parser.add_argument("--save-pdf", metavar="PATH", help="write the invoice's PDF there, to look at")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup on kill too
    backend = "PostgreSQL" if args.postgres else "SQLite"

    prefixes = [str(prefix) for prefix in _deck.make_prefixes(args.prefixes)]
    with ingest_bench.database(args.postgres) as settings:
        started = time.perf_counter()
        token, org_id = ingest_bench.setup(settings, prefixes)
        cost = store(settings, org_id, destinations(prefixes, "zipf"), args.calls, args.batch)
        print(f"setup: {args.calls:,} calls in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        with server("trunkline.app:create_app", ingest_bench.server_env(settings), settings.data_dir) as target:
            seconds, invoice = issue(target.port, token)
            pdf_seconds, document = get(target.port, f"/api/invoices/{invoice['id']}.pdf", {"Authorization": f"Bearer {token}"})

    if args.save_pdf:
        Path(args.save_pdf).write_bytes(document)
    if invoice["usage"] != Decimal(cost).scaleb(-5):
        print(f"INVOICE WRONG: usage {invoice['usage']}, the calls cost {cost / 100_000}")
        return 1
    print(f"\n{backend}: invoice for {args.calls:,} calls of one account in a month ({invoice['calls']:,} billed, "
          f"{sum(line['kind'] == 'usage' for line in invoice['lines']):,} destination lines, total {invoice['total']} {invoice['currency']})")
    print(f"issue (POST /api/invoices): {seconds:.2f} s: {'HOLDS' if seconds < TARGET else 'MISSES'} the target of under {TARGET:g} s")
    print(f"PDF (GET /api/invoices/{{id}}.pdf, for reference): {pdf_seconds:.2f} s, {len(document):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
