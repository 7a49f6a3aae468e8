"""Fixtures: every API test runs once per backend against a real server (see tests/harness.py)."""

from collections.abc import Iterator

import pytest

from tests.harness import POSTGRES_URL, Org, Server, bootstrap_operator, new_org, require_service, settings_for, start_server


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request, tmp_path_factory, worker_id) -> Iterator[Server]:
    backend = request.param
    if backend == "postgresql":
        require_service("PostgreSQL", POSTGRES_URL)
    settings = settings_for(backend, tmp_path_factory, worker_id)
    token = bootstrap_operator(settings)
    uv, thread, url = start_server(settings)
    yield Server(backend, url, settings, token)
    uv.should_exit = True
    thread.join(10)


@pytest.fixture
def org(server: Server) -> Iterator[Org]:
    created = new_org(server)
    yield created
    created.client.close()


@pytest.fixture
def other_org(server: Server) -> Iterator[Org]:
    created = new_org(server)
    yield created
    created.client.close()
