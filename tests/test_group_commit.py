"""Group commit: pushes that arrive together share one transaction, each answered with its own
outcome and only once it is committed; a server killed with -9 under that load has stored
every CDR it acknowledged, once."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from tests.harness import POSTGRES_URL, bootstrap_operator, free_port, require_service, settings_for
from tests.helpers import cdr, ok, rate
from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls.group_commit import GroupCommit
from trunkline.calls.ingest import Incoming
from trunkline.calls.schemas import CallIn
from trunkline.db.engine import make_engine
from trunkline.db.tables import accounts, call_totals_by_account, call_totals_by_prefix, calls
from trunkline.kit import ids


@pytest.fixture
def billed(org):
    """An organization with a UK rate and a prepaid account `acct-1` holding 100.00000."""
    assert org.client.post("/api/call_rates", json=rate(prefix="44")).status_code == 200
    account = ok(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "Prepaid", "type": "prepaid"}))["id"]
    ok(org.client.post(f"/api/accounts/{account}/credit", json={"amount": "100"}))
    return org, account


def test_concurrent_single_cdr_pushes_are_each_answered_with_their_own_outcome(billed):
    """48 one-CDR pushes at once, 8 of their call_ids sent twice: every call stored and charged
    once, and each answer counts only its own CDR."""
    org, account = billed
    bodies = [cdr(f"g-{n}") for n in range(40)] + [cdr(f"g-{n}") for n in range(0, 40, 5)]
    with ThreadPoolExecutor(16) as pool:
        answers = [ok(answer) for answer in pool.map(lambda body: org.client.post("/api/calls", json=body), bodies)]
    assert all(answer["received"] == 1 and answer["stored"] + answer["duplicates"] == 1 for answer in answers)
    stored = [answer for answer in answers if answer["stored"]]
    assert len(stored) == 40 and all(answer["cost"] == 0.0252 and len(answer["ids"]) == 1 for answer in stored)
    assert sorted(answer["duplicate_call_ids"][0] for answer in answers if answer["duplicates"]) == sorted(f"g-{n}" for n in range(0, 40, 5))
    assert ok(org.client.get(f"/api/accounts/{account}"))["balance"] == float(Decimal(100) - 40 * Decimal("0.0252"))
    day = ok(org.client.get("/api/reports/call-data", params={"start_date": "2024-05-01", "end_date": "2024-05-01"}))["data"]
    assert [(row["calls"], row["cost"]) for row in day] == [(40, float(40 * Decimal("0.0252")))]


def test_batches_waiting_together_share_one_transaction_and_a_failing_one_fails_alone(billed):
    """Batches that arrive while none is being written go in one transaction (their calls share
    its time); when one of a group fails its own writes, the others are written alone and only
    it fails."""
    org, _ = billed
    engine = make_engine(org.server.settings.sqlalchemy_url)
    org_id = ids.decode(org.id)

    def refuse(conn, outcome, now):
        raise RuntimeError("this batch's own writes fail")

    async def push(batches: list[Incoming]) -> list:
        commits = GroupCommit(engine, DeckCache())
        return await asyncio.gather(*(commits.store(org_id, 100, lambda batch=batch: batch) for batch in batches), return_exceptions=True)

    def created(prefix: str) -> dict:
        with engine.connect() as conn:
            return dict(conn.execute(select(calls.c.call_id, calls.c.created_at).where(calls.c.org_id == org_id, calls.c.call_id.like(f"{prefix}-%"))).all())

    try:
        together = asyncio.run(push([Incoming([CallIn(**cdr(f"t-{n}"))]) for n in range(20)]))
        assert all(len(outcome.stored_ids) == 1 and outcome.cost_units == 2520 for outcome in together)
        assert len(created("t")) == 20 and len(set(created("t").values())) == 1

        batches = [Incoming([CallIn(**cdr(f"f-{n}"))]) for n in range(5)]
        batches[2] = Incoming(batches[2].calls, also=refuse)
        outcomes = asyncio.run(push(batches))
        assert isinstance(outcomes[2], RuntimeError)
        assert [len(outcome.stored_ids) for index, outcome in enumerate(outcomes) if index != 2] == [1] * 4
        assert sorted(created("f")) == ["f-0", "f-1", "f-3", "f-4"]
    finally:
        engine.dispose()


SERVE = "import uvicorn; uvicorn.run('trunkline.app:create_app', factory=True, host='127.0.0.1', port={port}, log_level='warning')"


def _serve(settings, port: int) -> subprocess.Popen:
    env = {**os.environ, "TRUNKLINE_DATA_DIR": str(settings.data_dir), "TRUNKLINE_TOKEN_CACHE_SECONDS": "60"}
    if settings.database_url:
        env["TRUNKLINE_DATABASE_URL"] = settings.database_url
    process = subprocess.Popen([sys.executable, "-c", SERVE.format(port=port)], env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/auth/me", timeout=1)
            return process
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_server_killed_under_load_has_stored_every_acknowledged_cdr_once(backend, tmp_path_factory, worker_id):
    if backend == "postgresql":
        require_service("PostgreSQL", POSTGRES_URL)
    settings = settings_for(backend, tmp_path_factory, f"{worker_id}kill")
    token = bootstrap_operator(settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(settings, port)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url, headers=headers) as client:
            assert client.post("/api/call_rates", json=rate(prefix="44")).status_code == 200
            ok(client.post("/api/accounts", json={"account_id": "acct-1", "name": "Postpaid", "type": "postpaid", "credit_limit": "100000"}))
        acknowledged: list[str] = []
        sent: list[str] = []
        refused: list[str] = []
        stop = threading.Event()

        def pusher(lane: int) -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
                for n in range(100_000):
                    if stop.is_set():
                        return
                    call_id = f"k-{lane}-{n}"
                    sent.append(call_id)
                    try:
                        answer = client.post("/api/calls", json=cdr(call_id))
                    except httpx.TransportError:
                        return  # the server is gone
                    if answer.status_code != 200 or answer.json()["stored"] != 1:
                        refused.append(answer.text)
                        return
                    acknowledged.append(call_id)

        lanes = [threading.Thread(target=pusher, args=(lane,)) for lane in range(24)]
        for lane in lanes:
            lane.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 600 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(server.pid, signal.SIGKILL)  # mid-load: pushes are being read, planned and committed
        server.wait()
        stop.set()
        for lane in lanes:
            lane.join(15)
        assert not refused and len(acknowledged) >= 600

        engine = make_engine(settings.sqlalchemy_url)
        try:
            with engine.connect() as conn:
                stored = conn.execute(select(calls.c.call_id, func.count()).group_by(calls.c.call_id)).all()
                totals = {conn.execute(select(func.sum(table.c.calls), func.sum(table.c.cost))).one() for table in (call_totals_by_account, call_totals_by_prefix)}
                balance = conn.execute(select(accounts.c.balance)).scalar_one()
        finally:
            engine.dispose()
        counts = dict(stored)
        assert not set(acknowledged) - set(counts), "an acknowledged CDR was lost"
        assert set(counts) <= set(sent) and set(counts.values()) == {1}
        cost = 2520 * len(counts)  # 0.0252 in units of 10⁻⁵ per call
        assert totals == {(len(counts), cost)} and balance == -cost  # calls, totals and charges committed together

        server = _serve(settings, port)  # the switch sends again what it was not answered for, and more
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            again = [ok(client.post("/api/calls", json=[cdr(call_id) for call_id in sent[start : start + 500]])) for start in range(0, len(sent), 500)]
            assert sum(answer["stored"] for answer in again) == len(set(sent)) - len(counts)
            assert set(acknowledged) <= {call_id for answer in again for call_id in answer["duplicate_call_ids"]}
            assert ok(client.get("/api/calls", params={"top": 1}))["count"] == len(set(sent))
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
