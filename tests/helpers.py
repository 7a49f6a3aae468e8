"""Small shared pieces of test data."""

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
