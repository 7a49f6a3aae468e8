"""`/api/users` over HTTP: argon2 at rest, unique emails, password changes that bite at once,
and no way to hand a user (or oneself, through a user) more than the caller holds."""

import uuid

import pytest
from sqlalchemy import select

from tests.harness import new_org
from tests.helpers import assert_error, rate
from trunkline.db.engine import make_engine
from trunkline.db.tables import users
from trunkline.kit import ids

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def same_org(server):
    """One organization shared by the tests that leave nothing behind that others could see."""
    created = new_org(server)
    yield created
    created.client.close()


def email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def make_user(client, **fields) -> tuple[str, str]:
    address = fields.pop("email", None) or email()
    response = client.post("/api/users", json={"email": address, "password": PASSWORD, **fields})
    assert response.status_code == 200, response.text
    return response.json()["id"], address


def token_with(org, scopes):
    response = org.client.post("/api/tokens", json={"name": "limited", "scopes": scopes})
    assert response.status_code == 200, response.text
    return org.server.client(response.json()["token"])


def test_create_stores_argon2_and_never_returns_it(org):
    user_id, address = make_user(org.client, scopes=["call_rates.read"])
    got = org.client.get(f"/api/users/{user_id}")
    assert got.status_code == 200
    assert set(got.json()) == {"id", "email", "scopes", "created_at"}
    assert got.json()["email"] == address and got.json()["scopes"] == ["call_rates.read"]
    listed = org.client.get("/api/users")
    assert {u["email"] for u in listed.json()["items"]} == {address, org.admin_email}
    assert "argon2" not in listed.text + got.text and PASSWORD not in listed.text
    engine = make_engine(org.server.settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == ids.decode(user_id))).one()
    finally:
        engine.dispose()
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in str(tuple(row))


def test_default_scopes_are_the_callers_star(org):
    user_id, _ = make_user(org.client)
    assert org.client.get(f"/api/users/{user_id}").json()["scopes"] == ["*"]


def test_duplicate_email_is_409_across_organizations_and_case(org, other_org):
    _, address = make_user(org.client)
    for client, taken in (
        (org.client, address),
        (org.client, address.upper()),
        (other_org.client, address),
        (org.client, other_org.admin_email),
    ):
        response = client.post("/api/users", json={"email": taken, "password": PASSWORD})
        assert_error(response, 409, "DUPLICATE_EMAIL")


@pytest.mark.parametrize(
    ("field", "value"), [("email", "not-an-email"), ("password", "short"), ("scopes", ["users.fly"]), ("scopes", [])]
)
def test_bad_user_bodies_are_422(same_org, field, value):
    body = {"email": email(), "password": PASSWORD, field: value}
    problems = assert_error(same_org.client.post("/api/users", json=body), 422)["invalidInputVars"]
    assert [p["name"] for p in problems] == [field]


def test_password_change_takes_effect_at_once(org):
    user_id, address = make_user(org.client)
    with org.server.client() as client:
        assert client.get("/api/auth/me", auth=(address, PASSWORD)).status_code == 200  # now cached
        changed = org.client.patch(f"/api/users/{user_id}", json={"password": "the new password"})
        assert changed.status_code == 200, changed.text
        assert_error(client.get("/api/auth/me", auth=(address, PASSWORD)), 401)
        assert client.get("/api/auth/me", auth=(address, "the new password")).status_code == 200


def test_non_ascii_password_works_for_basic_auth(org):
    _, address = make_user(org.client, password="Pässwörter-für-ß™")
    with org.server.client() as client:
        response = client.get("/api/auth/me", auth=(address, "Pässwörter-für-ß™"))
    assert response.status_code == 200, response.text


def test_narrowing_a_users_scopes_takes_effect_at_once(org):
    user_id, address = make_user(org.client)
    with org.server.client() as client:
        assert client.post("/api/call_rates", json=rate(), auth=(address, PASSWORD)).status_code == 200
        assert org.client.patch(f"/api/users/{user_id}", json={"scopes": ["call_rates.read"]}).status_code == 200
        assert_error(client.post("/api/call_rates", json=rate(prefix="1"), auth=(address, PASSWORD)), 403)
        assert client.get("/api/call_rates", auth=(address, PASSWORD)).status_code == 200


def test_no_scope_escalation_through_users(org):
    with token_with(org, ["users.*", "call_rates.read"]) as limited:
        assert_error(limited.post("/api/users", json={"email": email(), "password": PASSWORD}), 403)  # default is *
        stronger = {"email": email(), "password": PASSWORD, "scopes": ["call_rates.create"]}
        assert_error(limited.post("/api/users", json=stronger), 403)
        user_id, _ = make_user(limited, scopes=["call_rates.read"])
        assert_error(limited.patch(f"/api/users/{user_id}", json={"scopes": ["*"]}), 403)
        # Nor by taking over a stronger user: setting the admin's password would yield its `*`.
        admin = next(u for u in org.client.get("/api/users").json()["items"] if u["email"] == org.admin_email)
        assert_error(limited.patch(f"/api/users/{admin['id']}", json={"password": "taken over now"}), 403)
        assert_error(limited.delete(f"/api/users/{admin['id']}"), 403)
    with org.server.client() as client:
        assert client.get("/api/auth/me", auth=(org.admin_email, org.admin_password)).status_code == 200


def test_update_needs_a_field_and_rejects_nulls(org):
    user_id, _ = make_user(org.client)
    assert_error(org.client.patch(f"/api/users/{user_id}", json={}), 400)
    assert_error(org.client.patch(f"/api/users/{user_id}", json={"password": None}), 422)
    assert_error(org.client.patch(f"/api/users/{user_id}", json={"email": email()}), 422)


def test_delete_user(org):
    user_id, address = make_user(org.client)
    with org.server.client() as client:
        assert client.get("/api/auth/me", auth=(address, PASSWORD)).status_code == 200  # now cached
        assert org.client.delete(f"/api/users/{user_id}").status_code == 200
        assert_error(client.get("/api/auth/me", auth=(address, PASSWORD)), 401)
    assert_error(org.client.get(f"/api/users/{user_id}"), 404)
    assert_error(org.client.delete(f"/api/users/{user_id}"), 404)
    make_user(org.client, email=address)  # the address is free again


def test_deleting_a_user_revokes_their_tokens(org):
    user_id, address = make_user(org.client, scopes=["call_rates.read"])
    with org.server.client() as anonymous:
        issued = anonymous.post(
            "/api/oauth/token",
            data={"grant_type": "password", "username": address, "password": PASSWORD, "client_id": "switch-ui"},
        )
    assert issued.status_code == 200, issued.text
    with org.server.client(issued.json()["access_token"]) as client:
        assert client.get("/api/call_rates").status_code == 200
        assert org.client.delete(f"/api/users/{user_id}").status_code == 200
        assert_error(client.get("/api/call_rates"), 401)


def test_users_of_other_organizations_are_404(org, other_org):
    user_id, address = make_user(org.client)
    assert_error(other_org.client.get(f"/api/users/{user_id}"), 404)
    assert_error(other_org.client.patch(f"/api/users/{user_id}", json={"password": "hijacked password"}), 404)
    assert_error(other_org.client.delete(f"/api/users/{user_id}"), 404)
    assert address not in other_org.client.get("/api/users").text
    with org.server.client() as client:
        assert client.get("/api/auth/me", auth=(address, PASSWORD)).status_code == 200
