"""Messages sent end to end: the real server's dispatcher binds to `trunkline smsc-simulator`, run
as its own process on another SMPP codec, and every state comes from what the SMSC answered."""

import re
import time
from collections.abc import Iterator

import pytest

from tests.helpers import assert_error, ok
from tests.test_messages import sms_account
from tests.test_smsc_simulator import Simulator, fresh, started

PASSWORD = "s3cret"


@pytest.fixture(scope="module")
def smsc() -> Iterator[Simulator]:
    with started("--system-id", "acme", "--password", PASSWORD, "--receipt-delay", "0.05") as simulator:
        yield simulator


@pytest.fixture
def sim(smsc: Simulator) -> Simulator:
    return fresh(smsc)


def submits(sim: Simulator) -> list[dict]:
    """What the simulator accepted during this test."""
    return sim.get("/submits", since=sim.since, limit=1000)["submits"]


@pytest.fixture
def texting(org, sim):
    return texting_on(org, sim)


def texting_on(org, sim):
    """The organization with A2P, MKT and GMS on, and one route for everything to the simulator."""
    for product in ("A2P", "MKT", "GMS"):
        ok(org.client.patch(f"/api/products/{product}", json={"enabled": True}))
    connection = ok(org.client.post("/api/smsc_connections", json={
        "name": "Simulator", "host": "127.0.0.1", "port": sim.port, "system_id": "acme", "password": PASSWORD, "window_size": 50,
    }))
    ok(org.client.post("/api/sms_routes", json={"connection_id": connection["id"], "prefix": ""}))
    return org


