"""Authentication over HTTP: Bearer, `access_token`, console-user Basic, the OAuth password grant,
`/api/auth/me`; and a check that no /api route can forget to declare its credential."""

import base64
import uuid

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from tests.harness import Server, bootstrap_operator, new_org, settings_for, start_server
from tests.helpers import assert_error, rate
from trunkline.app import create_app
from trunkline.db.engine import make_engine
from trunkline.db.tables import request_log
from trunkline.kit import credentials, ids, scopes
from trunkline.kit.auth import authorize
from trunkline.kit.config import Settings
from trunkline.kit.resource_routes import api_routes
from trunkline.switches.auth import EndpointGuard


@pytest.fixture(scope="module")
def same_org(server):
    """One organization shared by the tests that leave nothing behind that others could see."""
    created = new_org(server)
    yield created
    created.client.close()


def bare(org) -> httpx.Client:
    """A client of `org`'s server without credentials."""
    return org.server.client()


def test_me_describes_the_token(server):
    org = new_org(server, rate_limit_get=5000, rate_limit_other=300)
    with org.client as client:
        response = client.get("/api/auth/me")
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["organization_id"] == org.id and me["is_operator"] is False
    assert me["credential"] == "token" and me["name"] == "admin" and me["scopes"] == ["*"]
    assert ids.decode(me["token_id"]) and ids.decode(me["user_id"])
    assert me["expires_at"] is None
    assert me["rate_limits"] == {"get": 5000, "other": 300}


def test_me_default_limits_and_operator(server, org):
    assert org.client.get("/api/auth/me").json()["rate_limits"] == {"get": 1000, "other": 100}
    with server.client(server.operator_token) as operator:
        assert operator.get("/api/auth/me").json()["is_operator"] is True


def test_access_token_query_parameter_works_like_bearer(org):
    with bare(org) as client:
        response = client.get("/api/auth/me", params={"access_token": org.token})
        assert response.status_code == 200, response.text
        assert response.json()["organization_id"] == org.id
        assert client.post("/api/call_rates", params={"access_token": org.token}, json=rate()).status_code == 200
        assert_error(client.get("/api/auth/me", params={"access_token": "tl_nonsense"}), 401)
        assert_error(client.get("/api/auth/me", params={"access_token": credentials.new_token()}), 401)


def test_header_and_query_token_together_is_400(same_org):
    response = same_org.client.get("/api/auth/me", params={"access_token": same_org.token})
    assert_error(response, 400)


def test_query_token_is_redacted_in_the_request_log(org):
    with bare(org) as client:
        response = client.get("/api/call_rates", params={"access_token": org.token, "top": 5})
    assert response.status_code == 200
    guid = response.headers["x-request-id"]
    record = org.client.get(f"/api/requests/{guid}")
    assert record.status_code == 200, record.text
    logged = record.json()
    assert logged["query"] == "access_token=%5Bredacted%5D&top=5"
    assert org.token not in record.text
    engine = make_engine(org.server.settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(request_log).where(request_log.c.guid == guid)).all()
    finally:
        engine.dispose()
    assert len(rows) == 1 and org.token[3:] not in str(tuple(rows[0]))


def test_basic_auth_with_a_console_user(org):
    with bare(org) as client:
        response = client.get("/api/auth/me", auth=(org.admin_email, org.admin_password))
        assert response.status_code == 200, response.text
        me = response.json()
        assert me["credential"] == "user" and me["name"] == org.admin_email and me["token_id"] is None
        assert me["organization_id"] == org.id and me["scopes"] == ["*"]
        shouted = (org.admin_email.upper(), org.admin_password)
        assert client.post("/api/call_rates", json=rate(), auth=shouted).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"nobody@example.com:whatever").decode(),
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no colon here").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic",
        "Bearer garbage",
        "Bearer",
        "Bearer " + credentials.new_token(),
        "Digest username=x",
        "tl_abc",
    ],
    ids=["unknown-user", "not-base64", "no-colon", "not-utf8", "basic-empty", "bearer-garbage", "bearer-empty", "unknown-token", "digest", "no-scheme"],
)
def test_bad_credentials_are_401(same_org, header):
    with bare(same_org) as client:
        response = client.get("/api/call_rates", headers={"Authorization": header})
    assert_error(response, 401, "UNAUTHORIZED")
    assert "Bearer" in response.headers["www-authenticate"]


