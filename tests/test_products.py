"""`/api/products` over HTTP: catalog exactly, enabling per organization, scopes."""

from datetime import datetime

from tests.helpers import assert_error, make_token

CATALOG = [
    ("ENT", "SMS A2P Enterprise"),
    ("BNK", "SMS A2P Banking"),
    ("MKT", "SMS A2P Marketing"),
    ("GMS", "Global mobile number (SMS)"),
    ("A2P", "SMS A2P"),
    ("DIR", "SMS A2P Direct"),
    ("IBN", "Cloud Numbers"),
    ("SIPT", "Outbound voice"),
    ("ITFS", "International Freephone"),
    ("GMN", "Global mobile number (Voice)"),
    ("WAP", "Whatsapp Messaging"),
    ("RCS", "RCS Messaging"),
]


def test_catalog_is_listed_exactly_and_all_disabled_at_first(org):
    response = org.client.get("/api/products")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["count"] == 12
    assert [(p["code"], p["name"]) for p in body["items"]] == CATALOG
    assert all(p["enabled"] is False and p["enabled_at"] is None for p in body["items"])
    assert body["meta"] == {"skip": 0, "top": 100, "has_more": False}


def test_paging_search_and_enabled_filter(org):
    first = org.client.get("/api/products", params={"top": 5})
    assert [p["code"] for p in first.json()["items"]] == ["ENT", "BNK", "MKT", "GMS", "A2P"]
    assert first.json()["meta"]["has_more"] is True and 'rel="next"' in first.headers["link"]
    last = org.client.get("/api/products", params={"offset": 10, "limit": 5}).json()
    assert [p["code"] for p in last["items"]] == ["WAP", "RCS"] and last["meta"]["has_more"] is False
    found = org.client.get("/api/products", params={"search": "global mobile"}).json()
    assert [p["code"] for p in found["items"]] == ["GMS", "GMN"] and found["count"] == 2
    assert org.client.patch("/api/products/RCS", json={"enabled": True}).status_code == 200
    assert [p["code"] for p in org.client.get("/api/products?enabled=true").json()["items"]] == ["RCS"]
    assert org.client.get("/api/products?enabled=false").json()["count"] == 11


def test_the_catalog_is_listed_like_every_other_resource(org):
    """filter, orderby and search run in the database over the catalog and the organization's choices."""
    assert org.client.patch("/api/products/WAP", json={"enabled": True}).status_code == 200
    assert org.client.patch("/api/products/ENT", json={"enabled": True}).status_code == 200
    enabled = org.client.get("/api/products", params={"filter": "enabled eq true", "orderby": "code desc"}).json()
    assert [p["code"] for p in enabled["items"]] == ["WAP", "ENT"]
    by_name = org.client.get("/api/products", params={"filter": "startswith(name, 'SMS A2P')", "orderby": "name"}).json()
    assert [p["name"] for p in by_name["items"]] == ["SMS A2P", "SMS A2P Banking", "SMS A2P Direct", "SMS A2P Enterprise", "SMS A2P Marketing"]
    assert org.client.get("/api/products", params={"filter": "enabled_at eq null"}).json()["count"] == 10
    assert [p["code"] for p in org.client.get("/api/products", params={"top": 3}).json()["items"]] == ["ENT", "BNK", "MKT"]  # the catalog's order
    body = assert_error(org.client.get("/api/products", params={"filter": "price eq 1"}), 400, "INVALID_QUERY")
    assert body["invalidInputVars"][0]["name"] == "filter"


def test_retrieve_one_and_unknown_is_404(org):
    response = org.client.get("/api/products/SIPT")
    assert response.json() == {"code": "SIPT", "name": "Outbound voice", "enabled": False, "enabled_at": None}
    assert org.client.get("/api/products/sipt").json()["code"] == "SIPT"
    assert_error(org.client.get("/api/products/NOPE"), 404, "NOT_FOUND")
    assert_error(org.client.patch("/api/products/NOPE", json={"enabled": True}), 404, "NOT_FOUND")


def test_enable_and_disable_are_idempotent(org):
    response = org.client.patch("/api/products/SIPT", json={"enabled": True})
    assert response.status_code == 200 and response.json()["success"] is True
    enabled = org.client.get("/api/products/SIPT").json()
    assert enabled["enabled"] is True
    datetime.fromisoformat(enabled["enabled_at"])
    # PUT and POST (form encoded too) do the same; enabling again keeps the first enabled_at.
    assert org.client.put("/api/products/SIPT", json={"enabled": True}).status_code == 200
    assert org.client.post("/api/products/SIPT", data={"enabled": "true"}).status_code == 200
    assert org.client.get("/api/products/SIPT").json()["enabled_at"] == enabled["enabled_at"]
    assert org.client.patch("/api/products/SIPT", json={"enabled": False}).status_code == 200
    assert org.client.patch("/api/products/SIPT", json={"enabled": False}).status_code == 200
    assert org.client.get("/api/products/SIPT").json() == {
        "code": "SIPT", "name": "Outbound voice", "enabled": False, "enabled_at": None
    }


def test_update_body_is_validated(org):
    assert assert_error(org.client.patch("/api/products/ENT", json={}), 400, "MISSING_REQUIRED_PARAMS")["missingInputVars"] == ["enabled"]
    assert_error(org.client.patch("/api/products/ENT", json={"enabled": "maybe"}), 422)
    body = assert_error(org.client.patch("/api/products/ENT", json={"enabled": True, "name": "x"}), 422)
    assert body["invalidInputVars"] == [{"name": "name", "reason": "read-only field"}]


def test_organizations_are_isolated(org, other_org):
    assert org.client.patch("/api/products/WAP", json={"enabled": True}).status_code == 200
    assert other_org.client.get("/api/products/WAP").json()["enabled"] is False
    assert other_org.client.get("/api/products?enabled=true").json()["count"] == 0
    assert org.client.get("/api/products?enabled=true").json()["count"] == 1


def test_scopes(org):
    _, reader = make_token(org.client, ["products.read"])
    _, stranger = make_token(org.client, ["call_rates.*"])
    with org.server.client(reader) as client:
        assert client.get("/api/products").status_code == 200
        assert client.get("/api/products/ENT").status_code == 200
        assert_error(client.patch("/api/products/ENT", json={"enabled": True}), 403)
    with org.server.client(stranger) as client:
        assert_error(client.get("/api/products"), 403)
        assert_error(client.get("/api/products/ENT"), 403)
    assert_error(org.server.client().get("/api/products"), 401)
    assert org.client.get("/api/products/ENT").json()["enabled"] is False
