"""Sending SMS over HTTP: what is accepted, what it costs, what is refused (and then nothing is
stored or charged). Delivery through a real SMSC is in tests/test_messaging_smpp.py."""

from decimal import Decimal

from tests.helpers import assert_error, ok, rate

SMSC = {"name": "Main SMSC", "host": "127.0.0.1", "port": 2775, "system_id": "esme", "password": "secret1"}


def smsc_route(client, prefix: str = "", product: str | None = None) -> dict:
    connection = ok(client.post("/api/smsc_connections", json={**SMSC, "name": f"SMSC {prefix or 'all'} {product}"}))
    ok(client.post("/api/sms_routes", json={"connection_id": connection["id"], "prefix": prefix, "product": product}))
    return connection


def sms_account(client, balance: str = "1", price: str = "0.05", prefix: str = "44", account_type: str = "prepaid") -> dict:
    """A prepaid account on an SMS plan charging `price` per segment to `prefix`."""
    plan = ok(client.post("/api/rate_plans", json={"name": f"SMS {prefix} {price}", "service": "sms"}))
    ok(client.post("/api/call_rates", json=rate(rate_plan_id=plan["id"], prefix=prefix, price_1=price, price_n=price)))
    account = ok(client.post("/api/accounts", json={"account_id": f"sms-{prefix}-{price}", "name": "Texts", "type": account_type, "sms_rate_plan_id": plan["id"]}))
    ok(client.post(f"/api/accounts/{account['id']}/credit", json={"amount": balance}))
    return account


def send(client, **fields):
    return client.post("/api/messages", json={"product": "A2P", "from": "Trunkline", "to": "+447700900123", "text": "Your code is 1234", **fields})


def test_nothing_is_sent_without_an_smsc_connection(org):
    ok(org.client.patch("/api/products/A2P", json={"enabled": True}))
    body = assert_error(send(org.client), 409, "NO_SMSC_CONNECTION")
    assert "+447700900123" in body["message"] and "/api/smsc_connections" in body["message"]
    assert ok(org.client.get("/api/messages"))["count"] == 0


def test_a_product_must_be_enabled(org):
    smsc_route(org.client)
    assert_error(send(org.client), 403, "PRODUCT_DISABLED")


def test_accepted_messages_show_encoding_segments_and_price_and_are_reserved(org):
    ok(org.client.patch("/api/products/A2P", json={"enabled": True}))
    smsc_route(org.client)
    account = sms_account(org.client, balance="1", price="0.05")
    long_unicode = "Привет! " * 10  # 80 UCS-2 units: two segments of 67
    answer = org.client.post("/api/messages", json={
        "product": "A2P", "from": "Trunkline", "to": ["+447700900123", "447700900124"], "text": long_unicode, "account_id": account["account_id"],
        "client_ref": "order-17",
    })
    assert answer.status_code == 202, answer.text
    accepted = answer.json()["messages"]
    assert [(m["to"], m["status"], m["encoding"], m["segments"], Decimal(str(m["price"]))) for m in accepted] == [
        ("447700900123", "accepted", "UCS2", 2, Decimal("0.1")), ("447700900124", "accepted", "UCS2", 2, Decimal("0.1")),
    ]
    assert ok(org.client.get(f"/api/accounts/{account['id']}"))["balance"] == 0.8
    ledger = ok(org.client.get(f"/api/accounts/{account['id']}/transactions"))["items"]
    assert [(entry["kind"], entry["amount"]) for entry in ledger][:1] == [("messages", -0.2)]
    message = ok(org.client.get(f"/api/messages/{accepted[0]['id']}"))
    assert message["from"] == "Trunkline" and message["client_ref"] == "order-17" and message["account_id"] == account["account_id"]
    assert message["events"][0]["status"] == "accepted"  # then queued: no SMSC listens in this test
    found = ok(org.client.get("/api/messages", params={"filter": "client_ref eq 'order-17' and to eq '447700900124'"}))
    assert [m["id"] for m in found["items"]] == [accepted[1]["id"]]
    assert ok(org.client.get("/api/messages", params={"search": "Привет"}))["count"] == 2


def test_insufficient_balance_refuses_the_whole_request_and_stores_nothing(org):
    ok(org.client.patch("/api/products/A2P", json={"enabled": True}))
    smsc_route(org.client)
    account = sms_account(org.client, balance="0.09", price="0.05")
    body = assert_error(send(org.client, to=["447700900123", "447700900124"], account_id=account["account_id"]), 402, "INSUFFICIENT_BALANCE")
    assert account["account_id"] in body["message"]
    assert ok(org.client.get(f"/api/accounts/{account['id']}"))["balance"] == 0.09
    assert ok(org.client.get("/api/messages"))["count"] == 0
    assert send(org.client, account_id=account["account_id"]).status_code == 202  # one message it can pay for


def test_unpriceable_and_unknown_refusals_name_the_field(org):
    ok(org.client.patch("/api/products/A2P", json={"enabled": True}))
    smsc_route(org.client)
    account = sms_account(org.client, prefix="44")
    body = assert_error(send(org.client, to="+33612345678", account_id=account["account_id"]), 422)
    assert body["invalidInputVars"] == [{"name": "to", "reason": "the account's SMS plan has no rate for 33612345678"}]
    assert_error(send(org.client, account_id="nobody"), 422)
    assert_error(send(org.client, **{"from": "not a valid sender!"}), 422)
    assert_error(send(org.client, text=""), 422)
    assert_error(send(org.client, text="x" * 1601), 422)
    assert ok(org.client.get("/api/messages"))["count"] == 0


def test_routes_pick_the_connection_by_product_and_prefix(org):
    for product in ("A2P", "MKT"):
        ok(org.client.patch(f"/api/products/{product}", json={"enabled": True}))
    smsc_route(org.client, prefix="44", product="MKT")
    assert_error(send(org.client, product="A2P"), 409, "NO_SMSC_CONNECTION")  # only marketing goes to 44
    assert send(org.client, product="MKT").status_code == 202
    assert_error(send(org.client, product="MKT", to="+33612345678"), 409, "NO_SMSC_CONNECTION")


def test_preview_counts_gsm_extension_characters_double_and_prices(org):
    account = sms_account(org.client, price="0.04")
    counted = ok(org.client.post("/api/messages/preview", json={"text": "€" * 80}))  # 160 septets: one segment
    assert (counted["encoding"], counted["units"], counted["segments"], counted["per_segment"], counted["price"]) == ("GSM7", 160, 1, 160, None)
    counted = ok(org.client.post("/api/messages/preview", json={"text": "€" * 81, "to": "+447700900123", "account_id": account["account_id"]}))
    assert (counted["segments"], counted["per_segment"], Decimal(str(counted["price"])), counted["currency"]) == (2, 153, Decimal("0.08"), "USD")


def test_messages_are_confined_to_their_organization(org, other_org):
    ok(org.client.patch("/api/products/A2P", json={"enabled": True}))
    smsc_route(org.client)
    sent = send(org.client).json()["messages"][0]
    assert_error(other_org.client.get(f"/api/messages/{sent['id']}"), 404)
    assert ok(other_org.client.get("/api/messages"))["count"] == 0
