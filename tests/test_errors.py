"""The one error body for every status, X-Request-Id everywhere, and a 500 that leaks nothing."""

import re
import uuid

import httpx
import pytest

from tests.harness import new_org
from tests.helpers import assert_error, rate

FIELDS = {"success", "status", "code", "message", "errorCode", "errorDetail", "guid"}


def create(org) -> str:
    response = org.client.post("/api/call_rates", json=rate())
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_every_status_has_the_error_body(org):
    rate_id = create(org)
    anonymous = httpx.Client(base_url=org.server.url)
    reader_token = org.client.post("/api/tokens", json={"name": "ro", "scopes": ["call_rates.read"]}).json()["token"]
    reader = org.server.client(reader_token)
    cases = [
        (org.client.patch(f"/api/call_rates/{rate_id}", json={}), 400, "BAD_REQUEST"),
        (org.client.post("/api/call_rates", json={"prefix": "1"}), 400, "MISSING_REQUIRED_PARAMS"),
        (org.client.get("/api/call_rates?top=0"), 400, "INVALID_PARAMETERS"),
        (anonymous.get("/api/call_rates"), 401, "UNAUTHORIZED"),
        (anonymous.get("/api/call_rates", headers={"Authorization": "Bearer tl_nope"}), 401, "UNAUTHORIZED"),
        (reader.delete(f"/api/call_rates/{rate_id}"), 403, "FORBIDDEN"),
        (org.client.get("/api/call_rates/MTIz"), 404, "NOT_FOUND"),
        (org.client.get("/api/no/such/route"), 404, "NOT_FOUND"),
        (org.client.put("/api/call_rates"), 405, "METHOD_NOT_ALLOWED"),
        (org.client.post("/api/call_rates", json=rate()), 409, "DUPLICATE_PREFIX"),
        (org.client.post("/api/call_rates", content=b"x", headers={"content-type": "text/plain"}), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (org.client.post("/api/call_rates", json=rate(prefix="x")), 422, "VALIDATION_FAILED"),
    ]
    guids = set()
    for response, status, code in cases:
        body = assert_error(response, status, code)
        assert FIELDS <= body.keys(), body
        assert response.headers["content-type"].startswith("application/json")
        uuid.UUID(body["guid"])
        guids.add(body["guid"])
    assert len(guids) == len(cases)
    anonymous.close()
    reader.close()


def test_unknown_route_and_wrong_method(org):
    body = assert_error(org.client.get("/api/nothing-here"), 404, "NOT_FOUND")
    assert body["message"] == "No such route"
    for near in ("/api/call_ratesx", "/api/call_rates/x/y", "/api/endpointsx/1"):  # a resource's prefix is a whole segment
        assert assert_error(org.client.get(near), 404, "NOT_FOUND")["message"] == "No such route"
    assert_error(httpx.get(org.server.url + "/not-even-api"), 404, "NOT_FOUND")
    response = org.client.put("/api/call_rates")
    body = assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, POST"
    rate_id = create(org)
    response = org.client.options(f"/api/call_rates/{rate_id}")
    assert_error(response, 405)
    assert response.headers["allow"] == "GET, POST, PUT, PATCH, DELETE"


def test_missing_and_invalid_vars(org):
    body = assert_error(org.client.post("/api/call_rates", json={"prefix": "1", "price_1": "x"}), 400, "MISSING_REQUIRED_PARAMS")
    assert "price_1" not in body["missingInputVars"] and "interval_1" in body["missingInputVars"]
    assert body["invalidInputVars"] == [{"name": "price_1", "reason": "Input should be a valid decimal"}]
    body = assert_error(org.client.post("/api/call_rates", json=rate(interval_1=0, prefix="x")), 422)
    assert {v["name"] for v in body["invalidInputVars"]} == {"interval_1", "prefix"}
    assert all(v["reason"] for v in body["invalidInputVars"])


def test_500_leaks_nothing(org, monkeypatch):
    rate_id = create(org)

    def explode(*args, **kwargs):
        raise RuntimeError("secret-detail")

    monkeypatch.setattr("trunkline.kit.lookup.read_by_id", explode)
    response = org.client.get(f"/api/call_rates/{rate_id}")
    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert FIELDS <= body.keys()
    for leak in ("Traceback", "secret-detail", "RuntimeError", ".py", "/work", "File \""):
        assert leak not in response.text, leak
    assert not re.search(r"line \d+", response.text)
    monkeypatch.undo()
    record = org.client.get(f"/api/requests/{body['guid']}").json()
    assert (record["status"], record["error_code"], record["method"]) == (500, "INTERNAL_ERROR", "GET")
    assert record["path"] == f"/api/call_rates/{rate_id}"
    assert org.client.get(f"/api/call_rates/{rate_id}").status_code == 200  # the server carries on


def test_500_in_a_write_keeps_the_connection_usable(org, monkeypatch):
    monkeypatch.setattr("trunkline.call_rates.repository.create", lambda *a, **k: 1 / 0)
    assert_error(org.client.post("/api/call_rates", json=rate()), 500)
    monkeypatch.undo()
    assert org.client.post("/api/call_rates", json=rate()).status_code == 200


def test_request_id_on_every_response(server, org):
    rate_id = create(org)
    limited = new_org(server, rate_limit_get=1)
    limited.client.get("/api/call_rates")
    responses = {
        "200": org.client.get(f"/api/call_rates/{rate_id}"),
        "200 list": org.client.get("/api/call_rates"),
        "401": httpx.get(server.url + "/api/call_rates"),
        "404": org.client.get("/api/missing"),
        "415": org.client.post("/api/call_rates", content=b"<a/>", headers={"content-type": "application/xml"}),
        "429": limited.client.get("/api/call_rates"),
        "openapi": httpx.get(server.url + "/api/openapi.json"),
    }
    assert responses["429"].status_code == 429
    guids = set()
    for name, response in responses.items():
        guid = response.headers.get("x-request-id")
        assert guid, name
        uuid.UUID(guid)
        guids.add(guid)
        if name == "200 list":
            assert response.json()["guid"] == guid, name
    assert len(guids) == len(responses)
    limited.client.close()


@pytest.mark.parametrize("path", ["/api/call_rates", "/api/organizations", "/api/tokens"])
def test_unauthenticated_is_401_with_challenge(server, path):
    response = httpx.get(server.url + path)
    assert_error(response, 401, "UNAUTHORIZED")
    assert "Bearer" in response.headers["www-authenticate"]
