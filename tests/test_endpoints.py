"""`/api/endpoints` over HTTP: endpoint credentials are shown once, stored hashed, rotate at once,
and open only the endpoint APIs, while core credentials never open those."""

import hashlib

import httpx
import pytest
from sqlalchemy import select

from tests.harness import new_org
from tests.helpers import assert_error
from trunkline.db.engine import make_engine
from trunkline.db.tables import endpoints
from trunkline.kit import ids

CSV = '"","1001","4930901820","from-internal","1001","PJSIP/1001-1","PJSIP/c-2","Dial","x","2024-03-05 15:02:11","2024-03-05 15:02:15","2024-03-05 15:03:20",69,65,"ANSWERED","DOCUMENTATION","ep-test.1",""\n'


@pytest.fixture
def db(server):
    engine = make_engine(server.settings.sqlalchemy_url)
    yield engine
    engine.dispose()


def create(org, name="fs01", type="cdr_push") -> dict:
    response = org.client.post("/api/endpoints", json={"name": name, "type": type})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def push(org, auth, **kwargs) -> httpx.Response:
    return httpx.post(f"{org.server.url}/api/endpoint/cdr", content=CSV, headers={"content-type": "text/csv"}, auth=auth, **kwargs)


def test_create_list_get_rotate_delete(org, db):
    created = create(org)
    login, password, endpoint_id = created["login"], created["password"], created["id"]
    assert created["success"] is True and login.startswith("ep_") and len(password) >= 32
    with db.connect() as conn:
        row = conn.execute(select(endpoints).where(endpoints.c.id == ids.decode(endpoint_id))).one()
    assert row.password_hash == hashlib.sha256(password.encode()).hexdigest()

    got = org.client.get(f"/api/endpoints/{endpoint_id}")
    assert got.status_code == 200
    assert {k: got.json()[k] for k in ("id", "name", "type", "login")} == {"id": endpoint_id, "name": "fs01", "type": "cdr_push", "login": login}
    listed = org.client.get("/api/endpoints")
    assert [item["id"] for item in listed.json()["items"]] == [endpoint_id]
    assert org.client.get("/api/endpoints", params={"filter": f"login eq '{login}'"}).json()["count"] == 1
    for text in (got.text, listed.text):
        assert password not in text and "password" not in text

    assert push(org, (login, password)).status_code == 200
    rotated = org.client.post(f"/api/endpoints/{endpoint_id}/rotate")
    assert rotated.status_code == 200, rotated.text
    new_password = rotated.json()["password"]
    assert rotated.json()["login"] == login and new_password != password
    assert_error(push(org, (login, password)), 401)  # the old password stops at once
    assert push(org, (login, new_password)).status_code == 200
    assert org.client.get(f"/api/endpoints/{endpoint_id}").json()["rotated_at"] > got.json()["rotated_at"]

    assert org.client.delete(f"/api/endpoints/{endpoint_id}").status_code == 200
    assert_error(org.client.get(f"/api/endpoints/{endpoint_id}"), 404)
    assert_error(org.client.post(f"/api/endpoints/{endpoint_id}/rotate"), 404)
    assert_error(push(org, (login, new_password)), 401)


def test_bad_bodies_and_other_organizations(org, other_org):
    assert_error(org.client.post("/api/endpoints", json={"name": "x", "type": "conference"}), 422)
    assert_error(org.client.post("/api/endpoints", json={"type": "cdr_push"}), 400)
    assert_error(org.client.post("/api/endpoints", json={"name": "x", "type": "cdr_push", "password": "mine"}), 422)
    endpoint_id = create(org)["id"]
    assert_error(other_org.client.get(f"/api/endpoints/{endpoint_id}"), 404)
    assert_error(other_org.client.post(f"/api/endpoints/{endpoint_id}/rotate"), 404)
    assert_error(other_org.client.delete(f"/api/endpoints/{endpoint_id}"), 404)
    assert other_org.client.get("/api/endpoints").json()["count"] == 0


def test_scopes(org):
    reader = org.client.post("/api/tokens", json={"name": "r", "scopes": ["endpoints.read"]}).json()["token"]
    with org.server.client(reader) as client:
        assert client.get("/api/endpoints").status_code == 200
        assert_error(client.post("/api/endpoints", json={"name": "x", "type": "cdr_push"}), 403)


