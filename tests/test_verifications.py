"""One-time passcodes end to end: the code reaches the simulated SMSC and nowhere else (the
message is stored masked, the verification keeps a keyed digest), checks spend at most five
attempts even when they race, expiry answers like any other refusal, and the webhooks hear of
each step."""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.helpers import assert_error, ok
from tests.test_messages import sms_account
from tests.test_messaging_smpp import PASSWORD, sim, smsc, submits, texting, texting_on, wait_for  # noqa: F401 (fixtures)
from tests.test_smsc_simulator import started
from tests.test_webhooks import live, receiver, webhook  # noqa: F401 (fixtures)
from trunkline.db.engine import make_engine
from trunkline.db.tables import messages, opt_outs, verifications
from trunkline.kit import ids
from trunkline.kit.clock import utcnow


def start(client, **fields) -> dict:
    return ok(client.post("/api/verifications", json={"to": "+447700900123", "product": "A2P", "from": "Trunkline", **fields}))


def check(client, verification: dict, code: str) -> dict:
    return ok(client.post(f"/api/verifications/{verification['id']}/check", json={"code": code}))


def code_sent(sim, to: str = "447700900123", seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while not (found := [s for s in submits(sim) if s["destination_addr"] == to]):
        assert time.monotonic() < deadline, "no submit reached the SMSC"
        time.sleep(0.05)
    return re.search(r"\d{4,10}", found[-1]["text"]).group()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def database(org):
    return make_engine(org.server.settings.sqlalchemy_url)


def test_the_code_reaches_the_smsc_only_and_approves_once(texting, sim):
    account = sms_account(texting.client, balance="1", price="0.05")
    started_ = start(texting.client, code_length=8, account_id=account["account_id"], text="Acme: {code} is your login code")
    assert (started_["status"], started_["attempts"], started_["max_attempts"], started_["code_length"]) == ("pending", 0, 5, 8)
    assert "code" not in started_ and "code_digest" not in started_
    code = code_sent(sim)
    assert len(code) == 8
    message = wait_for(texting.client, started_["message_id"], "delivered")
    assert message["text"] == "Acme: ******** is your login code" and message["price"] == 0.05
    engine = database(texting)
    with engine.connect() as conn:
        row = conn.execute(select(verifications).where(verifications.c.id == ids.decode(started_["id"]))).one()
        stored = conn.execute(select(messages.c.text, messages.c.sealed_text).where(messages.c.id == ids.decode(started_["message_id"]))).one()
    engine.dispose()
    assert code not in row.code_digest and stored == ("Acme: ******** is your login code", None)  # the sealed text went with the submit

    first = check(texting.client, started_, wrong(code))
    assert (first["valid"], first["status"], first["attempts"]) == (False, "pending", 1)
    approved = check(texting.client, started_, code)
    assert (approved["valid"], approved["status"], approved["attempts"]) == (True, "approved", 2) and approved["done_at"]
    again = check(texting.client, started_, code)
    assert (again["valid"], again["status"], again["attempts"]) == (False, "approved", 2)  # a code works once
    assert ok(texting.client.get(f"/api/verifications/{started_['id']}"))["status"] == "approved"
    listed = ok(texting.client.get("/api/verifications", params={"filter": "status eq 'approved' and to eq '447700900123'"}))
    assert [item["id"] for item in listed["items"]] == [started_["id"]]


def test_five_wrong_codes_fail_it_even_when_the_checks_race(texting, sim):
    verification = start(texting.client)
    code = code_sent(sim)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: texting.client.post(f"/api/verifications/{verification['id']}/check", json={"code": wrong(code)}), range(12)))
    assert [answer.status_code for answer in answers] == [200] * 12
    assert sorted(answer.json()["attempts"] for answer in answers)[-1] == 5  # never more than five attempts spent
    assert not any(answer.json()["valid"] for answer in answers)
    after = check(texting.client, verification, code)  # the right code, too late
    assert (after["valid"], after["status"], after["attempts"]) == (False, "failed", 5)


