"""Snowflake worker ids are leased from the database, not derived from the pid: two servers
that both see pid 1 (as every container's server does) still mint distinct ids."""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.harness import POSTGRES_URL, Server, bootstrap_operator, free_port, new_org, require_service, settings_for
from trunkline.db.engine import make_engine
from trunkline.kit import ids
from trunkline.workers import repository as workers

TTL = timedelta(seconds=60)


def test_leases_are_distinct_reclaimed_when_ended_and_lost_when_taken(tmp_path_factory, worker_id):
    settings = settings_for("sqlite", tmp_path_factory, worker_id)
    bootstrap_operator(settings)
    engine = make_engine(settings.sqlalchemy_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(workers.table.delete())
        first = workers.lease(conn, "a" * 32, now, TTL)
        second = workers.lease(conn, "b" * 32, now, TTL)
        assert first != second
        assert workers.renew(conn, first, "a" * 32, now, TTL) is True
        later = now + TTL + timedelta(seconds=1)  # a's lease has ended: the next process may take it
        assert workers.lease(conn, "c" * 32, later, TTL) == first
        assert workers.renew(conn, first, "a" * 32, later, TTL) is False  # a must lease another
    engine.dispose()


def test_an_expired_lease_stops_the_generator():
    generator = ids.Snowflake(7, valid_until=time.monotonic() - 1)
    with pytest.raises(ids.LeaseExpired):
        generator.next()
    assert ids.Snowflake(7, valid_until=time.monotonic() + 60).next() >> 12 & 1023 == 7


LAUNCH = "import os; os.getpid = lambda: 1; import uvicorn; uvicorn.run('trunkline.app:create_app', factory=True, host='127.0.0.1', port={port}, log_level='warning', proxy_headers=False)"


@pytest.mark.postgres
def test_two_servers_that_both_see_pid_1_never_collide(tmp_path_factory, worker_id):
    require_service("PostgreSQL", POSTGRES_URL)
    settings = settings_for("postgresql", tmp_path_factory, f"{worker_id}_leases")
    token = bootstrap_operator(settings)
    env = {**os.environ, "TRUNKLINE_DATABASE_URL": settings.database_url, "TRUNKLINE_ARGON2_FAST": "true", "TRUNKLINE_TOKEN_CACHE_SECONDS": "0.5"}
    env.pop("TRUNKLINE_WORKER_ID", None)
    ports = [free_port(), free_port()]
    servers = [subprocess.Popen([sys.executable, "-c", LAUNCH.format(port=port)], env=env) for port in ports]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        deadline = time.monotonic() + 30
        for url in urls:
            while True:
                try:
                    httpx.get(f"{url}/api/openapi.json", timeout=1)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.1)
        org = new_org(Server("postgresql", urls[0], settings, token))

        def push(job: tuple[int, int]) -> list[int]:
            server, batch = job
            calls = [{"call_id": f"s{server}-b{batch}-{n}", "callee": "441", "start": "2024-05-01T10:00:00Z", "duration": 60} for n in range(2000)]
            response = httpx.post(f"{urls[server]}/api/calls", json=calls, headers={"Authorization": f"Bearer {org.token}"}, timeout=60)
            assert response.status_code == 200, response.text
            return [ids.decode(value) for value in response.json()["ids"]]

        with ThreadPoolExecutor(4) as pool:
            minted = list(pool.map(push, [(server, batch) for batch in range(4) for server in (0, 1)]))
        by_server = [set(), set()]
        for (server, _), made in zip([(server, batch) for batch in range(4) for server in (0, 1)], minted):
            by_server[server].update(made)
        assert len(by_server[0]) == len(by_server[1]) == 8000 and not by_server[0] & by_server[1]
        workers_seen = [{value >> 12 & 1023 for value in made} for made in by_server]
        assert len(workers_seen[0]) == len(workers_seen[1]) == 1 and workers_seen[0] != workers_seen[1]
        assert org.client.get("/api/calls").json()["count"] == 16000
        org.client.close()
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
