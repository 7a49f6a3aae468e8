"""A message's callback_url: each state it reaches is POSTed there, signed per Standard Webhooks,
through the organization's webhook with that URL (or one made for it), once per state."""

import time

from tests.harness import new_org
from tests.helpers import assert_error, ok
from tests.test_messaging_smpp import PASSWORD, sim, smsc, texting, texting_on, wait_for  # noqa: F401 (fixtures)
from tests.test_smsc_simulator import started
from tests.test_webhooks import live, receiver  # noqa: F401 (fixtures)
from trunkline.webhooks.service import CALLBACK_DESCRIPTION

STATES = ["accepted", "queued", "submitted", "delivered"]


def send(client, **fields) -> str:
    answer = client.post("/api/messages", json={"product": "A2P", "from": "Trunkline", "to": "+447700900123", "text": "Your parcel is on its way", **fields})
    assert answer.status_code == 202, answer.text
    return answer.json()["messages"][0]["id"]


def heard(receiver, count: int, secret: str) -> list[dict]:
    """The first `count` events the receiver got, each once its signature checks out, by status."""
    events = [received.verify(secret) for received in receiver.wait_for(count)]
    return sorted(events, key=lambda event: STATES.index(event["type"].removeprefix("message.")))


def test_a_registered_webhook_signs_each_state_of_the_messages_naming_it_once(live, receiver):  # noqa: F811
    org = new_org(live.server)
    # no event types: it hears only callbacks; one that also took message.delivered would not hear it twice
    hook = ok(org.client.post("/api/webhooks", json={"url": receiver.url, "event_types": ["message.delivered"]}))
    with started("--system-id", "acme", "--password", PASSWORD, "--receipt-delay", "0.05") as own:
        texting_on(org, own)
        plain = send(org.client)
        message_id = send(org.client, callback_url=receiver.url, client_ref="order-7")
        wait_for(org.client, message_id, "delivered")
        wait_for(org.client, plain, "delivered")
        events = heard(receiver, 5, hook["secret"])
    time.sleep(0.5)
    assert len(receiver.received) == 5  # the plain message's delivered, and four states of the other
    plain_delivered = [event for event in events if event["data"]["id"] == plain]
    assert [event["type"] for event in plain_delivered] == ["message.delivered"]
    own_events = [event for event in events if event["data"]["id"] == message_id]
    assert [event["type"] for event in own_events] == [f"message.{state}" for state in STATES]
    assert {(event["data"]["client_ref"], event["data"]["callback_url"], event["data"]["status"]) for event in own_events} == {
        ("order-7", receiver.url, state) for state in STATES
    }
    assert [found["id"] for found in ok(org.client.get("/api/webhooks"))["items"]] == [hook["id"]]  # no second webhook


def test_an_unregistered_callback_url_gets_its_own_webhook_whose_secret_a_rotation_reveals(live, receiver):  # noqa: F811
    org = new_org(live.server)
    with started("--system-id", "acme", "--password", PASSWORD, "--receipt-delay", "0.05") as own:
        texting_on(org, own)
        first = send(org.client, callback_url=receiver.url)
        [made] = ok(org.client.get("/api/webhooks"))["items"]
        assert (made["url"], made["event_types"], made["description"], made["enabled"]) == (receiver.url, [], CALLBACK_DESCRIPTION, True)
        wait_for(org.client, first, "delivered")
        receiver.wait_for(4)
        secret = ok(org.client.post(f"/api/webhooks/{made['id']}/rotate"))["secret"]
        second = send(org.client, callback_url=receiver.url)
        wait_for(org.client, second, "delivered")
        receiver.wait_for(8)
    later = [received.verify(secret) for received in receiver.received[4:]]
    assert sorted(event["type"] for event in later) == sorted(f"message.{state}" for state in STATES)
    assert {event["data"]["id"] for event in later} == {second}
    assert len(ok(org.client.get("/api/webhooks"))["items"]) == 1  # the second message reused it


def test_a_callback_url_that_is_not_public_or_not_http_is_refused_and_nothing_is_stored(texting):
    for url, reason in (("ftp://example.com/status", "http"), ("http://127.0.0.1:9/status", "not a public address")):
        answer = texting.client.post("/api/messages", json={"product": "A2P", "from": "Trunkline", "to": "+447700900123", "text": "Hi", "callback_url": url})
        problem = assert_error(answer, 422)
        assert [field["name"] for field in problem["invalidInputVars"]] == ["callback_url"] and reason in problem["invalidInputVars"][0]["reason"], problem
    assert ok(texting.client.get("/api/messages"))["count"] == 0
    assert ok(texting.client.get("/api/webhooks"))["count"] == 0