def test_an_expired_code_answers_like_a_refusal_and_expires_without_a_check(texting, sim):
    first, second = start(texting.client, ttl=30), start(texting.client, to="+447700900124", ttl=30)
    code = code_sent(sim)
    engine = database(texting)
    with engine.begin() as conn:  # time passes: both ran out a second ago
        conn.execute(update(verifications).where(verifications.c.id.in_([ids.decode(first["id"]), ids.decode(second["id"])])).values(expires_at=utcnow() - timedelta(seconds=1)))
    engine.dispose()
    late = check(texting.client, first, code)
    assert (late["valid"], late["status"], late["attempts"]) == (False, "expired", 0)
    deadline = time.monotonic() + 10  # the other expires with no check (the expirer runs every second)
    while ok(texting.client.get(f"/api/verifications/{second['id']}"))["status"] != "expired":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_passcodes_reach_numbers_that_opted_out_of_marketing(texting, sim):
    engine = database(texting)
    with engine.begin() as conn:
        conn.execute(opt_outs.insert().values(org_id=ids.decode(texting.id), number="447700900777", keyword="STOP", created_at=utcnow()))
    engine.dispose()
    marketing = texting.client.post("/api/messages", json={"product": "MKT", "from": "Trunkline", "to": "+447700900777", "text": "Sale!"})
    assert_error(marketing, 422)
    assert start(texting.client, to="+447700900777")["status"] == "pending"


def test_bad_requests_are_refused_and_store_nothing(texting, other_org):
    for fields in ({"product": "MKT"}, {"text": "no placeholder here"}, {"text": "{code} and {code}"}, {"code_length": 3}, {"code_length": 11},
                   {"ttl": 10}, {"to": "hello"}, {"from": "not a valid sender!"}):
        assert_error(texting.client.post("/api/verifications", json={"to": "+447700900123", "product": "A2P", "from": "Trunkline", **fields}), 422)
    assert ok(texting.client.get("/api/verifications"))["count"] == 0
    verification = start(texting.client)
    assert_error(other_org.client.post(f"/api/verifications/{verification['id']}/check", json={"code": "123456"}), 404)
    assert_error(other_org.client.get(f"/api/verifications/{verification['id']}"), 404)
    assert_error(texting.client.post("/api/verifications/bm9uZQ/check", json={"code": "123456"}), 404)
    assert_error(texting.client.post(f"/api/verifications/{verification['id']}/check", json={}), 400, "MISSING_REQUIRED_PARAMS")


def test_without_an_smsc_nothing_is_stored(org):
    ok(org.client.patch("/api/products/A2P", json={"enabled": True}))
    assert_error(org.client.post("/api/verifications", json={"to": "+447700900123", "product": "A2P", "from": "Trunkline"}), 409, "NO_SMSC_CONNECTION")
    assert ok(org.client.get("/api/verifications"))["count"] == 0


@pytest.mark.parametrize("live", ["sqlite"], indirect=True)
def test_webhooks_hear_the_message_and_the_verification(live, receiver):  # noqa: F811
    from tests.harness import new_org

    org = new_org(live.server)
    hook = webhook(org, receiver.url, "verification.*", "message.delivered")
    with started("--system-id", "acme", "--password", PASSWORD, "--receipt-delay", "0.05") as own:
        texting_on(org, own)
        own.since = 0
        verification = start(org.client)
        code = code_sent(own)
        check(org.client, verification, code)
        arrived = {(request := received.verify(hook["secret"]))["type"]: request["data"] for received in receiver.wait_for(3)}
    assert set(arrived) == {"verification.created", "message.delivered", "verification.approved"}
    assert arrived["verification.approved"]["id"] == verification["id"] and arrived["verification.approved"]["status"] == "approved"
    assert arrived["message.delivered"]["id"] == verification["message_id"] and code not in str(arrived)
