"""The test harness: the real app served by uvicorn over real HTTP, on SQLite and PostgreSQL,
and the helpers that start servers and organizations (conftest.py holds only the fixtures).

PostgreSQL and Redis are used when they answer; under CI=true they are mandatory and a
missing one fails the run instead of skipping.
"""

import atexit
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text, update

from trunkline.app import create_app, prepare
from trunkline.db.engine import make_engine
from trunkline.db.tables import organizations
from trunkline.identity import repository as identity
from trunkline.kit.config import Settings

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get("TRUNKLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TRUNKLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def reachable(url: str) -> bool:
    host_port = url.split("://", 1)[-1].split("/")[0].split("@")[-1]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str) -> None:
    """Skip without the service, except under CI where its suite is mandatory."""
    if reachable(url):
        return
    if CI:
        pytest.fail(f"{name} at {url} is required under CI=true but does not answer")
    pytest.skip(f"{name} not reachable at {url}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_admin(*statements: str) -> None:
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def fresh_postgres_database(worker: str) -> str:
    """A new, empty database for this test worker; returns its URL.

    The pid keeps concurrent test sessions (two developers, two CI jobs) from dropping each other's
    database; it is dropped when the session ends.
    """
    base, _, _ = POSTGRES_URL.rpartition("/")
    name = f"trunkline_test_{worker}_{os.getpid()}"
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    _postgres_admin(drop, f'CREATE DATABASE "{name}"')
    atexit.register(_postgres_admin, drop)
    return f"{base}/{name}"


@dataclass
class Server:
    """A running Trunkline server and the operator's admin token."""

    backend: str
    url: str
    settings: Settings
    operator_token: str

    def client(self, token: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


def start_server(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    prepare(settings)  # as `trunkline serve` does before it serves
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on", proxy_headers=False, server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def bootstrap_operator(settings: Settings) -> str:
    """The operator's org with limits high enough that test set-up never trips them."""
    prepare(settings)
    engine = make_engine(settings.sqlalchemy_url)
    with engine.begin() as conn:
        secret = identity.bootstrap(conn)
        if secret is None:
            _, secret = identity.create_token(conn, identity.operator_org(conn), "tests", ["*"])
        conn.execute(update(organizations).where(organizations.c.is_operator).values(rate_limit_get=10**6, rate_limit_other=10**6))
    engine.dispose()
    return secret


def settings_for(backend: str, tmp_path_factory, worker: str, **overrides) -> Settings:
    data_dir = tmp_path_factory.mktemp(f"data-{backend}")
    database_url = fresh_postgres_database(worker) if backend == "postgresql" else None
    options = {"argon2_fast": True, "token_cache_seconds": 0.5, "login_attempts_per_minute": 10**6, **overrides}
    return Settings(data_dir=data_dir, database_url=database_url, **options)


@dataclass
class Org:
    """A fresh customer organization: its id, `*` token and an authenticated client."""

    id: str
    token: str
    client: httpx.Client
    server: Server
    admin_email: str
    admin_password: str


def new_org(server: Server, **fields) -> Org:
    email = f"admin-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery"
    with server.client(server.operator_token) as operator:
        response = operator.post(
            "/api/organizations",
            json={"name": "Test carrier", "admin_email": email, "admin_password": password, **fields},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    return Org(body["id"], body["admin_token"], server.client(body["admin_token"]), server, email, password)