def wait_for(client, message_id: str, *statuses: str, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        message = ok(client.get(f"/api/messages/{message_id}"))
        if message["status"] in statuses:
            return message
        assert time.monotonic() < deadline, f"still {message['status']}: {message['events']}"
        time.sleep(0.05)


def send(client, **fields) -> list[dict]:
    answer = client.post("/api/messages", json={"product": "A2P", "from": "Trunkline", "to": "+447700900123", "text": "Hello there", **fields})
    assert answer.status_code == 202, answer.text
    return answer.json()["messages"]


def test_a_message_goes_accepted_queued_submitted_delivered_and_stays_charged(texting, sim):
    account = sms_account(texting.client, balance="1", price="0.05")
    sent = send(texting.client, account_id=account["account_id"], validity=3600)[0]
    message = wait_for(texting.client, sent["id"], "delivered")
    assert [event["status"] for event in message["events"]] == ["accepted", "queued", "submitted", "delivered"]
    submitted = next(event for event in message["events"] if event["status"] == "submitted")
    sent_out = submits(sim)
    assert [(s["destination_addr"], s["text"], s["data_coding"], s["source_addr"], s["source_addr_ton"]) for s in sent_out] == [
        ("447700900123", "Hello there", 0, "Trunkline", 5),  # an alphanumeric sender goes as TON 5
    ]
    assert sent_out[0]["message_id"] in submitted["detail"]
    assert re.fullmatch(r"0000000(10000|059[0-5]\d)000R", sent_out[0]["validity_period"])  # what is left of the hour, relative (SMPP 7.1.1)
    assert ok(texting.client.get(f"/api/accounts/{account['id']}"))["balance"] == 0.95


def test_a_long_unicode_message_goes_in_parts_and_is_delivered_when_every_part_is(texting, sim):
    text = "Доставка завтра между 10 и 12 часами. Ответьте, если время не подходит. Спасибо!"  # 81 UCS-2 units
    sent = send(texting.client, text=text)[0]
    assert (sent["encoding"], sent["segments"]) == ("UCS2", 2)
    wait_for(texting.client, sent["id"], "delivered")
    parts = submits(sim)
    assert [(s["esm_class"] & 0x40, s["data_coding"]) for s in parts] == [(0x40, 8), (0x40, 8)]
    assert "".join(s["text"] for s in parts) == text


@pytest.mark.parametrize(("stat", "status", "code"), [("UNDELIV", "undeliverable", 1), ("EXPIRED", "expired", 27), ("REJECTD", "rejected", 98)])
def test_receipts_end_a_message_with_the_smscs_state_and_error(texting, sim, stat, status, code):
    account = sms_account(texting.client, balance="1", price="0.05")
    sim.post("/behaviour", {"receipt_rules": [{"prefix": "4477009", "stat": stat, "err": code}]})
    sent = send(texting.client, account_id=account["account_id"])[0]
    message = wait_for(texting.client, sent["id"], status)
    assert message["error_code"] == code and message["done_at"]
    refunded = status == "rejected"  # the SMSC refused it: it costs nothing; undelivered and expired ones were carried
    assert ok(texting.client.get(f"/api/accounts/{account['id']}"))["balance"] == (1 if refunded else 0.95)


def test_a_permanent_smsc_error_fails_the_message_with_its_code_and_refunds_it(texting, sim):
    account = sms_account(texting.client, balance="1", price="0.05")
    sim.post("/behaviour", {"reject_rules": [{"prefix": "447700900", "status": "ESME_RINVDSTADR"}]})
    sent = send(texting.client, account_id=account["account_id"])[0]
    message = wait_for(texting.client, sent["id"], "failed")
    assert message["error_code"] == 0x0B
    assert ok(texting.client.get(f"/api/accounts/{account['id']}"))["balance"] == 1
    ledger = ok(texting.client.get(f"/api/accounts/{account['id']}/transactions"))["items"]
    assert [(entry["kind"], entry["amount"]) for entry in ledger][:2] == [("message_refund", 0.05), ("messages", -0.05)]


def test_throttled_and_queue_full_answers_are_retried_later(texting, sim):
    sim.post("/fail-next", {"status": "throttled", "count": 1})
    first = send(texting.client)[0]
    message = wait_for(texting.client, first["id"], "delivered")
    assert [event["status"] for event in message["events"]].count("queued") == 2  # queued, then queued again to retry
    assert any(event["error_code"] == 0x58 for event in message["events"])
    sim.post("/fail-next", {"status": "queue_full", "count": 1})
    second = send(texting.client)[0]
    assert any(event["error_code"] == 0x14 for event in wait_for(texting.client, second["id"], "delivered")["events"])


@pytest.mark.parametrize("quirk", [{"decimal_receipt_ids": True}, {"receipt_before_response": True}, {"decimal_receipt_ids": True, "receipt_before_response": True}])
def test_receipts_find_their_message_despite_smsc_quirks(texting, sim, quirk):
    sim.post("/behaviour", quirk)
    sent = send(texting.client, to=["+447700900123", "+447700900124", "+447700900125"])
    for message in sent:
        wait_for(texting.client, message["id"], "delivered")


def test_a_dropped_connection_loses_nothing(texting, sim):
    sim.post("/disconnect", {"after_submits": 2})  # the next two submits are never answered, then the line drops
    sent = send(texting.client, to=[f"+4477009001{n:02d}" for n in range(6)])
    for message in sent:
        wait_for(texting.client, message["id"], "delivered", seconds=40)
    delivered = {s["destination_addr"] for s in submits(sim)}
    assert delivered == {f"4477009001{n:02d}" for n in range(6)}


def test_inbound_messages_are_stored_and_stop_opts_the_sender_out_of_marketing(org):
    """On an SMSC of its own: the simulator hands an MO to any receiver bound with its system_id,
    and the other tests' organizations are bound to the shared one."""
    with started("--system-id", "acme", "--password", PASSWORD) as own:
        inbound_flow(texting_on(org, own), own)


def inbound_flow(texting, sim) -> None:
    send(texting.client)  # binds the session that receives
    sim.post("/mo", {"source_addr": "447700900555", "destination_addr": "447860012345", "text": "Is the shop open on Sunday?"})
    long_reply = "Ответ: " + "да, " * 40
    sim.post("/mo", {"source_addr": "447700900556", "destination_addr": "447860012345", "text": long_reply})
    sim.post("/mo", {"source_addr": "447700900555", "destination_addr": "447860012345", "text": " stop "})
    deadline = time.monotonic() + 20
    while ok(texting.client.get("/api/messages", params={"filter": "direction eq 'in'"}))["count"] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    received = ok(texting.client.get("/api/messages", params={"filter": "direction eq 'in'", "orderby": "id"}))["items"]
    assert [(m["from"], m["to"], m["text"], m["status"], m["product"]) for m in received] == [
        ("447700900555", "447860012345", "Is the shop open on Sunday?", "received", "GMS"),
        ("447700900556", "447860012345", long_reply, "received", "GMS"),
        ("447700900555", "447860012345", " stop ", "received", "GMS"),
    ]
    body = assert_error(send_raw(texting.client, product="MKT", to="+447700900555"), 422)
    assert body["invalidInputVars"] == [{"name": "to", "reason": "447700900555 opted out of marketing messages"}]
    assert send_raw(texting.client, product="A2P", to="+447700900555").status_code == 202  # only marketing is refused


def send_raw(client, **fields):
    return client.post("/api/messages", json={"product": "A2P", "from": "Trunkline", "to": "+447700900123", "text": "Sale!", **fields})


def test_a_scheduled_message_waits_for_its_time(texting, sim):
    sent = send(texting.client, scheduled_at="2999-01-01T00:00:00Z")[0]
    time.sleep(1.5)
    assert ok(texting.client.get(f"/api/messages/{sent['id']}"))["status"] == "accepted"
    assert submits(sim) == []
