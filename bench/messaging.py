"""Messaging throughput on the real server and the real SMSC simulator, next to their floors.

    .venv/bin/python bench/messaging.py [--messages 10000]

Starts `trunkline smsc-simulator` (receipts at once) and the server (uvicorn, 1 worker, SQLite in
a temporary directory), then measures, each with its floor from the same run:

- accepting: batches of 1,000 messages POSTed to /api/messages/batch by 4 clients, the
  dispatcher off (messages/s; floor: the same bodies POSTed to a bare Starlette route);
- sending: the dispatcher started on the accepted queue, one SMSC connection with window 50,
  until every message is `submitted` (messages/s; floor: `smsc.session` alone submitting as
  many parts to the simulator, no database);
- receipts: the simulator holds every receipt back until all messages are submitted, then
  sends them at once; until every message is `delivered` (receipts/s);
- mixed: as many messages again, each receipt sent as soon as its submit is answered, until
  all are `delivered` (messages/s end to end: submits and receipts share the writer).

Targets (issue 13): ≥ 2,000 messages/s accepted, ≥ 1,000/s submitted, ≥ 2,000 receipts/s.
Webhook deliveries are measured by bench/webhooks.py.
"""

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from api import server
from ingest import run as post_all

from trunkline.app import prepare
from trunkline.identity import repository as identity
from trunkline.db.engine import make_engine
from trunkline.db.tables import organizations
from trunkline.kit.config import Settings
from trunkline.smsc.session import Outcome, Session, SessionSettings, SubmitRequest
from sqlalchemy import update

BENCH = Path(__file__).resolve().parent
READY = re.compile(r"SMPP on [\d.]+:(\d+) .*control API on (http://[\d.:]+)")
SYSTEM_ID, PASSWORD = "bench", "bench1"
TARGETS = {"accepted": 2_000, "submitted": 1_000, "receipts": 2_000}


