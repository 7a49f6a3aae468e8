"""Request bodies: three encodings on every verb, 415, 409 on conflicts, `_method`."""

import httpx
import pytest

from tests.helpers import assert_error, rate

SAME = ("type", "free_seconds", "grace_period", "interval_1", "interval_n", "connect_fee",
        "postcall_surcharge", "price_1", "price_n", "description")


def form(**changes) -> dict[str, str]:
    return {key: str(value) for key, value in rate(**changes).items()}


def create(org, **changes) -> str:
    response = org.client.post("/api/call_rates", json=rate(**changes))
    assert response.status_code == 200, response.text
    return response.json()["id"]


def fetch(org, rate_id: str) -> dict:
    response = org.client.get(f"/api/call_rates/{rate_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_create_in_each_encoding_gives_the_same_rate(org):
    sent = {
        "json": org.client.post("/api/call_rates", json=rate(prefix="1", price_1="0.01234")),
        "form": org.client.post("/api/call_rates", data=form(prefix="2", price_1="0.01234")),
        "multipart": org.client.post(
            "/api/call_rates", files={k: (None, v) for k, v in form(prefix="3", price_1="0.01234").items()}
        ),
    }
    assert "multipart/form-data" in sent["multipart"].request.headers["content-type"]
    stored = {}
    for encoding, response in sent.items():
        assert response.status_code == 200, (encoding, response.text)
        assert response.json()["success"] is True
        stored[encoding] = fetch(org, response.json()["id"])
    assert [stored[e]["prefix"] for e in sent] == ["1", "2", "3"]
    for encoding in ("form", "multipart"):
        assert {k: stored[encoding][k] for k in SAME} == {k: stored["json"][k] for k in SAME}
    assert stored["form"]["price_1"] == 0.01234 and stored["form"]["interval_1"] == 60


@pytest.mark.parametrize("method", ["PATCH", "PUT", "POST"])
def test_update_with_form_body(org, method):
    rate_id = create(org)
    response = org.client.request(method, f"/api/call_rates/{rate_id}", data={"price_n": "0.02", "interval_n": "30"})
    assert response.status_code == 200, response.text
    item = fetch(org, rate_id)
    assert (item["price_n"], item["interval_n"], item["price_1"]) == (0.02, 30, 0.012)


def test_update_with_multipart_body(org):
    rate_id = create(org)
    response = org.client.patch(f"/api/call_rates/{rate_id}", files={"description": (None, "Multipart")})
    assert response.status_code == 200, response.text
    assert fetch(org, rate_id)["description"] == "Multipart"


def test_form_values_are_validated_like_json(org):
    body = assert_error(org.client.post("/api/call_rates", data=form(interval_1="soon")), 422)
    assert [v["name"] for v in body["invalidInputVars"]] == ["interval_1"]
    body = assert_error(org.client.post("/api/call_rates", data=form(colour="red")), 422)
    assert body["invalidInputVars"] == [{"name": "colour", "reason": "unknown field"}]


@pytest.mark.parametrize("encoding", ["form", "json", "multipart"])
def test_get_with_a_body_carries_list_params(org, encoding):
    create(org, prefix="44")
    create(org, prefix="33")
    params = {"top": "1", "filter": "prefix eq '44'"}
    if encoding == "form":
        response = org.client.request("GET", "/api/call_rates", data=params)
    elif encoding == "json":
        response = org.client.request("GET", "/api/call_rates", json={"top": 1, "filter": "prefix eq '44'"})
    else:
        response = org.client.request("GET", "/api/call_rates", files={k: (None, v) for k, v in params.items()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["top"] == 1 and body["count"] == 1
    assert [item["prefix"] for item in body["items"]] == ["44"]


def test_get_body_merges_with_query(org):
    for prefix in ("44", "441", "33"):
        create(org, prefix=prefix)
    response = org.client.request("GET", "/api/call_rates?orderby=prefix desc", data={"filter": "startswith(prefix, '44')"})
    assert response.status_code == 200, response.text
    assert [item["prefix"] for item in response.json()["items"]] == ["441", "44"]


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_delete_with_a_body(org, encoding):
    """A DELETE body is read as query parameters: one the route does not take is named, and nothing is deleted."""
    rate_id = create(org)
    payload = {"data": {"reason": "obsolete"}} if encoding == "form" else {"json": {"reason": "obsolete"}}
    error = assert_error(org.client.request("DELETE", f"/api/call_rates/{rate_id}", **payload), 400)
    assert error["invalidInputVars"] == [{"name": "reason", "reason": "unknown query parameter"}]
    assert org.client.get(f"/api/call_rates/{rate_id}").status_code == 200
    assert org.client.request("DELETE", f"/api/call_rates/{rate_id}", **({"data": {}} if encoding == "form" else {"json": {}})).status_code == 200
    assert_error(org.client.get(f"/api/call_rates/{rate_id}"), 404)


@pytest.mark.parametrize("method", ["POST", "PATCH", "GET", "DELETE"])
def test_other_media_types_are_415(org, method):
    rate_id = create(org)
    path = "/api/call_rates" if method in ("POST", "GET") else f"/api/call_rates/{rate_id}"
    for media_type in ("text/plain", "application/xml", "text/csv"):
        response = org.client.request(method, path, content=b"prefix=44", headers={"content-type": media_type})
        body = assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
        assert media_type in body["message"]
    assert fetch(org, rate_id)["prefix"] == "44"


def test_body_without_content_type_is_415(org):
    response = org.client.post("/api/call_rates", content=b'{"prefix": "44"}', headers={"content-type": ""})
    assert_error(response, 415)


def test_malformed_json_is_400(org):
    rate_id = create(org)
    targets = [("POST", "/api/call_rates"), ("POST", "/api/call_rates?prefix=44"), ("GET", "/api/call_rates"),
               ("PATCH", f"/api/call_rates/{rate_id}"), ("DELETE", f"/api/call_rates/{rate_id}")]
    for method, path in targets:
        for raw in (b"{bad", b'{"prefix": "44",}', b"\xff\xfe"):
            response = org.client.request(method, path, content=raw, headers={"content-type": "application/json"})
            body = assert_error(response, 400)
            assert "JSON" in body["message"], (method, path, raw, body)
    assert fetch(org, rate_id)["prefix"] == "44"
    assert org.client.get("/api/call_rates").json()["count"] == 1


def test_json_that_is_not_an_object_is_422(org):
    for path in ("/api/call_rates", "/api/call_rates?prefix=44"):  # the fast path and the merging path
        for raw in (b"[1, 2]", b'"text"', b"42", b"null"):
            response = org.client.post(path, content=raw, headers={"content-type": "application/json"})
            body = assert_error(response, 422, "VALIDATION_FAILED")
            assert body["invalidInputVars"][0]["name"] == "body", (path, raw, body)
    assert org.client.get("/api/call_rates").json()["count"] == 0


def test_query_and_body_disagreeing_is_409(org):
    body = assert_error(org.client.post("/api/call_rates?price_1=0.02", json=rate()), 409, "CONFLICT")
    assert body["conflicts"] == ["price_1"] and "price_1" in body["message"]
    assert_error(org.client.post("/api/call_rates?prefix=33", data=form()), 409)
    assert_error(org.client.request("GET", "/api/call_rates?top=1", data={"top": "2"}), 409)
    assert_error(org.client.request("GET", "/api/call_rates?top=1", json={"top": 2}), 409)
    assert_error(org.client.get("/api/call_rates?top=1&top=2"), 409)
    assert org.client.get("/api/call_rates").json()["count"] == 0


def test_query_and_body_agreeing_is_fine(org):
    assert org.client.post("/api/call_rates?price_1=0.012&prefix=44", json=rate()).status_code == 200
    assert org.client.post("/api/call_rates?interval_1=60", data=form(prefix="33")).status_code == 200
    response = org.client.request("GET", "/api/call_rates?top=1", json={"top": 1})
    assert response.status_code == 200 and response.json()["meta"]["top"] == 1


@pytest.mark.parametrize("verb", ["POST", "GET"])
def test_method_override_deletes_with_bearer(org, verb):
    rate_id = create(org)
    response = org.client.request(verb, f"/api/call_rates/{rate_id}?_method=DELETE")
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "guid": response.headers["x-request-id"]}
    assert_error(org.client.get(f"/api/call_rates/{rate_id}"), 404)


def test_method_override_with_access_token_and_form_body(org):
    rate_id = create(org)
    with httpx.Client(base_url=org.server.url) as anonymous:
        response = anonymous.post(
            f"/api/call_rates/{rate_id}", params={"_method": "patch", "access_token": org.token}, data={"price_1": "0.5"}
        )
    assert response.status_code == 200, response.text
    assert fetch(org, rate_id)["price_1"] == 0.5


def test_method_override_refused_for_console_user(org):
    rate_id = create(org)
    with org.server.client(auth=(org.admin_email, org.admin_password)) as console:
        assert console.get(f"/api/call_rates/{rate_id}").status_code == 200  # Basic itself works
        body = assert_error(console.post(f"/api/call_rates/{rate_id}?_method=DELETE"), 400)
        assert "_method" in body["message"]
        assert_error(console.get(f"/api/call_rates/{rate_id}?_method=DELETE"), 400)
    assert fetch(org, rate_id)["prefix"] == "44"


def test_head_answers_like_get_without_a_body(org):
    rate_id = create(org)
    got = org.client.get(f"/api/call_rates/{rate_id}")
    head = org.client.head(f"/api/call_rates/{rate_id}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert "x-ratelimit-remaining" in head.headers and "x-request-id" in head.headers
    assert org.client.head("/api/call_rates/AAAA").status_code == 404


def test_unknown_method_override_is_400(org):
    rate_id = create(org)
    for value in ("BOGUS", "HEAD", "OPTIONS", ""):
        body = assert_error(org.client.post(f"/api/call_rates/{rate_id}?_method={value}"), 400)
        assert "_method" in body["message"]
    assert fetch(org, rate_id)["prefix"] == "44"


def test_method_override_only_from_get_or_post(org):
    rate_id = create(org)
    assert_error(org.client.patch(f"/api/call_rates/{rate_id}?_method=DELETE", json={"price_1": 1}), 400)
    assert fetch(org, rate_id)["price_1"] == 0.012


def test_media_type_parameters_and_case_are_accepted(org):
    json_body = b'{"prefix": "1", "free_seconds": 0, "grace_period": 0, "interval_1": 60, "interval_n": 6, ' \
        b'"connect_fee": 0, "postcall_surcharge": 0, "price_1": 0.012, "price_n": 0.012}'
    for prefix, media_type in (("1", "application/json; charset=utf-8"), ("2", "Application/JSON"), ("3", "application/vnd.api+json")):
        response = org.client.post(
            "/api/call_rates", content=json_body.replace(b'"1"', f'"{prefix}"'.encode()), headers={"content-type": media_type}
        )
        assert response.status_code == 200, (media_type, response.text)
    form_body = "&".join(f"{k}={v}" for k, v in form(prefix="4").items() if k != "description").encode()
    response = org.client.post(
        "/api/call_rates", content=form_body, headers={"content-type": "Application/X-WWW-Form-Urlencoded; charset=utf-8"}
    )
    assert response.status_code == 200, response.text
    assert org.client.get("/api/call_rates").json()["count"] == 4


def test_method_override_to_get_reads_a_form_body_as_list_params(org):
    create(org, prefix="44")
    create(org, prefix="33")
    response = org.client.post("/api/call_rates?_method=GET", data={"top": "1", "orderby": "prefix desc"})
    assert response.status_code == 200, response.text
    assert [item["prefix"] for item in response.json()["items"]] == ["44"]
    assert org.client.get("/api/call_rates").json()["count"] == 2