def test_wrong_password_and_no_credentials_are_401_with_challenge(same_org):
    with bare(same_org) as client:
        wrong = client.get("/api/auth/me", auth=(same_org.admin_email, "wrong password"))
        for response in (wrong, client.get("/api/auth/me")):
            assert_error(response, 401)
            assert 'Basic realm="trunkline"' in response.headers["www-authenticate"]


def oauth(org, **fields) -> httpx.Response:
    form = {"grant_type": "password", "username": org.admin_email, "password": org.admin_password, **fields}
    with bare(org) as client:
        return client.post("/api/oauth/token", data=form)


def test_oauth_password_grant(org):
    response = oauth(org)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["scope"] == "*"
    assert credentials.looks_valid(body["access_token"])
    with org.server.client(body["access_token"]) as client:
        me = client.get("/api/auth/me").json()
        assert client.post("/api/call_rates", json=rate()).status_code == 200
    assert me["organization_id"] == org.id and me["name"] == "oauth" and me["expires_at"] is not None
    assert body["access_token"] not in org.client.get("/api/tokens").text


def test_oauth_scope_subset(org):
    response = oauth(org, scope="call_rates.read  calls.read")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "call_rates.read calls.read"
    with org.server.client(response.json()["access_token"]) as client:
        assert client.get("/api/call_rates").status_code == 200
        assert_error(client.post("/api/call_rates", json=rate()), 403)
        assert_error(client.get("/api/tokens"), 403)


def test_oauth_wrong_password_is_invalid_grant(same_org):
    for fields in ({"password": "not the password"}, {"username": "nobody@example.com"}):
        body = assert_error(oauth(same_org, **fields), 401)
        assert body["error"] == "invalid_grant"


def test_oauth_wrong_grant_type_is_422(same_org):
    body = assert_error(oauth(same_org, grant_type="client_credentials"), 422)
    assert [v["name"] for v in body["invalidInputVars"]] == ["grant_type"]


def test_oauth_missing_fields_are_400(same_org):
    with bare(same_org) as client:
        body = assert_error(client.post("/api/oauth/token", data={"grant_type": "password"}), 400)
    assert set(body["missingInputVars"]) == {"username", "password"}


def test_oauth_scope_beyond_the_user_is_invalid_scope(org):
    email = f"reader-{uuid.uuid4().hex[:10]}@example.com"
    reader = {"email": email, "password": "reader password", "scopes": ["call_rates.read"]}
    created = org.client.post("/api/users", json=reader)
    assert created.status_code == 200, created.text
    form = {"grant_type": "password", "username": email, "password": "reader password"}
    with bare(org) as client:
        for scope in ("call_rates.create", "*", "call_rates.read bogus"):
            body = assert_error(client.post("/api/oauth/token", data={**form, "scope": scope}), 400)
            assert body["error"] == "invalid_scope"
        issued = client.post("/api/oauth/token", data=form)
    assert issued.status_code == 200 and issued.json()["scope"] == "call_rates.read"


@pytest.fixture(scope="module")
def guarded_routes(tmp_path_factory) -> list:
    """(path, route) of every /api route of a freshly built app, except the ones public by design."""
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("routes")))
    public = ("/api/oauth/token", "/api/openapi.json")
    guarded = [
        (route.path, route)
        for route in iter_route_contexts(list(api_routes(app)))
        if (route.path or "").startswith("/api/") and route.path not in public and not route.path.startswith("/api/docs")
    ]
    assert len(guarded) > 60  # every resource's routes, not only the application's own few
    return guarded


