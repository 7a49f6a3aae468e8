"""`/api/tokens` and scopes over HTTP: the secret is shown once, revocation and expiry bite at once,
a token can do only what its scopes say and can hand out no more than it holds."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.harness import new_org
from tests.helpers import assert_error, make_token, rate
from trunkline.db.engine import make_engine
from trunkline.db.tables import request_log, tokens
from trunkline.kit import credentials, ids


@pytest.fixture
def db(server):
    """The server's own database, to see what is (not) stored."""
    engine = make_engine(server.settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def same_org(server):
    """One organization shared by the tests that leave nothing behind that others could see."""
    created = new_org(server)
    yield created
    created.client.close()





def test_secret_is_shown_once_and_stored_only_as_a_hash(org, db):
    response = org.client.post("/api/tokens", json={"name": "billing export", "scopes": ["call_rates.read"]})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    secret, token_id = body["token"], body["id"]
    assert body["success"] is True and body["guid"] == response.headers["x-request-id"]
    assert secret.startswith("tl_") and credentials.looks_valid(secret)

    got = org.client.get(f"/api/tokens/{token_id}")
    assert got.status_code == 200
    item = got.json()
    assert item["name"] == "billing export" and item["scopes"] == ["call_rates.read"]
    assert item["hint"] == secret[:7] + "…" + secret[-4:]
    assert item["revoked_at"] is None and item["expires_at"] is None and item["allowed_ips"] == []
    assert "token" not in item and "secret_hash" not in item
    listed = org.client.get("/api/tokens")
    assert token_id in [t["id"] for t in listed.json()["items"]]
    for text in (got.text, listed.text):
        assert secret not in text and secret[7:-4] not in text

    with db.connect() as conn:
        rows = [tuple(row) for row in conn.execute(select(tokens))]
        logged = [tuple(row) for row in conn.execute(select(request_log))]
    assert not any(secret in str(row) or secret[3:] in str(row) for row in rows + logged)
    assert any(credentials.token_hash(secret) in row for row in rows)


def test_list_is_the_organizations_tokens(org):
    first, _ = make_token(org.client, ["call_rates.read"], name="one")
    second, _ = make_token(org.client, ["call_rates.*"], name="two")
    body = org.client.get("/api/tokens", params={"orderby": "created_at desc"}).json()
    names = {t["id"]: t["name"] for t in body["items"]}
    assert names[first] == "one" and names[second] == "two" and "admin" in names.values()
    assert body["count"] == 3
    assert org.client.get("/api/tokens", params={"search": "two"}).json()["count"] == 1


def test_revoked_token_is_401_at_once(org):
    token_id, secret = make_token(org.client, ["call_rates.read"])
    with org.server.client(secret) as client:
        assert client.get("/api/call_rates").status_code == 200  # now cached as valid
        assert org.client.delete(f"/api/tokens/{token_id}").status_code == 200
        response = client.get("/api/call_rates")
    body = assert_error(response, 401, "UNAUTHORIZED")
    assert "revoked" in body["message"]
    assert "Bearer" in response.headers["www-authenticate"]
    assert org.client.get(f"/api/tokens/{token_id}").json()["revoked_at"] is not None


def test_revoke_unknown_or_malformed_id_is_404(org):
    assert_error(org.client.delete("/api/tokens/NzAw"), 404)
    assert_error(org.client.delete("/api/tokens/not-an-id"), 404)
    assert_error(org.client.get("/api/tokens/NzAw"), 404)


def test_expired_token_is_401(org, db):
    # Expiry is checked on every request, also while the credential sits in the cache.
    soon = datetime.now(UTC) + timedelta(seconds=1)
    _, secret = make_token(org.client, ["call_rates.read"], expires_at=soon.isoformat())
    with org.server.client(secret) as client:
        me = client.get("/api/auth/me")
        assert me.status_code == 200 and me.json()["expires_at"] is not None
        time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
        assert "expired" in assert_error(client.get("/api/call_rates"), 401)["message"]

    token_id, secret = make_token(org.client, ["call_rates.read"], expires_at="2999-01-01T00:00:00Z")
    with db.begin() as conn:
        past = datetime.now(UTC) - timedelta(minutes=1)
        conn.execute(update(tokens).where(tokens.c.id == ids.decode(token_id)).values(expires_at=past))
    with org.server.client(secret) as client:
        assert_error(client.get("/api/call_rates"), 401)


@pytest.mark.parametrize("expires_at", ["2001-01-01T00:00:00Z", "2001-01-01T00:00:00", "2001-01-01"])
def test_expiry_in_the_past_is_422(same_org, expires_at):
    response = same_org.client.post("/api/tokens", json={"name": "old", "scopes": ["*"], "expires_at": expires_at})
    body = assert_error(response, 422)
    assert [v["name"] for v in body["invalidInputVars"]] == ["expires_at"]


def test_naive_expiry_is_read_as_utc(org):
    response = org.client.post("/api/tokens", json={"name": "n", "scopes": ["*"], "expires_at": "2999-01-01T00:00:00"})
    assert response.status_code == 200, response.text
    got = org.client.get(f"/api/tokens/{response.json()['id']}").json()
    assert got["expires_at"].startswith("2999-01-01T00:00:00") and got["expires_at"].endswith(("Z", "+00:00"))


def test_read_only_token_reads_but_cannot_modify(org):
    rate_id = org.client.post("/api/call_rates", json=rate()).json()["id"]
    _, secret = make_token(org.client, ["call_rates.read"])
    with org.server.client(secret) as client:
        assert client.get("/api/call_rates").json()["count"] == 1
        assert client.get(f"/api/call_rates/{rate_id}").status_code == 200
        body = assert_error(client.post("/api/call_rates", json=rate(prefix="1")), 403, "FORBIDDEN")
        assert body["required_scope"] == "call_rates.create"
        assert_error(client.patch(f"/api/call_rates/{rate_id}", json={"price_1": 1}), 403)
        assert_error(client.delete(f"/api/call_rates/{rate_id}"), 403)
        assert_error(client.get("/api/tokens"), 403)
    assert org.client.get(f"/api/call_rates/{rate_id}").json()["price_1"] == 0.012


def test_resource_wildcard_covers_that_resource_only(org):
    _, secret = make_token(org.client, ["call_rates.*"])
    with org.server.client(secret) as client:
        rate_id = client.post("/api/call_rates", json=rate()).json()["id"]
        assert client.get(f"/api/call_rates/{rate_id}").status_code == 200
        assert client.patch(f"/api/call_rates/{rate_id}", json={"price_1": 1}).status_code == 200
        assert client.delete(f"/api/call_rates/{rate_id}").status_code == 200
        assert_error(client.get("/api/tokens"), 403)
        assert_error(client.post("/api/tokens", json={"name": "x", "scopes": ["call_rates.read"]}), 403)
        assert_error(client.get("/api/users"), 403)


def test_star_does_everything(org):
    _, secret = make_token(org.client, ["*"])
    with org.server.client(secret) as client:
        assert client.post("/api/call_rates", json=rate()).status_code == 200
        assert client.get("/api/users").status_code == 200
        token_id, _ = make_token(client, ["*"])
        assert client.delete(f"/api/tokens/{token_id}").status_code == 200


def test_no_token_beyond_its_creators_scopes(org):
    each_rate_action = [f"call_rates.{action}" for action in ("read", "create", "update", "delete")]
    _, secret = make_token(org.client, ["tokens.create", *each_rate_action])
    with org.server.client(secret) as client:
        for wanted in (["*"], ["tokens.*"], ["calls.read"], ["tokens.delete"], ["call_rates.read", "users.read"]):
            assert_error(client.post("/api/tokens", json={"name": "x", "scopes": wanted}), 403)
        make_token(client, ["call_rates.read"])
        make_token(client, ["tokens.create"])
        make_token(client, ["call_rates.*"])  # holds every call_rates action


@pytest.mark.parametrize(
    "fields",
    [
        {"scopes": ["call_rates.fly"]},
        {"scopes": ["nope"]},
        {"scopes": ["call_rates"]},
        {"scopes": []},
        {"scopes": ""},
        {"name": ""},
        {"allowed_ips": ["10.0.0.0/33"]},
        {"allowed_ips": ["banana"]},
    ],
)
def test_bad_token_bodies_are_422(same_org, fields):
    body = assert_error(same_org.client.post("/api/tokens", json={"name": "x", "scopes": ["*"], **fields}), 422)
    assert [v["name"] for v in body["invalidInputVars"]] == [next(iter(fields))]


def test_token_without_name_or_scopes_is_400(org):
    body = assert_error(org.client.post("/api/tokens", json={}), 400, "MISSING_REQUIRED_PARAMS")
    assert set(body["missingInputVars"]) == {"name", "scopes"}


@pytest.mark.parametrize(
    ("allowed", "status"),
    [(["10.0.0.0/8"], 403), (["127.0.0.0/8"], 200), (["::1/128"], 403), (["10.0.0.0/8", "127.0.0.1"], 200)],
)
def test_ip_allow_list(same_org, allowed, status):
    _, secret = make_token(same_org.client, ["call_rates.read"], allowed_ips=allowed)
    with same_org.server.client(secret) as client:
        response = client.get("/api/call_rates")
    if status == 403:
        assert "127.0.0.1" in assert_error(response, 403)["message"]
    else:
        assert response.status_code == 200, response.text


def test_allow_list_is_stored_normalised(org):
    token_id, _ = make_token(org.client, ["*"], allowed_ips=[" 192.168.1.7/24 ", "2001:db8::1"])
    assert org.client.get(f"/api/tokens/{token_id}").json()["allowed_ips"] == ["192.168.1.0/24", "2001:db8::1/128"]


def test_revoking_needs_every_scope_of_the_token_revoked(org):
    admin_id, _ = make_token(org.client, ["*"])
    reader_id, _ = make_token(org.client, ["calls.read"])
    _, revoker = make_token(org.client, ["tokens.delete", "calls.read"])
    with org.server.client(revoker) as client:
        assert_error(client.delete(f"/api/tokens/{admin_id}"), 403)
        assert client.delete(f"/api/tokens/{reader_id}").status_code == 200
    assert org.client.get(f"/api/tokens/{admin_id}").json()["revoked_at"] is None
    assert org.client.get(f"/api/tokens/{reader_id}").json()["revoked_at"] is not None
