"""`/api/voice/rapidresponse` over HTTP: the missingInputVars 400, the 202, and the
simulated dialer moving the request queued → dialing → completed."""

import time
import uuid

import pytest

from tests.harness import new_org
from tests.helpers import assert_error, make_token, ready_to_dial

VALID = {"account_id": "12345", "callee": "+44 (20) 7946-0000", "whisper_text": "Your table is ready"}


@pytest.fixture
def org(server):
    """An organization ready to dial for account 12345."""
    created = new_org(server)
    ready_to_dial(created.client, "12345")
    yield created
    created.client.close()


def wait_for(client, request_id: str, status: str, seconds: float = 10) -> dict:
    """Poll until the request reaches `status` (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        body = client.get(f"/api/voice/rapidresponse/{request_id}").json()
        if body["status"] == status or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def assert_missing(response, names: list[str]) -> None:
    """The 400 body of a missing parameter: its keys and values (plus status, code and message)."""
    body = assert_error(response, 400, "MISSING_REQUIRED_PARAMS")
    assert body["missingInputVars"] == names
    assert body["errorDetail"] == "One or more required input parameters were missing"
    assert str(uuid.UUID(body["guid"])) == body["guid"]
    assert set(body) == {"missingInputVars", "guid", "success", "errorCode", "errorDetail", "status", "code", "message"}


@pytest.mark.parametrize(
    "send",
    [
        {},  # curl -X POST with no body at all
        {"json": {}},
        {"data": {}},
        {"content": b"--b--\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=b"}},
    ],
    ids=["no-body", "json", "form", "multipart"],
)
def test_all_missing_is_a_400_naming_each(org, send):
    assert_missing(org.client.post("/api/voice/rapidresponse", **send), ["account_id", "callee", "whisper_text"])


@pytest.mark.parametrize(
    ("sent", "missing"),
    [
        ({"callee": "441234"}, ["account_id", "whisper_text"]),
        ({"whisper_text": "hi", "account_id": "1"}, ["callee"]),
        ({"callee": "441234", "account_id": "1"}, ["whisper_text"]),
    ],
)
def test_some_missing_are_listed_in_field_order(org, sent, missing):
    assert_missing(org.client.post("/api/voice/rapidresponse", data=sent), missing)


@pytest.mark.parametrize("callee", ["call me", "+44-abc", "12", "1" * 21, "+"])
def test_undialable_callee_is_422(org, callee):
    body = assert_error(org.client.post("/api/voice/rapidresponse", json={**VALID, "callee": callee}), 422)
    assert [v["name"] for v in body["invalidInputVars"]] == ["callee"]


def test_accepted_then_simulated_through_to_completed(org):
    response = org.client.post("/api/voice/rapidresponse", data=VALID)  # form encoded
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"success", "guid", "id", "status"}
    assert body["success"] is True and body["status"] == "queued"
    assert response.headers["x-request-id"] == body["guid"]

    seen = {org.client.get(f"/api/voice/rapidresponse/{body['id']}").json()["status"]}
    deadline = time.monotonic() + 10
    while "completed" not in seen and time.monotonic() < deadline:
        seen.add(org.client.get(f"/api/voice/rapidresponse/{body['id']}").json()["status"])
        time.sleep(0.02)
    assert seen <= {"queued", "dialing", "completed"} and "completed" in seen
    call = org.client.get(f"/api/voice/rapidresponse/{body['id']}").json()
    assert call["id"] == body["id"]
    assert call["account_id"] == "12345" and call["callee"] == "442079460000"
    assert call["whisper_text"] == "Your table is ready"
    assert call["dialer"] == "simulator" and call["detail"].startswith("Simulated:")
    assert call["updated_at"] >= call["created_at"]


def test_dialing_is_an_intermediate_state(org):
    """With the default 0.2 s per step, polling sees dialing before completed."""
    request_id = org.client.post("/api/voice/rapidresponse", json=VALID).json()["id"]
    assert wait_for(org.client, request_id, "dialing")["status"] in ("dialing", "completed")
    assert wait_for(org.client, request_id, "completed")["status"] == "completed"


def test_unknown_malformed_and_other_orgs_requests_are_404(org, other_org):
    request_id = org.client.post("/api/voice/rapidresponse", json=VALID).json()["id"]
    assert_error(other_org.client.get(f"/api/voice/rapidresponse/{request_id}"), 404, "NOT_FOUND")
    assert_error(org.client.get("/api/voice/rapidresponse/not-an-id"), 404, "NOT_FOUND")
    assert_error(org.client.get("/api/voice/rapidresponse/MTIz"), 404, "NOT_FOUND")
    wait_for(org.client, request_id, "completed")


def test_scopes(org):
    _, reader = make_token(org.client, ["voice.read"])
    _, creator = make_token(org.client, ["voice.create"])
    request_id = org.client.post("/api/voice/rapidresponse", json=VALID).json()["id"]
    with org.server.client(reader) as client:
        assert_error(client.post("/api/voice/rapidresponse", json=VALID), 403)
        assert client.get(f"/api/voice/rapidresponse/{request_id}").status_code == 200
    with org.server.client(creator) as client:
        assert client.post("/api/voice/rapidresponse", json=VALID).status_code == 202
        assert_error(client.get(f"/api/voice/rapidresponse/{request_id}"), 403)
    assert_error(org.server.client().post("/api/voice/rapidresponse", json=VALID), 401)
    wait_for(org.client, request_id, "completed")


def test_refused_before_dialling_when_it_could_not_be_paid(server):
    fresh = new_org(server)
    try:
        error = assert_error(fresh.client.post("/api/voice/rapidresponse", json=VALID), 403, "PRODUCT_DISABLED")
        assert "SIPT" in error["message"]
        ready_to_dial(fresh.client, "other")
        error = assert_error(fresh.client.post("/api/voice/rapidresponse", json=VALID), 422)
        assert error["invalidInputVars"] == [{"name": "account_id", "reason": "no such account"}]
        account = fresh.client.post("/api/accounts", json={"account_id": "12345", "name": "broke"}).json()["id"]
        assert fresh.client.post(f"/api/accounts/{account}/credit", json={"amount": "-1", "kind": "adjustment"}).status_code == 200
        assert_error(fresh.client.post("/api/voice/rapidresponse", json=VALID), 402, "INSUFFICIENT_BALANCE")
        assert fresh.client.get("/api/voice/rapidresponse").json()["count"] == 0  # nothing was queued
    finally:
        fresh.client.close()


def test_requests_are_listed(org):
    first = org.client.post("/api/voice/rapidresponse", json=VALID).json()["id"]
    second = org.client.post("/api/voice/rapidresponse", json={**VALID, "whisper_text": "Second"}).json()["id"]
    listed = org.client.get("/api/voice/rapidresponse", params={"orderby": "created_at desc"}).json()
    assert [item["id"] for item in listed["items"]] == [second, first]
    assert org.client.get("/api/voice/rapidresponse", params={"search": "Second"}).json()["count"] == 1
    for request_id in (first, second):
        wait_for(org.client, request_id, "completed")
