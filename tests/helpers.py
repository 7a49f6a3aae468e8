"""Small shared pieces of test data, and the builders several test modules use."""

import time
from pathlib import Path

import httpx

SWITCH_FIXTURES = Path(__file__).parent / "fixtures" / "switches"

RATE = {
    "prefix": "44",
    "type": "INTERNATIONAL",
    "free_seconds": 0,
    "grace_period": 0,
    "interval_1": 60,
    "interval_n": 6,
    "connect_fee": 0,
    "postcall_surcharge": 0,
    "price_1": 0.012,
    "price_n": 0.012,
    "description": "United Kingdom",
}


def rate(**changes) -> dict:
    return {**RATE, **changes}


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The shared error body, with its status and (optionally) error code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["status"] == body["code"] == status
    assert body["message"] and body["errorDetail"] and body["guid"]
    assert response.headers["x-request-id"] == body["guid"]
    if code:
        assert body["errorCode"] == code, body
    return body


def ok(response) -> dict:
    """The body of a 200 answer (anything else fails the test, showing the body)."""
    assert response.status_code == 200, response.text
    return response.json()


def ready_to_dial(client, *account_ids: str, balance: str = "10") -> None:
    """What a rapid-response call needs: outbound voice (SIPT) enabled, a rate for every number, and
    funded accounts."""
    assert client.patch("/api/products/SIPT", json={"enabled": True}).status_code == 200
    for prefix in "123456789":
        assert client.post("/api/call_rates", json=rate(prefix=prefix)).status_code == 200
    for account_id in account_ids:
        created = client.post("/api/accounts", json={"account_id": account_id, "name": account_id})
        assert created.status_code == 200, created.text
        assert client.post(f"/api/accounts/{created.json()['id']}/credit", json={"amount": balance}).status_code == 200


def rerate(client, body: dict) -> dict:
    """Start a re-rating job (202) and follow it until it is done; the finished job."""
    started = client.post("/api/calls/rerate", json=body)
    assert started.status_code == 202, started.text
    return follow(client, started.json()["id"])


def follow(client, job_id: str, seconds: float = 60) -> dict:
    """Poll a re-rating job until it has finished (bounded); it must have finished well."""
    deadline = time.monotonic() + seconds
    while True:
        job = client.get(f"/api/calls/rerate/{job_id}").json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            assert job["status"] == "done", job
            return job
        time.sleep(0.02)


def cdr(call_id: str, callee: str = "+44 20 7946 0000", billsec: int = 125, **fields) -> dict:
    answered = billsec > 0
    return {
        "call_id": call_id,
        "account_id": "acct-1",
        "caller": "+15551230000",
        "callee": callee,
        "start": "2024-05-01T10:00:00Z",
        "answer": "2024-05-01T10:00:05Z" if answered else None,
        "duration": billsec + 5,
        "billsec": billsec,
        "disposition": "ANSWERED" if answered else "NO ANSWER",
        "direction": "outbound",
        **fields,
    }


def make_token(client, scopes, **fields) -> tuple[str, str]:
    response = client.post("/api/tokens", json={"name": "test", "scopes": scopes, **fields})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["id"], body["token"]


def fixture(name: str) -> str:
    return (SWITCH_FIXTURES / name).read_text(encoding="utf-8")


class Switch:
    """An organization with a deck and a cdr_push endpoint."""

    def __init__(self, org):
        self.org = org
        for prefix, price in (("49", "0.02"), ("44", "0.012"), ("1", "0.005")):
            assert org.client.post("/api/call_rates", json=rate(prefix=prefix, price_1=price, price_n=price)).status_code == 200
        created = org.client.post("/api/endpoints", json={"name": "fs01", "type": "cdr_push"}).json()
        self.auth = (created["login"], created["password"])

    def push(self, body: str, media_type: str) -> httpx.Response:
        return httpx.post(f"{self.org.server.url}/api/endpoint/cdr", content=body.encode(), headers={"content-type": media_type}, auth=self.auth)

    def calls(self) -> dict[str, dict]:
        return {call["call_id"]: call for call in self.org.client.get("/api/calls", params={"top": 100}).json()["items"]}

    def quote(self, number: str, seconds: int) -> dict:
        return self.org.client.get("/api/call_rates/quote", params={"number": number, "duration": seconds}).json()
