"""`/api/call_rates` over HTTP on every backend."""

import base64

import pytest

from tests.helpers import assert_error, rate


def test_create_get_roundtrip_exact_money(org):
    response = org.client.post("/api/call_rates", json=rate(price_1="0.01234", connect_fee=0.5))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["guid"] == response.headers["x-request-id"]
    assert base64.b64decode(body["id"]).isdigit()
    got = org.client.get(f"/api/call_rates/{body['id']}")
    assert got.status_code == 200
    assert '"price_1":0.01234' in got.text and '"connect_fee":0.50000' in got.text
    item = got.json()
    assert item["prefix"] == "44" and item["type"] == "INTERNATIONAL" and item["id"] == body["id"]


def test_type_defaults_to_local(org):
    fields = rate(prefix="1")
    del fields["type"]
    rate_id = org.client.post("/api/call_rates", json=fields).json()["id"]
    assert org.client.get(f"/api/call_rates/{rate_id}").json()["type"] == "LOCAL"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_1", "0.000001"),
        ("price_n", 1.123456),
        ("connect_fee", -1),
        ("interval_1", 0),
        ("interval_n", 0),
        ("free_seconds", -1),
        ("grace_period", -5),
        ("prefix", "44a"),
        ("prefix", "1" * 65),
        ("type", "PREMIUM"),
        ("description", "x" * 1025),
        ("price_1", "NaN"),
    ],
)
def test_bounds_are_422_naming_the_field(org, field, value):
    body = assert_error(org.client.post("/api/call_rates", json=rate(**{field: value})), 422, "VALIDATION_FAILED")
    assert [v["name"] for v in body["invalidInputVars"]] == [field]
    assert org.client.get("/api/call_rates").json()["count"] == 0


def test_missing_fields_are_400_listing_them(org):
    body = assert_error(org.client.post("/api/call_rates", json={"prefix": "44"}), 400, "MISSING_REQUIRED_PARAMS")
    assert set(body["missingInputVars"]) == {
        "free_seconds", "grace_period", "interval_1", "interval_n", "connect_fee", "postcall_surcharge", "price_1", "price_n"
    }


def test_unknown_and_read_only_fields_are_422(org):
    body = assert_error(org.client.post("/api/call_rates", json=rate(colour="red")), 422)
    assert body["invalidInputVars"] == [{"name": "colour", "reason": "unknown field"}]
    body = assert_error(org.client.post("/api/call_rates", json=rate(id="NzAw")), 422)
    assert body["invalidInputVars"] == [{"name": "id", "reason": "read-only field"}]


def test_duplicate_prefix_is_409_and_unique_per_org(org, other_org):
    assert org.client.post("/api/call_rates", json=rate()).status_code == 200
    assert_error(org.client.post("/api/call_rates", json=rate()), 409, "DUPLICATE_PREFIX")
    assert other_org.client.post("/api/call_rates", json=rate()).status_code == 200


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT"])
def test_update_by_each_verb(org, method):
    rate_id = org.client.post("/api/call_rates", json=rate()).json()["id"]
    response = org.client.request(method, f"/api/call_rates/{rate_id}", json={"price_n": "0.02", "description": None})
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    item = org.client.get(f"/api/call_rates/{rate_id}").json()
    assert item["price_n"] == 0.02 and item["description"] is None and item["price_1"] == 0.012


def test_update_refuses_bad_values_and_changes_nothing(org):
    rate_id = org.client.post("/api/call_rates", json=rate()).json()["id"]
    org.client.post("/api/call_rates", json=rate(prefix="33"))
    assert_error(org.client.patch(f"/api/call_rates/{rate_id}", json={"prefix": "33"}), 409)
    assert_error(org.client.patch(f"/api/call_rates/{rate_id}", json={"interval_1": None}), 422)
    assert_error(org.client.patch(f"/api/call_rates/{rate_id}", json={"price_1": "1.0000001"}), 422)
    assert_error(org.client.patch(f"/api/call_rates/{rate_id}", json={}), 400)
    assert org.client.get(f"/api/call_rates/{rate_id}").json()["prefix"] == "44"


def test_delete(org):
    rate_id = org.client.post("/api/call_rates", json=rate()).json()["id"]
    assert org.client.delete(f"/api/call_rates/{rate_id}").json()["success"] is True
    assert_error(org.client.get(f"/api/call_rates/{rate_id}"), 404, "NOT_FOUND")
    assert_error(org.client.delete(f"/api/call_rates/{rate_id}"), 404)


def test_other_org_sees_404(org, other_org):
    rate_id = org.client.post("/api/call_rates", json=rate()).json()["id"]
    assert_error(other_org.client.get(f"/api/call_rates/{rate_id}"), 404)
    assert_error(other_org.client.patch(f"/api/call_rates/{rate_id}", json={"price_1": 1}), 404)
    assert_error(other_org.client.delete(f"/api/call_rates/{rate_id}"), 404)
    assert other_org.client.get("/api/call_rates").json()["count"] == 0
    assert org.client.get(f"/api/call_rates/{rate_id}").status_code == 200


@pytest.mark.parametrize("bad_id", ["nope", "MTIz!", "MDEy", base64.b64encode(b"9" * 30).decode()])
def test_malformed_ids_are_404(org, bad_id):
    assert_error(org.client.get(f"/api/call_rates/{bad_id}"), 404)


def test_list_totals_follow_every_change_of_the_deck(org):
    """A list's total is kept per deck version: every committed change (create, update, import,
    delete) is in the next page's count, filtered or not."""

    def counts() -> tuple[int, int]:
        whole = org.client.get("/api/call_rates", params={"top": 1}).json()["count"]
        uk = org.client.get("/api/call_rates", params={"filter": "startswith(prefix, '44')", "top": 1}).json()["count"]
        return whole, uk

    assert counts() == (0, 0)
    first = org.client.post("/api/call_rates", json=rate(prefix="441")).json()["id"]
    assert counts() == (1, 1)
    assert org.client.patch(f"/api/call_rates/{first}", json={"prefix": "491"}).status_code == 200
    assert counts() == (1, 0)
    imported = org.client.post("/api/call_rates/import", content=b"prefix,interval_1,interval_n,price_1,price_n\n442,60,60,0.01,0.01\n443,60,60,0.01,0.01\n", headers={"content-type": "text/csv"})
    assert imported.status_code == 200, imported.text
    assert counts() == (3, 2)
    assert org.client.delete(f"/api/call_rates/{first}").status_code == 200
    assert counts() == (2, 2)