def test_core_credentials_on_the_endpoint_api_are_401(org):
    for response in (
        push(org, None, params={"access_token": org.token}),
        httpx.post(f"{org.server.url}/api/endpoint/cdr", content=CSV, headers={"content-type": "text/csv", "authorization": f"Bearer {org.token}"}),
        push(org, (org.admin_email, org.admin_password)),
        push(org, None),
    ):
        body = assert_error(response, 401)
        assert "endpoint's login and password as HTTP Basic credentials" in body["message"]
        assert response.headers["www-authenticate"] == 'Basic realm="trunkline-endpoint"'
    assert org.client.get("/api/calls").json()["count"] == 0


def test_endpoint_credentials_on_the_core_api_are_401(org):
    created = create(org)
    auth = (created["login"], created["password"])
    for response in (httpx.get(f"{org.server.url}/api/calls", auth=auth), httpx.get(f"{org.server.url}/api/endpoints", auth=auth)):
        body = assert_error(response, 401)
        assert "only on the endpoint APIs (/api/endpoint/...)" in body["message"]


def test_wrong_password_and_unknown_login_are_401(org):
    created = create(org)
    for auth in ((created["login"], created["password"] + "x"), ("ep_nobody", created["password"]), (created["login"], "")):
        assert_error(push(org, auth), 401)
    assert org.client.get("/api/calls").json()["count"] == 0


def test_pushes_are_logged_under_the_organization_and_limited_per_endpoint(server):
    """A switch posts once per call leg: its pushes have a limit class of their own (12,000 a minute
    by default, or the endpoint's push_limit), not the organization's 100 non-GET requests."""
    org = new_org(server, rate_limit_other=3)
    try:
        created, other = create(org), create(org, name="fs02")
        limited = org.client.post("/api/endpoints", json={"name": "fs03", "type": "cdr_push", "push_limit": 2}).json()
        auth, other_auth, limited_auth = ((e["login"], e["password"]) for e in (created, other, limited))
        first = push(org, auth)
        assert first.status_code == 200, first.text
        assert first.headers["x-ratelimit-limit"] == "12000"
        record = org.client.get(f"/api/requests/{first.headers['x-request-id']}").json()
        assert (record["organization_id"], record["path"], record["status"], record["token_id"]) == (org.id, "/api/endpoint/cdr", 200, None)
        assert [push(org, auth).status_code for _ in range(5)] == [200] * 5  # beyond the organization's 3
        assert_error(org.client.post("/api/endpoints", json={"name": "x", "type": "cdr_push"}), 429)  # the API clients' limit holds
        assert [push(org, limited_auth).status_code for _ in range(3)] == [200, 200, 429]
        assert push(org, other_auth).status_code == 200  # each endpoint counts alone
    finally:
        org.client.close()


def test_settings_are_validated_and_updated(org):
    created = org.client.post("/api/endpoints", json={"name": "ast", "type": "cdr_push", "timezone": "Europe/Berlin", "billed_leg": "both", "push_limit": 600})
    assert created.status_code == 200, created.text
    shown = org.client.get(f"/api/endpoints/{created.json()['id']}").json()
    assert (shown["timezone"], shown["billed_leg"], shown["push_limit"]) == ("Europe/Berlin", "both", 600)
    for bad in ({"timezone": "Mars/Olympus"}, {"timezone": "../../etc/passwd"}, {"billed_leg": "c"}, {"push_limit": 0}):
        error = assert_error(org.client.post("/api/endpoints", json={"name": "x", "type": "cdr_push", **bad}), 422)
        assert error["invalidInputVars"][0]["name"] == next(iter(bad))
    assert org.client.patch(f"/api/endpoints/{created.json()['id']}", json={"timezone": "UTC", "push_limit": None}).status_code == 200
    shown = org.client.get(f"/api/endpoints/{created.json()['id']}").json()
    assert (shown["timezone"], shown["billed_leg"], shown["push_limit"]) == ("UTC", "both", None)
    assert_error(org.client.patch(f"/api/endpoints/{created.json()['id']}", json={"login": "ep_mine"}), 422)
    assert_error(org.client.patch("/api/endpoints/bm9uZQ", json={"timezone": "UTC"}), 404)
    assert org.client.get("/api/endpoints", params={"filter": "billed_leg eq 'both'"}).json()["count"] == 1
