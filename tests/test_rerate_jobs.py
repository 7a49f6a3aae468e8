"""Re-rating runs as a job in committed chunks: 202 at once, progress at a route, other
tenants' writes go on meanwhile, a job stopped half-way resumes exactly, and a writer that
cannot get the database answers 503 with Retry-After instead of 500."""

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from tests.harness import Server, bootstrap_operator, new_org, settings_for, start_server
from tests.helpers import assert_error, follow, ok, rate, rerate
from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls import rerater
from trunkline.db.engine import make_engine
from trunkline.kit import ids

DAY = {"start_date": "2024-05-01", "end_date": "2024-05-01"}


def calls(count: int, prefix: str = "c") -> list[dict]:
    return [{"call_id": f"{prefix}{n}", "account_id": "ACC", "callee": f"44{n % 1000:04d}", "start": "2024-05-01T10:00:00Z",
             "duration": 70 + n % 50, "billsec": 60 + n % 50} for n in range(count)]


@pytest.fixture
def priced(org, monkeypatch):
    """An organization with 4,000 calls to 44 charged to account ACC, then a price change; chunks of 500."""
    monkeypatch.setattr(rerater, "CHUNK", 500)
    rate_id = ok(org.client.post("/api/call_rates", json=rate(prefix="44")))["id"]
    ok(org.client.post("/api/accounts", json={"account_id": "ACC", "name": "Acme", "type": "postpaid"}))
    for start in range(0, 4000, 1000):
        assert ok(org.client.post("/api/calls", json=calls(4000)[start : start + 1000]))["stored"] == 1000
    ok(org.client.patch(f"/api/call_rates/{rate_id}", json={"price_1": "0.024", "price_n": "0.024"}))
    return org


def report_cost(org) -> float:
    [row] = ok(org.client.get("/api/reports/call-data", params={**DAY}))["data"]
    return row["cost"]


def test_a_job_runs_in_chunks_while_other_tenants_write(priced, other_org):
    ok(other_org.client.post("/api/call_rates", json=rate(prefix="44")))
    before = report_cost(priced)
    started = priced.client.post("/api/calls/rerate", json=DAY)
    assert started.status_code == 202
    job = started.json()
    assert (job["success"], job["status"], job["total"], job["calls"]) == (True, "queued", 4000, 0)
    assert_error(priced.client.post("/api/calls/rerate", json=DAY), 409, "RERATE_RUNNING")

    def push(n: int) -> int:
        return other_org.client.post("/api/calls", json=calls(50, prefix=f"o{n}-")).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(push, range(20)))
    assert statuses == [200] * 20  # never "database is locked"
    done = follow(priced.client, job["id"])
    assert (done["calls"], done["changed"], done["total"]) == (4000, 4000, 4000)
    assert done["cost_before"] == pytest.approx(before) and done["cost_after"] == pytest.approx(2 * before)
    assert report_cost(priced) == pytest.approx(done["cost_after"])
    charged = -sum(entry["amount"] for entry in ok(priced.client.get("/api/accounts/code:ACC/transactions", params={"top": 100}))["items"])
    assert charged == pytest.approx(done["cost_after"])  # the balance moved by the difference exactly once
    assert ok(priced.client.get("/api/calls/rerate", params={"filter": "status eq 'done'"}))["count"] == 1
    assert rerate(priced.client, DAY)["changed"] == 0


def test_a_job_stopped_half_way_resumes_exactly(priced):
    engine = make_engine(priced.server.settings.sqlalchemy_url)
    decks = DeckCache()
    job_id = rerater.start(engine, ids.decode(priced.id), date(2024, 5, 1), date(2024, 5, 1), None).id  # queued by a server that then stopped
    for _ in range(3):  # a server that ran three chunks, then stopped
        assert rerater.step(engine, decks, job_id) is True
    partial = ok(priced.client.get(f"/api/calls/rerate/{ids.encode(job_id)}"))
    assert (partial["status"], partial["calls"]) == ("running", 1500)
    runner = rerater.Rerater(engine, decks)  # the next start resumes it

    def resume() -> None:
        async def main() -> None:
            runner.started()
            await runner.resume()
            await asyncio.gather(*runner._tasks)

        asyncio.run(main())

    thread = threading.Thread(target=resume)
    thread.start()
    thread.join(60)
    done = ok(priced.client.get(f"/api/calls/rerate/{ids.encode(job_id)}"))
    assert (done["status"], done["calls"], done["changed"]) == ("done", 4000, 4000)
    assert report_cost(priced) == pytest.approx(done["cost_after"]) == pytest.approx(2 * done["cost_before"])
    assert rerate(priced.client, DAY)["changed"] == 0
    engine.dispose()


def test_a_busy_database_is_503_with_retry_after(tmp_path_factory, worker_id):
    settings = settings_for("sqlite", tmp_path_factory, worker_id, sqlite_busy_seconds=0.3)
    token = bootstrap_operator(settings)
    uv, thread, url = start_server(settings)
    try:
        org = new_org(Server("sqlite", url, settings, token))
        holder = sqlite3.connect(settings.data_dir / "trunkline.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer that keeps the database
        try:
            busy = org.client.post("/api/call_rates", json=rate(prefix="44"))
            error = assert_error(busy, 503, "BUSY")
            assert busy.headers["retry-after"] == "1" and "try again" in error["message"]
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert org.client.post("/api/call_rates", json=rate(prefix="44")).status_code == 200
        org.client.close()
    finally:
        uv.should_exit = True
        thread.join(10)
