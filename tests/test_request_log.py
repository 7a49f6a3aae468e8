"""The request log: lookup by guid, isolation, redaction, retention."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from tests.helpers import assert_error, rate
from trunkline.cli import app as cli
from trunkline.db.engine import make_engine
from trunkline.db.tables import request_log
from trunkline.kit import ids
from trunkline.kit.requestlog import new_guid, redact_query
from trunkline.request_log.repository import RequestLogWriter


@pytest.fixture
def engine(server):
    """A second connection to the running server's database, for what the API does not expose."""
    engine = make_engine(server.settings.sqlalchemy_url)
    yield engine
    engine.dispose()


def lookup(org, guid: str) -> dict:
    response = org.client.get(f"/api/requests/{guid}")
    assert response.status_code == 200, response.text
    return response.json()


def stored_rows(engine, guid: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(request_log).where(request_log.c.guid == guid))]


def test_lookup_summarises_the_request(org):
    created = org.client.post("/api/call_rates", json=rate())
    record = lookup(org, created.headers["x-request-id"])
    assert record["guid"] == created.json()["guid"]
    assert (record["method"], record["path"], record["status"], record["error_code"]) == ("POST", "/api/call_rates", 200, None)
    assert record["organization_id"] == org.id and record["token_id"]
    assert isinstance(record["latency_ms"], int) and 0 <= record["latency_ms"] < 10_000
    assert record["client_ip"] == "127.0.0.1"
    assert datetime.fromisoformat(record["created_at"]) > datetime.now(UTC) - timedelta(minutes=5)

    failed = org.client.post("/api/call_rates?description=United+Kingdom", json=rate())
    record = lookup(org, assert_error(failed, 409)["guid"])
    assert (record["status"], record["error_code"], record["query"]) == (409, "DUPLICATE_PREFIX", "description=United+Kingdom")

    missing = org.client.get("/api/call_rates/MTIz")
    record = lookup(org, missing.headers["x-request-id"])
    assert (record["method"], record["path"], record["status"], record["error_code"]) == ("GET", "/api/call_rates/MTIz", 404, "NOT_FOUND")


def test_every_request_is_found_at_once(org):
    """The log is buffered; a lookup right after the response must still see it."""
    for _ in range(20):
        guid = org.client.get("/api/call_rates").headers["x-request-id"]
        assert lookup(org, guid)["status"] == 200


def test_other_organizations_get_404(org, other_org):
    guid = org.client.get("/api/call_rates").headers["x-request-id"]
    assert_error(other_org.client.get(f"/api/requests/{guid}"), 404, "NOT_FOUND")
    assert_error(org.client.get(f"/api/requests/{uuid.uuid4()}"), 404)
    assert_error(org.client.get("/api/requests/not-a-guid"), 404)
    anonymous = httpx.get(f"{org.server.url}/api/requests/{guid}")
    assert_error(anonymous, 401)
    assert lookup(org, guid)["organization_id"] == org.id


def test_secrets_are_redacted_and_authorization_never_stored(org, engine):
    with httpx.Client(base_url=org.server.url) as anonymous:
        response = anonymous.get(
            "/api/call_rates",
            params={"access_token": org.token, "password": "hunter2", "admin_password": "hunter3",
                    "client_secret": "s3cr3t", "api_key": "k3y", "search": "visible"},
        )
    assert response.status_code == 400, response.text  # parameters the route does not take; logged all the same
    guid = response.headers["x-request-id"]
    record = lookup(org, guid)
    query = dict(pair.split("=", 1) for pair in record["query"].split("&"))
    assert query == {"access_token": "%5Bredacted%5D", "password": "%5Bredacted%5D", "admin_password": "%5Bredacted%5D",
                     "client_secret": "%5Bredacted%5D", "api_key": "%5Bredacted%5D", "search": "visible"}
    with_header = org.client.get("/api/call_rates")
    (row,) = stored_rows(engine, guid)
    (header_row,) = stored_rows(engine, lookup(org, with_header.headers["x-request-id"])["guid"])
    for stored in (row, header_row):
        text = repr(stored)
        for secret in (org.token, org.token[3:], "hunter2", "hunter3", "s3cr3t", "k3y", "Bearer"):
            assert secret not in text, secret
        assert set(stored) == {"guid", "org_id", "token_id", "method", "path", "query", "status", "error_code",
                               "client_ip", "latency_ms", "created_at"}  # no headers, no bodies


def test_password_in_a_failed_login_is_not_logged(org, engine):
    response = httpx.post(
        f"{org.server.url}/api/oauth/token",
        params={"grant_type": "password", "username": org.admin_email, "password": "wrong-password-123"},
    )
    assert response.status_code >= 400
    assert_error(org.client.get(f"/api/requests/{uuid.uuid4()}"), 404)  # a lookup flushes the buffer
    rows = stored_rows(engine, response.headers["x-request-id"])
    assert rows and "wrong-password-123" not in repr(rows) and org.admin_email not in rows[0]["path"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("access_token=tl_abc&top=5", "access_token=%5Bredacted%5D&top=5"),
        ("refresh_token=x&Password=y&new_password=z", "refresh_token=%5Bredacted%5D&Password=%5Bredacted%5D&new_password=%5Bredacted%5D"),
        ("X-Api-Key=1&signature=2&filter=prefix+eq+%2744%27", "X-Api-Key=%5Bredacted%5D&signature=%5Bredacted%5D&filter=prefix+eq+%2744%27"),
        ("", ""),
    ],
)
def test_redact_query(query, expected):
    assert redact_query(query) == expected