def test_every_api_route_declares_its_credential(guarded_routes):
    """Every guarded route depends on `authorize`, with one known scope that fits its verb."""

    def dependencies(dependant):
        for sub in dependant.dependencies:
            yield sub
            yield from dependencies(sub)

    checked = 0
    for path, route in guarded_routes:
        dependant = getattr(route, "dependant", None)
        assert dependant is not None, f"{path} is not a FastAPI route and so cannot declare a credential"
        if path.startswith("/api/endpoint/"):  # endpoint APIs take only endpoint credentials
            assert [type(d.call) for d in dependencies(dependant) if d.call is authorize or isinstance(d.call, EndpointGuard)] == [EndpointGuard], path
            continue
        guards = [d for d in dependencies(dependant) if d.call is authorize]
        assert len(guards) == 1, f"{path} must depend on authorize exactly once"
        wanted = guards[0].own_oauth_scopes
        if path == "/api/auth/me":
            assert wanted == []
        else:
            assert len(wanted) == 1 and scopes.is_known(wanted[0]) and not wanted[0].endswith("*"), (path, wanted)
            if route.methods == {"GET"}:
                assert wanted[0].endswith(".read"), (path, wanted)
        checked += 1
    assert checked >= 20


def test_every_api_route_refuses_a_caller_without_credentials(server, guarded_routes):
    with server.client() as client:
        for path, route in guarded_routes:
            url = path.replace("{id}", "NzAw").replace("{guid}", "00000000-0000-0000-0000-000000000000")
            for method in route.methods:
                response = client.request(method, url, json={} if method in ("POST", "PUT", "PATCH") else None)
                assert response.status_code == 401, (method, path, response.text)


def test_password_guessing_is_limited_per_client_address(tmp_path_factory, worker_id):
    """Basic auth and the OAuth password grant share one bucket per client address: wrong
    passwords are 429 after the limit, a right one too, while other addresses are unaffected."""
    settings = settings_for("sqlite", tmp_path_factory, worker_id, login_attempts_per_minute=3, trusted_proxies="127.0.0.0/8")
    uv, thread, url = start_server(settings)
    try:
        org = new_org(Server("sqlite", url, settings, bootstrap_operator(settings)))
        guesser = {"X-Forwarded-For": "203.0.113.7"}  # the test client plays a trusted proxy
        with httpx.Client(base_url=url, headers=guesser) as client:
            wrong = (org.admin_email, "not the password")
            assert [client.get("/api/auth/me", auth=wrong).status_code for _ in range(2)] == [401, 401]
            form = {"grant_type": "password", "username": org.admin_email, "password": "nope"}
            assert client.post("/api/oauth/token", data=form).status_code == 401
            body = assert_error(client.get("/api/auth/me", auth=(org.admin_email, org.admin_password)), 429)
            assert "retry-after" in {name.lower() for name in client.get("/api/auth/me", auth=wrong).headers}
            assert "per minute" in body["message"]
        with httpx.Client(base_url=url, headers={"X-Forwarded-For": "198.51.100.9"}) as other:
            assert other.get("/api/auth/me", auth=(org.admin_email, org.admin_password)).status_code == 200
        assert org.client.get("/api/auth/me").status_code == 200  # tokens are not password checks
        org.client.close()
    finally:
        uv.should_exit = True
        thread.join(10)


def test_an_unknown_email_costs_a_password_check_like_a_wrong_password(tmp_path_factory, worker_id):
    """No user enumeration by timing: with real argon2 parameters, Basic auth and the password
    grant answer an unknown email no faster than a wrong password (it was 5 ms against 285 ms)."""
    settings = settings_for("sqlite", tmp_path_factory, worker_id, argon2_fast=False)
    uv, thread, url = start_server(settings)
    try:
        org = new_org(Server("sqlite", url, settings, bootstrap_operator(settings)))

        def slowest_of_fastest(email: str, grant: bool) -> float:
            times = []
            for _ in range(3):
                if grant:
                    response = httpx.post(f"{url}/api/oauth/token", data={"grant_type": "password", "username": email, "password": "wrong"})
                else:
                    response = httpx.get(f"{url}/api/auth/me", auth=(email, "wrong"))
                assert response.status_code == 401
                times.append(response.elapsed.total_seconds())
            return min(times)

        for grant in (False, True):
            wrong_password = slowest_of_fastest(org.admin_email, grant)
            unknown_email = slowest_of_fastest("nobody-" + org.admin_email, grant)
            assert unknown_email > 0.5 * wrong_password, (grant, unknown_email, wrong_password)
        org.client.close()
    finally:
        uv.should_exit = True
        thread.join(10)
