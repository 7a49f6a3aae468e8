"""One rule for every answer: a stored resource read by GET comes bare; everything else
(creates, updates, deletes, actions and computed answers) comes in the envelope
{success, guid, …}, and creates and updates carry the object as now stored."""

from tests.helpers import ok, rate


def test_creates_and_updates_return_the_stored_object(org):
    created = ok(org.client.post("/api/call_rates", json=rate(prefix="44")))
    assert created["success"] is True and created["guid"] and created["prefix"] == "44" and created["price_1"] == 0.012
    shown = ok(org.client.get(f"/api/call_rates/{created['id']}"))
    assert "success" not in shown and {k: created[k] for k in shown} == shown
    updated = ok(org.client.patch(f"/api/call_rates/{created['id']}", json={"price_1": "0.02"}))
    assert updated["price_1"] == 0.02 and updated["id"] == created["id"] and updated["success"] is True

    account = ok(org.client.post("/api/accounts", json={"account_id": "A1", "name": "A"}))
    assert (account["account_id"], account["balance"], account["type"]) == ("A1", 0, "prepaid")
    assert ok(org.client.put(f"/api/accounts/{account['id']}", json={"name": "Renamed"}))["name"] == "Renamed"

    token = ok(org.client.post("/api/tokens", json={"name": "t", "scopes": ["calls.read"]}))
    assert token["token"].startswith("tl_") and token["scopes"] == ["calls.read"] and token["name"] == "t"
    endpoint = ok(org.client.post("/api/endpoints", json={"name": "fs", "type": "cdr_push"}))
    assert endpoint["password"] and endpoint["login"].startswith("ep_") and endpoint["timezone"] == "UTC"
    assert ok(org.client.patch(f"/api/endpoints/{endpoint['id']}", json={"billed_leg": "b"}))["billed_leg"] == "b"
    product = ok(org.client.patch("/api/products/SIPT", json={"enabled": True}))
    assert product["code"] == "SIPT" and product["enabled"] is True and product["success"] is True


def test_computed_answers_come_in_the_envelope(org):
    ok(org.client.post("/api/call_rates", json=rate(prefix="44")))
    quote = ok(org.client.get("/api/call_rates/quote", params={"number": "441", "duration": 60}))
    assert quote["success"] is True and quote["guid"] and quote["cost"] == 0.012
