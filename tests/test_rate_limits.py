"""Rate limits: two buckets per organization, the headers, 429, and Redis sharing across processes."""

import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from tests import harness
from tests.harness import new_org
from tests.helpers import assert_error, rate
from trunkline.kit import ids
from trunkline.kit.config import Settings

HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit-policy", "ratelimit")
ROOT = Path(__file__).resolve().parent.parent


def limits_of(response) -> dict[str, str]:
    missing = [name for name in HEADERS if name not in response.headers]
    assert not missing, (response.status_code, missing)
    return {name: response.headers[name] for name in HEADERS}


def test_every_authenticated_response_has_the_headers(org):
    rate_id = org.client.post("/api/call_rates", json=rate()).json()["id"]
    responses = [
        org.client.get("/api/call_rates"),
        org.client.get(f"/api/call_rates/{rate_id}"),
        org.client.get("/api/call_rates/MTIz"),
        org.client.get("/api/call_rates?top=0"),
        org.client.patch(f"/api/call_rates/{rate_id}", json={"price_1": 1}),
        org.client.post("/api/call_rates", json=rate()),
        org.client.post("/api/call_rates", json=rate(prefix="x")),
        org.client.delete(f"/api/call_rates/{rate_id}"),
        org.client.get("/api/auth/me"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 404, 400, 200, 409, 422, 200, 200]
    for response in responses:
        headers = limits_of(response)
        bucket, limit = ("get", "1000") if response.request.method == "GET" else ("other", "100")
        assert headers["x-ratelimit-limit"] == limit
        assert headers["ratelimit-policy"] == f'"{bucket}";q={limit};w=60'
        remaining = int(headers["x-ratelimit-remaining"])
        reset = int(headers["x-ratelimit-reset"])
        assert 0 <= remaining < int(limit) and time.time() - 1 <= reset <= time.time() + 61
        policy, r, t = headers["ratelimit"].split(";")
        assert policy == f'"{bucket}"' and r == f"r={remaining}" and 0 <= int(t[2:]) <= 60


def test_remaining_decreases_per_bucket(org):
    gets = [int(org.client.get("/api/call_rates").headers["x-ratelimit-remaining"]) for _ in range(3)]
    assert gets[0] - 1 == gets[1] == gets[2] + 1
    posts = [int(org.client.post("/api/call_rates", json=rate(prefix=str(p))).headers["x-ratelimit-remaining"]) for p in (1, 2)]
    assert posts[0] - 1 == posts[1] and posts[0] >= 95  # a separate bucket from the GETs
    assert int(org.client.get("/api/call_rates").headers["x-ratelimit-remaining"]) == gets[2] - 1


def test_other_bucket_limit_is_429_while_gets_pass(server):
    org = new_org(server, rate_limit_other=3)
    for prefix in ("1", "2", "3"):
        assert org.client.post("/api/call_rates", json=rate(prefix=prefix)).status_code == 200
    response = org.client.post("/api/call_rates", json=rate(prefix="4"))
    body = assert_error(response, 429, "RATE_LIMITED")
    assert "3" in body["message"]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    headers = limits_of(response)
    assert headers["x-ratelimit-limit"] == "3" and headers["x-ratelimit-remaining"] == "0"
    assert headers["ratelimit"].startswith('"other";r=0;')
    assert_error(org.client.delete("/api/call_rates/MTIz"), 429)  # every non-GET verb shares the bucket
    listed = org.client.get("/api/call_rates")
    assert listed.status_code == 200 and listed.json()["count"] == 3  # the refused POST changed nothing
    assert limits_of(listed)["x-ratelimit-limit"] == "1000"
    org.client.close()


def test_get_bucket_limit_is_429(server):
    org = new_org(server, rate_limit_get=2)
    assert [org.client.get("/api/call_rates").status_code for _ in range(2)] == [200, 200]
    response = org.client.get("/api/call_rates")
    assert_error(response, 429, "RATE_LIMITED")
    assert int(response.headers["retry-after"]) >= 1
    assert_error(org.client.get("/api/auth/me"), 429)
    assert org.client.post("/api/call_rates", json=rate()).status_code == 200
    org.client.close()


def test_limits_are_per_organization_not_per_credential(server):
    limited = new_org(server, rate_limit_get=2)
    neighbour = new_org(server, rate_limit_get=2)
    assert limited.client.get("/api/call_rates").status_code == 200
    with server.client(auth=(limited.admin_email, limited.admin_password)) as console:
        assert console.get("/api/call_rates").status_code == 200  # Basic auth, same organization
        assert_error(console.get("/api/call_rates"), 429)
    assert_error(limited.client.get("/api/call_rates"), 429)
    for _ in range(2):
        assert neighbour.client.get("/api/call_rates").status_code == 200
    limited.client.close()
    neighbour.client.close()


# --- several processes ---------------------------------------------------------------------------


@contextmanager
def serving(env: dict[str, str], log_dir: Path, count: int = 2):
    """`count` uvicorn processes on the given environment; always terminated on exit."""
    with ExitStack() as stack:
        urls, procs = [], []
        for n in range(count):
            port = harness.free_port()
            log = stack.enter_context(open(log_dir / f"server-{port}.log", "wb"))
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "trunkline.app:create_app", "--factory",
                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                env={**env, "TRUNKLINE_WORKER_ID": str(100 + len(procs))}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )
            stack.callback(_stop, proc)
            procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs):
            _wait_until_up(url, proc, log_dir)
        yield urls


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _wait_until_up(url: str, proc: subprocess.Popen, log_dir: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            logs = "\n".join(p.read_text(errors="replace") for p in log_dir.glob("server-*.log"))
            raise RuntimeError(f"server exited with {proc.returncode}:\n{logs}")
        try:
            httpx.get(url + "/api/auth/me", timeout=1)  # a cheap 401 once the app is up
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUNKLINE_")}
    env["TRUNKLINE_ARGON2_FAST"] = "true"
    return env


def _shared_sqlite(tmp_path) -> tuple[dict[str, str], str]:
    """Environment pointing both processes at one fresh SQLite file, and the operator's token there."""
    settings = Settings(data_dir=tmp_path / "shared", argon2_fast=True)
    token = harness.bootstrap_operator(settings)  # migrates the file too
    return {**_clean_env(), "TRUNKLINE_DATA_DIR": str(settings.data_dir)}, token


def _shared_database(server, tmp_path) -> tuple[dict[str, str], str]:
    """The `server` fixture's PostgreSQL database, or a shared SQLite file for the SQLite backend."""
    if server.backend == "postgresql":
        return {**_clean_env(), "TRUNKLINE_DATABASE_URL": server.settings.database_url}, server.operator_token
    return _shared_sqlite(tmp_path)


def _org_on(url: str, operator_token: str, **limits) -> tuple[int, str]:
    response = httpx.post(
        url + "/api/organizations", json={"name": "Shared", **limits}, headers={"Authorization": f"Bearer {operator_token}"}
    )
    assert response.status_code == 200, response.text
    return ids.decode(response.json()["id"]), response.json()["admin_token"]


def _post(url: str, token: str, prefix: int) -> int:
    response = httpx.post(url + "/api/call_rates", json=rate(prefix=str(prefix)), headers={"Authorization": f"Bearer {token}"})
    return response.status_code


@pytest.mark.redis
def test_redis_shares_the_limit_across_processes(server, tmp_path):
    harness.require_service("Redis", harness.REDIS_URL)
    env, operator = _shared_database(server, tmp_path)
    store = redis.Redis.from_url(harness.REDIS_URL)
    with serving({**env, "TRUNKLINE_REDIS_URL": harness.REDIS_URL}, tmp_path) as (a, b):
        for last in (a, b):  # the 7th request is refused whichever process gets it
            org_id, token = _org_on(a, operator, rate_limit_other=6)
            for key in store.scan_iter(f"*org:{org_id}:*"):
                store.delete(key)
            statuses = [_post(a if n % 2 == 0 else b, token, n) for n in range(6)]
            assert statuses == [200] * 6
            assert _post(last, token, 6) == 429
            assert _post(b if last is a else a, token, 7) == 429
            assert any(store.scan_iter(f"*org:{org_id}:other*")), "the counter lives in Redis"
    store.close()


@pytest.mark.redis
def test_without_redis_each_process_counts_alone(tmp_path):
    """The control for the test above: the in-memory limiter is per process, so Redis is what shares it.

    Independent of the database backend, so it runs once.
    """
    harness.require_service("Redis", harness.REDIS_URL)  # the pair of tests is meaningful only together
    env, operator = _shared_sqlite(tmp_path)
    with serving(env, tmp_path) as (a, b):
        _, token = _org_on(a, operator, rate_limit_other=6)
        statuses = [_post(a if n % 2 == 0 else b, token, n) for n in range(12)]
        assert statuses == [200] * 12
        assert _post(a, token, 12) == 429 and _post(b, token, 13) == 429