@contextmanager
def simulator():
    """The SMSC simulator as a process: (SMPP port, control URL)."""
    command = [str(Path(sys.executable).parent / "trunkline"), "smsc-simulator", "--port", "0", "--control-port", "0",
               "--system-id", SYSTEM_ID, "--password", PASSWORD, "--receipt-delay", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ready = READY.search(process.stdout.readline())
        if ready is None:
            raise RuntimeError("the SMSC simulator did not start")
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        yield int(ready[1]), ready[2]
    finally:
        process.terminate()
        process.wait(10)


def setup(settings: Settings) -> str:
    """The operator's token, with limits no bench reaches."""
    prepare(settings)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            token = identity.bootstrap(conn)
            conn.execute(update(organizations).values(rate_limit_get=10**9, rate_limit_other=10**9))
    finally:
        engine.dispose()
    return token


def configure(url: str, token: str, smpp_port: int) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for request in (
            client.patch("/api/products/A2P", json={"enabled": True}),
            connection := client.post("/api/smsc_connections", json={
                "name": "Simulator", "host": "127.0.0.1", "port": smpp_port, "system_id": SYSTEM_ID, "password": PASSWORD,
                "window_size": 50, "messages_per_second": 10_000,
            }),
        ):
            request.raise_for_status()
        client.post("/api/sms_routes", json={"connection_id": connection.json()["id"], "prefix": ""}).raise_for_status()


def bodies(count: int, size: int = 1000) -> list[bytes]:
    return [
        json.dumps({"messages": [{"product": "A2P", "from": "Trunkline", "to": [f"+4477{start + n:08d}" for n in range(size)], "text": "Your parcel arrives today between 10:00 and 12:00."}]}).encode()
        for start in range(0, count, size)
    ]


def counted(url: str, token: str, condition: str) -> int:
    answer = httpx.get(f"{url}/api/messages", params={"filter": condition, "top": 1}, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    answer.raise_for_status()
    return answer.json()["count"]


def until(url: str, token: str, condition: str, wanted: int, limit: float = 300) -> float:
    """Seconds until `wanted` messages match `condition`."""
    started = time.perf_counter()
    while counted(url, token, condition) < wanted:
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"{condition}: {counted(url, token, condition)} of {wanted} after {limit} s")
        time.sleep(0.1)
    return time.perf_counter() - started


async def session_floor(port: int, parts: int) -> float:
    """Seconds for `smsc.session` alone to have `parts` submits accepted, 50 at a time."""
    session = Session(SessionSettings("127.0.0.1", port, SYSTEM_ID, PASSWORD, window_size=50, messages_per_second=100_000))
    session.start()
    await session.wait_bound()
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(session.submit(SubmitRequest("Trunkline", f"4478{n:08d}", b"Your parcel arrives today between 10:00 and 12:00.")) for n in range(parts)))
    seconds = time.perf_counter() - started
    await session.stop()
    assert all(outcome.outcome is Outcome.accepted for outcome in outcomes)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    total = args.messages
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="trunkline-bench-") as tmp, simulator() as (smpp_port, control):
        settings = Settings(data_dir=Path(tmp))
        token = setup(settings)
        env = {"TRUNKLINE_DATA_DIR": tmp}
        batches = bodies(total)
        auth = {"Authorization": f"Bearer {token}"}
        with server("ingest:bare_app", env, Path(tmp), app_dir=BENCH) as target:
            floor_accept, _ = post_all(target.port, "/sink", batches, {}, 4)
        with server("trunkline.app:create_app", {**env, "TRUNKLINE_DISPATCH": "false"}, Path(tmp)) as target:
            url = f"http://127.0.0.1:{target.port}"
            configure(url, token, smpp_port)
            accept_seconds, _ = post_all(target.port, "/api/messages/batch", batches, auth, 4, status=202)
        httpx.post(f"{control}/behaviour", json={"hold_receipts": True}).raise_for_status()
        with server("trunkline.app:create_app", env, Path(tmp)) as target:
            url = f"http://127.0.0.1:{target.port}"
            submit_seconds = until(url, token, "status eq 'submitted'", total)
            httpx.post(f"{control}/behaviour", json={"hold_receipts": False}).raise_for_status()
            delivered_seconds = until(url, token, "status eq 'delivered'", total)
        with server("trunkline.app:create_app", {**env, "TRUNKLINE_DISPATCH": "false"}, Path(tmp)) as target:
            post_all(target.port, "/api/messages/batch", batches, auth, 4, status=202)
        with server("trunkline.app:create_app", env, Path(tmp)) as target:  # again, each receipt as soon as its submit
            mixed_seconds = until(f"http://127.0.0.1:{target.port}", token, "status eq 'delivered'", 2 * total)
        floor_submit = asyncio.run(session_floor(smpp_port, total))
    figures = {"accepted": total / accept_seconds, "submitted": total / submit_seconds, "receipts": total / delivered_seconds, "mixed": total / mixed_seconds}
    floors = {"accepted": total / floor_accept, "submitted": total / floor_submit}
    print(f"\nSQLite, one worker, {total:,} messages, one SMSC connection (window 50) to trunkline smsc-simulator")
    print(f"{'case':<44}{'per s':>10}{'floor per s':>14}{'ratio':>8}")
    for name, label in (("accepted", "accepted (POST /api/messages/batch)"), ("submitted", "submitted through SMPP"), ("receipts", "receipts applied (all sent at once)"),
                        ("mixed", "delivered, receipts beside the submits")):
        floor = floors.get(name)
        print(f"{label:<44}{figures[name]:>10,.0f}{(f'{floor:,.0f}' if floor else '-'):>14}{(f'{figures[name] / floor:.2f}' if floor else '-'):>8}")
    failed = False
    for name, target in TARGETS.items():
        holds = figures[name] >= target
        failed |= not holds
        print(f"{name}: {figures[name]:,.0f}/s {'HOLDS' if holds else 'MISSES'} the target of {target:,}/s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
