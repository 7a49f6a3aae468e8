"""`/api/organizations` and isolation over HTTP: every organization's data is invisible to every
other; only the operator creates, limits and deletes customer organizations."""

import uuid

from sqlalchemy import func, select

from tests.harness import new_org
from tests.helpers import assert_error, rate
from trunkline.db.engine import make_engine
from trunkline.db.tables import call_rates, tokens, users
from trunkline.kit import ids


def test_other_organizations_ids_are_404_and_never_listed(org, other_org):
    rate_id = org.client.post("/api/call_rates", json=rate()).json()["id"]
    token_id = org.client.post("/api/tokens", json={"name": "mine", "scopes": ["*"]}).json()["id"]
    user = {"email": f"u-{uuid.uuid4().hex[:8]}@example.com", "password": "password123"}
    user_id = org.client.post("/api/users", json=user).json()["id"]
    guid = org.client.get("/api/call_rates").headers["x-request-id"]
    intruder = other_org.client
    owned = [f"/api/call_rates/{rate_id}", f"/api/tokens/{token_id}", f"/api/users/{user_id}"]
    owned.append(f"/api/organizations/{org.id}")
    for path in (*owned, f"/api/requests/{guid}"):
        assert_error(intruder.get(path), 404)
    assert_error(intruder.patch(f"/api/call_rates/{rate_id}", json={"price_1": 1}), 404)
    assert_error(intruder.patch(f"/api/organizations/{org.id}", json={"name": "Mine now"}), 404)
    for path in owned:
        assert_error(intruder.delete(path), 404 if "organizations" not in path else 403)
    for path in ("/api/call_rates", "/api/tokens", "/api/users", "/api/organizations"):
        listed = intruder.get(path).json()
        assert not {rate_id, token_id, user_id, org.id} & {row["id"] for row in listed["items"]}, path
    assert org.client.get(f"/api/call_rates/{rate_id}").json()["price_1"] == 0.012
    assert org.client.get(f"/api/tokens/{token_id}").json()["revoked_at"] is None
    assert org.client.get("/api/organizations").json()["count"] == 1


def test_customer_sees_and_renames_only_itself(org):
    listed = org.client.get("/api/organizations").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == org.id and listed["items"][0]["is_operator"] is False
    assert org.client.patch(f"/api/organizations/{org.id}", json={"name": "Renamed carrier"}).status_code == 200
    assert org.client.get(f"/api/organizations/{org.id}").json()["name"] == "Renamed carrier"


def test_customer_cannot_create_organizations_or_raise_its_limits(org):
    assert_error(org.client.post("/api/organizations", json={"name": "Mine"}), 403)
    raises = ({"rate_limit_get": 10**6}, {"rate_limit_other": 10**6}, {"name": "X", "rate_limit_other": 1}, {"rate_limit_get": None})
    for limits in raises:
        assert_error(org.client.patch(f"/api/organizations/{org.id}", json=limits), 403)
    assert_error(org.client.delete(f"/api/organizations/{org.id}"), 403)
    got = org.client.get(f"/api/organizations/{org.id}").json()
    assert got["rate_limit_get"] is None and got["rate_limit_other"] is None and got["name"] == "Test carrier"


def test_operator_creates_lists_and_limits_organizations(server, org, other_org):
    with server.client(server.operator_token) as operator:
        created = operator.post("/api/organizations", json={"name": "Bare carrier"})
        assert created.status_code == 200, created.text
        assert created.headers["cache-control"] == "no-store"
        new_id, secret = created.json()["id"], created.json()["admin_token"]
        wanted = {org.id, other_org.id, new_id}
        filter_ = " or ".join(f"id eq '{i}'" for i in wanted)
        listed = operator.get("/api/organizations", params={"filter": filter_}).json()
        assert {o["id"] for o in listed["items"]} == wanted
        assert operator.get("/api/organizations", params={"filter": "is_operator eq true"}).json()["count"] == 1

        assert org.client.get("/api/auth/me").json()["rate_limits"] == {"get": 1000, "other": 100}  # now cached
        limits = {"rate_limit_get": 7000, "rate_limit_other": 700}
        assert operator.patch(f"/api/organizations/{org.id}", json=limits).status_code == 200
        got = operator.get(f"/api/organizations/{org.id}").json()
        assert (got["rate_limit_get"], got["rate_limit_other"]) == (7000, 700)
        assert operator.patch(f"/api/organizations/{org.id}", json={"rate_limit_other": None}).status_code == 200
        assert operator.get(f"/api/organizations/{org.id}").json()["rate_limit_other"] is None
    assert org.client.get("/api/auth/me").json()["rate_limits"] == {"get": 7000, "other": 100}  # at once
    with server.client(secret) as client:
        me = client.get("/api/auth/me").json()
        assert me["organization_id"] == new_id and me["scopes"] == ["*"] and me["user_id"] is None
        assert client.get("/api/users").json()["count"] == 0


def test_operator_deletes_an_organization_and_its_data(server):
    doomed = new_org(server)
    doomed.client.post("/api/call_rates", json=rate())
    assert doomed.client.get("/api/auth/me").status_code == 200  # its token is now cached
    with server.client() as client:
        assert client.get("/api/auth/me", auth=(doomed.admin_email, doomed.admin_password)).status_code == 200
    with server.client(server.operator_token) as operator:
        assert operator.delete(f"/api/organizations/{doomed.id}").status_code == 200
        assert_error(operator.get(f"/api/organizations/{doomed.id}"), 404)
        assert_error(operator.delete(f"/api/organizations/{doomed.id}"), 404)
    assert_error(doomed.client.get("/api/auth/me"), 401)
    with server.client() as client:
        assert_error(client.get("/api/auth/me", auth=(doomed.admin_email, doomed.admin_password)), 401)
    doomed.client.close()
    engine = make_engine(server.settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            left = [
                conn.execute(select(func.count()).select_from(t).where(t.c.org_id == ids.decode(doomed.id))).scalar()
                for t in (call_rates, tokens, users)
            ]
    finally:
        engine.dispose()
    assert left == [0, 0, 0]


def test_operator_cannot_delete_itself(server):
    with server.client(server.operator_token) as operator:
        own = operator.get("/api/auth/me").json()["organization_id"]
        assert_error(operator.delete(f"/api/organizations/{own}"), 409)
        assert operator.get(f"/api/organizations/{own}").json()["is_operator"] is True


def test_customer_cannot_touch_the_operator(server, org):
    with server.client(server.operator_token) as operator:
        own = operator.get("/api/auth/me").json()["organization_id"]
    assert_error(org.client.get(f"/api/organizations/{own}"), 404)
    assert_error(org.client.patch(f"/api/organizations/{own}", json={"name": "Owned"}), 404)


def test_create_organization_validation(server, org):
    with server.client(server.operator_token) as operator:
        half_admin, zero_limit = {"name": "X", "admin_email": "a@example.com"}, {"name": "X", "rate_limit_get": 0}
        for body in (half_admin, zero_limit, {"name": ""}, {"name": "X", "is_operator": True}):
            assert_error(operator.post("/api/organizations", json=body), 422)
        assert_error(operator.post("/api/organizations", json={}), 400, "MISSING_REQUIRED_PARAMS")
        taken = {"name": "X", "admin_email": org.admin_email.upper(), "admin_password": "password123"}
        assert_error(operator.post("/api/organizations", json=taken), 409, "DUPLICATE_EMAIL")
