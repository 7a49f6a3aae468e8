"""Webhook deliveries per second to a local receiver, against the receiver's own floor.

    .venv/bin/python bench/webhooks.py [--events 10000] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Publishes `--events` events to one webhook through `webhooks.outbox.publish` (in transactions
of 1,000), then lets the dispatcher deliver them: claims of 100 due deliveries, each batch
posted at once, signed (Standard Webhooks), every attempt recorded. The receiver is a bare
Starlette route under uvicorn (one worker) answering 204. The baseline in the same run is
the receiver's floor: as many plain httpx posts of the same bodies, 100 at a time (over 100
clients, as the dispatcher spreads them), with no database and no signing. Also printed: what `publish` costs when no webhook subscribes (the
hot paths' case) and when one does. Target: ≥ 500 deliveries/s.
"""

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx
from api import BENCH, HOST, server
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from trunkline.app import prepare
from trunkline.db.engine import make_engine
from trunkline.db.tables import webhook_deliveries, webhook_events
from trunkline.identity import repository as identity
from trunkline.kit.clock import utcnow
from trunkline.kit.config import Settings
from trunkline.kit.secretbox import server_box
from trunkline.webhooks import outbox, service
from trunkline.webhooks.dispatcher import BATCH, Dispatcher

TARGET = 500  # deliveries per second
CHUNK = 1000  # events published per transaction


def receiver_app() -> Starlette:
    """The receiver: reads the body and answers 204 (`uvicorn webhooks:receiver_app --factory`)."""

    async def hook(request):
        await request.body()
        return Response(status_code=204)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def publish(engine, org_id: int, event_type: str, count: int) -> float:
    """Publish `count` events; seconds taken."""
    started = time.perf_counter()
    for first in range(0, count, CHUNK):
        with engine.begin() as conn:
            for n in range(first, min(count, first + CHUNK)):
                outbox.publish(conn, org_id, event_type, {"id": f"msg-{n}", "status": "delivered", "to": "+447700900123"}, utcnow())
    return time.perf_counter() - started


async def deliver(dispatcher: Dispatcher) -> tuple[int, float]:
    """Run the dispatcher until nothing is due: (deliveries attempted, seconds)."""
    attempted, started = 0, time.perf_counter()
    async with dispatcher.lanes() as lanes:
        while count := await dispatcher.run_once(lanes):
            attempted += count
    return attempted, time.perf_counter() - started


async def floor(url: str, bodies: list[str]) -> float:
    """Plain posts of `bodies`, `BATCH` at a time over `BATCH` clients, as the dispatcher sends
    them; seconds taken."""
    headers = {"content-type": "application/json"}
    clients = [httpx.AsyncClient(timeout=10, trust_env=False) for _ in range(BATCH)]
    try:
        started = time.perf_counter()
        for first in range(0, len(bodies), BATCH):
            batch = bodies[first : first + BATCH]
            answers = await asyncio.gather(*(client.post(url, content=body, headers=headers) for client, body in zip(clients, batch)))
            if any(answer.status_code != 204 for answer in answers):
                raise RuntimeError("the receiver refused a plain post")
        return time.perf_counter() - started
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--postgres", help="PostgreSQL URL of an empty database (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="trunkline-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.postgres)
        prepare(settings)
        engine = make_engine(settings.sqlalchemy_url)
        box = server_box(None, settings.data_dir)
        with engine.begin() as conn:
            identity.bootstrap(conn)
            org_id = identity.operator_org(conn)
        with server("webhooks:receiver_app", {}, Path(tmp), app_dir=BENCH) as receiver:
            url = f"http://{HOST}:{receiver.port}/hook"
            quiet = args.events // 10
            nobody = publish(engine, org_id, "message.delivered", quiet)
            with engine.begin() as conn:
                service.create(conn, org_id, {"url": url, "event_types": ["message.*"], "description": None, "enabled": True}, box, True, utcnow())
            outbox.forget(org_id)
            dispatcher = Dispatcher(engine, box, allow_private=True)
            publish(engine, org_id, "message.delivered", BATCH * 5)
            asyncio.run(deliver(dispatcher))  # warm-up: connections, statements, the receiver
            published = publish(engine, org_id, "message.delivered", args.events)
            delivered, seconds = asyncio.run(deliver(dispatcher))
            with engine.connect() as conn:
                bodies = conn.execute(select(webhook_events.c.body).limit(args.events)).scalars().all()
                statuses = dict(conn.execute(select(webhook_deliveries.c.status, func.count()).group_by(webhook_deliveries.c.status)).all())
            plain = asyncio.run(floor(url, bodies))
        engine.dispose()

    backend = "PostgreSQL" if args.postgres else "SQLite"
    rate, baseline = delivered / seconds, len(bodies) / plain
    print(f"\n{args.events:,} events to one webhook, {backend}, batches of {BATCH}, receiver: uvicorn, 1 worker")
    print(f"publish, no webhook subscribed:   {1e6 * nobody / quiet:8.1f} µs per event")
    print(f"publish, one webhook subscribed:  {1e6 * published / args.events:8.1f} µs per event")
    print(f"deliveries (claim, sign, post, record): {rate:8,.0f} /s  ({delivered:,} in {seconds:.1f} s; {statuses})")
    print(f"receiver floor (plain httpx posts):     {baseline:8,.0f} /s  ({len(bodies):,} in {plain:.1f} s)")
    print(f"ratio to the floor {rate / baseline:.2f}; target ≥ {TARGET} deliveries/s: {'HOLDS' if rate >= TARGET else 'MISSES'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
