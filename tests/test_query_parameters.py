"""Query parameters and form values as a new user sends them: a misspelt parameter is named,
a one-item list is one value, messages are plain words, and a bad query parameter is 400."""

import pytest

from tests.helpers import assert_error


@pytest.mark.parametrize(
    ("method", "path", "unknown"),
    [
        ("GET", "/api/calls?fliter=billsec%20gt%200", ["fliter"]),
        ("GET", "/api/call_rates/quote?number=44&duration=60&currency=EUR", ["currency"]),
        ("GET", "/api/auth/me?verbose=1&debug=", ["debug", "verbose"]),
        ("DELETE", "/api/tokens/bm9uZQ?force=true", ["force"]),
    ],
)
def test_an_unknown_query_parameter_is_named(org, method, path, unknown):
    error = assert_error(org.client.request(method, path), 400, "INVALID_PARAMETERS")
    assert [problem["name"] for problem in error["invalidInputVars"]] == unknown
    assert all(problem["reason"] == "unknown query parameter" for problem in error["invalidInputVars"])


def test_known_parameters_still_pass(org):
    assert org.client.get("/api/calls", params={"top": 5, "skip": 0, "filter": "billsec gt 0", "orderby": "start", "search": "x"}).status_code == 200
    assert org.client.get("/api/calls", params={"limit": 5, "offset": 0}).status_code == 200
    assert org.server.client().get(f"/api/auth/me?access_token={org.token}").status_code == 200


def test_a_form_list_accepts_a_single_value(org):
    created = org.client.post("/api/tokens", data={"name": "reader", "scopes": "calls.read"})
    assert created.status_code == 200, created.text
    assert org.client.get(f"/api/tokens/{created.json()['id']}").json()["scopes"] == ["calls.read"]
    both = org.client.post("/api/tokens", data={"name": "two", "scopes": ["calls.read", "reports.read"]})
    assert org.client.get(f"/api/tokens/{both.json()['id']}").json()["scopes"] == ["calls.read", "reports.read"]


def test_messages_are_plain_words(org):
    error = assert_error(org.client.post("/api/voice/rapidresponse", json={"account_id": "a b", "callee": "441234", "whisper_text": "x"}), 422)
    assert error["invalidInputVars"] == [{"name": "account_id", "reason": "has characters that are not allowed here"}]
    error = assert_error(org.client.post("/api/voice/rapidresponse", json={"account_id": "a", "callee": "call me", "whisper_text": "x"}), 422)
    assert error["invalidInputVars"] == [{"name": "callee", "reason": "not a dialable number"}]
    assert "Value error" not in error["message"] and "^" not in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/calls?top=0",
        "/api/calls?filter=nonsense%20eq",
        "/api/calls?orderby=colour",
        "/api/call_rates/quote?number=44&duration=-1",
        "/api/reports/call-data?start_date=2024-05-01&end_date=2024-05-02&group_by=week",
        "/api/reports/call-data?start_date=yesterday&end_date=2024-05-02",
        "/api/accounts/code:x/authorize",
    ],
)
def test_a_bad_query_parameter_is_400_whichever_it_is(org, path):
    assert_error(org.client.get(path), 400)