def _insert_old(engine, org_id: int, age: timedelta) -> str:
    guid = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            insert(request_log).values(
                guid=guid, org_id=org_id, token_id=None, method="GET", path="/api/call_rates", query="",
                status=200, error_code=None, client_ip="127.0.0.1", latency_ms=1, created_at=datetime.now(UTC) - age,
            )
        )
    return guid


def test_request_ids_are_unique_time_ordered_uuid7s():
    before = time.time_ns() // 1_000_000
    made = [new_guid() for _ in range(100_000)]
    after = time.time_ns() // 1_000_000
    assert len(set(made)) == len(made)
    parsed = [uuid.UUID(guid) for guid in made]
    assert {(one.version, one.variant) for one in parsed} == {(7, uuid.RFC_4122)}
    assert all(str(one) == guid for one, guid in zip(parsed, made, strict=True))  # canonical lower-case text
    stamps = [one.int >> 80 for one in parsed]
    assert before <= stamps[0] and stamps[-1] <= after and stamps == sorted(stamps)  # milliseconds, in order
    assert len({one.int & (1 << 62) - 1 for one in parsed}) == len(parsed)  # the random tail differs


def test_purge_removes_only_expired_rows(server, org, engine):
    org_id = ids.decode(org.id)
    fresh = org.client.get("/api/call_rates").headers["x-request-id"]
    lookup(org, fresh)  # flushed to the database
    old = _insert_old(engine, org_id, timedelta(days=15))
    recent = _insert_old(engine, org_id, timedelta(days=13))
    assert lookup(org, old)["path"] == "/api/call_rates"
    assert server.settings.request_log_days == 14
    removed = RequestLogWriter(engine, server.settings.request_log_days).purge()
    assert removed >= 1
    assert_error(org.client.get(f"/api/requests/{old}"), 404)
    assert stored_rows(engine, old) == []
    assert lookup(org, recent)["guid"] == recent
    assert lookup(org, fresh)["guid"] == fresh


def test_retention_is_configurable(org, engine):
    org_id = ids.decode(org.id)
    four_days = _insert_old(engine, org_id, timedelta(days=4))
    RequestLogWriter(engine, retention_days=14).purge()
    assert stored_rows(engine, four_days)
    RequestLogWriter(engine, retention_days=3).purge()
    assert stored_rows(engine, four_days) == []


def test_purge_from_the_cli(server, org, engine):
    org_id = ids.decode(org.id)
    old = _insert_old(engine, org_id, timedelta(days=15))
    five_days = _insert_old(engine, org_id, timedelta(days=5))
    fresh = org.client.get("/api/call_rates").headers["x-request-id"]
    lookup(org, fresh)
    env = {"TRUNKLINE_DATA_DIR": str(server.settings.data_dir), "TRUNKLINE_DATABASE_URL": server.settings.database_url,
           "TRUNKLINE_REQUEST_LOG_DAYS": None, "TRUNKLINE_REDIS_URL": None}
    result = CliRunner().invoke(cli, ["requests", "purge"], env=env)
    assert result.exit_code == 0, result.output
    assert "entries removed" in result.output
    assert stored_rows(engine, old) == [] and stored_rows(engine, five_days) and stored_rows(engine, fresh)
    result = CliRunner().invoke(cli, ["requests", "purge"], env={**env, "TRUNKLINE_REQUEST_LOG_DAYS": "4"})
    assert result.exit_code == 0, result.output
    assert stored_rows(engine, five_days) == [] and stored_rows(engine, fresh)


def test_the_operator_finds_a_request_that_failed_authentication(server, org):
    refused = httpx.get(f"{server.url}/api/calls", headers={"Authorization": "Bearer tl_nonsense"})
    guid = refused.headers["x-request-id"]
    assert org.client.get(f"/api/requests/{guid}").status_code == 404  # a customer sees its own requests only
    with server.client(server.operator_token) as operator:
        record = operator.get(f"/api/requests/{guid}").json()
    assert (record["status"], record["organization_id"], record["path"]) == (401, None, "/api/calls")
    assert record["created_at"].endswith("Z")


def test_rated_at_and_status_filter_and_sort(org):
    org.client.post("/api/call_rates", json={"prefix": "44", "type": "INTERNATIONAL", "free_seconds": 0, "grace_period": 0, "interval_1": 60,
                                             "interval_n": 6, "connect_fee": 0, "postcall_surcharge": 0, "price_1": 0.01, "price_n": 0.01})
    for call_id, callee in (("c1", "441"), ("c2", "999")):
        org.client.post("/api/calls", json={"call_id": call_id, "callee": callee, "start": "2024-05-01T10:00:00Z", "duration": 60, "billsec": 60})
    unrated = org.client.get("/api/calls", params={"filter": "status eq 'unrated'", "orderby": "rated_at desc"}).json()["items"]
    assert [call["call_id"] for call in unrated] == ["c2"]
