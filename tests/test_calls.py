"""`/api/calls`: ingest in every format, rated on ingest, idempotent, atomic; quote; re-rate."""

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from tests.helpers import assert_error, cdr, rate, rerate
from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls import ingest
from trunkline.calls.schemas import CallIn
from trunkline.db.engine import make_engine
from trunkline.kit import ids
from trunkline.kit.clock import utcnow


@pytest.fixture
def deck(org):
    assert org.client.post("/api/call_rates", json=rate(prefix="44")).status_code == 200
    assert org.client.post("/api/call_rates", json=rate(prefix="447", type="MOBILE", price_1="0.1", price_n="0.1")).status_code == 200
    return org


def test_single_cdr_is_rated_with_breakdown(deck):
    response = deck.client.post("/api/calls", json=cdr("c-1"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stored"] == 1 and body["duplicates"] == 0 and body["cost"] == 0.0252
    call = deck.client.get(f"/api/calls/{body['ids'][0]}").json()
    assert call["status"] == "rated" and call["cost"] == 0.0252 and call["prefix"] == "44"
    breakdown = call["breakdown"]
    assert breakdown["first_interval_seconds"] == 60 and breakdown["rest_intervals"] == 11 and breakdown["cost"] == 0.0252
    assert breakdown["rate_id"] == call["rate_id"] and deck.client.get(f"/api/call_rates/{call['rate_id']}").json()["prefix"] == "44"


@pytest.mark.parametrize(("billsec", "cost"), [(0, 0), (7, 0.012), (60, 0.012), (61, 0.0132), (125, 0.0252)])
def test_spec_examples_through_the_api(deck, billsec, cost):
    body = deck.client.post("/api/calls", json=cdr(f"ex-{billsec}", billsec=billsec)).json()
    assert body["cost"] == cost and body["unrated"] == 0


def test_longest_prefix_and_unrated_reported(deck):
    body = deck.client.post(
        "/api/calls", json=[cdr("m", callee="00447700900123", billsec=60), cdr("u", callee="+99 123"), cdr("x", callee="abc")]
    ).json()
    assert body["stored"] == 3 and body["unrated"] == 2 and body["cost"] == 0.1
    calls = {c["call_id"]: c for c in deck.client.get("/api/calls", params={"orderby": "call_id"}).json()["items"]}
    assert calls["m"]["prefix"] == "447" and calls["m"]["rate_type"] == "MOBILE"
    assert calls["u"]["status"] == "unrated" and calls["u"]["cost"] is None and calls["u"]["unrated_reason"] == "no_matching_prefix"
    assert calls["x"]["unrated_reason"] == "invalid_number"


def test_resent_cdr_is_not_stored_twice(deck):
    first = deck.client.post("/api/calls", json=[cdr("a"), cdr("b")]).json()
    again = deck.client.post("/api/calls", json=[cdr("b"), cdr("c"), cdr("c")]).json()
    assert first["stored"] == 2
    assert again["stored"] == 1 and again["duplicates"] == 2 and again["duplicate_call_ids"] == ["c", "b"]
    assert deck.client.get("/api/calls").json()["count"] == 3


def test_concurrent_batches_sharing_call_ids_store_each_once(deck):
    """Batches that overlap, some in crossed order, at once: every call stored, counted and
    priced once (PostgreSQL writes them side by side and retries the ones that collide)."""
    bodies = [[cdr(f"s{(start + step * direction) % 12}") for step in range(6)] for start in range(12) for direction in (1, -1)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: deck.client.post("/api/calls", json=body), bodies))
    assert [answer.status_code for answer in answers] == [200] * len(bodies), [answer.text for answer in answers]
    assert all(answer.json()["stored"] + answer.json()["duplicates"] == 6 for answer in answers)
    assert sum(answer.json()["stored"] for answer in answers) == 12
    assert sum(Decimal(str(answer.json()["cost"])) for answer in answers) == 12 * Decimal("0.0252")
    assert deck.client.get("/api/calls", params={"top": 100}).json()["count"] == 12
    day = deck.client.get("/api/reports/call-data", params={"start_date": "2024-05-01", "end_date": "2024-05-01"}).json()["data"]
    assert [(row["calls"], row["cost"]) for row in day] == [(12, 0.3024)]


def test_call_stored_by_another_writer_between_planning_and_writing_is_a_duplicate(deck, monkeypatch):
    """Another writer (another worker process, `trunkline calls import`) stores one of a batch's
    call_ids after the batch looked for them: its write fails on the unique constraint, keeps
    nothing, and the batch is planned again alone, storing the rest once."""
    engine = make_engine(deck.server.settings.sqlalchemy_url)
    org_id = ids.decode(deck.id)
    planned = ingest.plan
    raced = []

    def plan_then_race(conn, *args):
        result = planned(conn, *args)
        if not raced:
            raced.append(True)
            with engine.begin() as other:
                ingest.ingest(other, org_id, [CallIn(**cdr("r2"))], DeckCache(), utcnow())
        return result

    monkeypatch.setattr(ingest, "plan", plan_then_race)
    answer = deck.client.post("/api/calls", json=[cdr(f"r{number}") for number in range(4)]).json()
    engine.dispose()
    assert (answer["stored"], answer["duplicate_call_ids"]) == (3, ["r2"])
    assert deck.client.get("/api/calls", params={"top": 100}).json()["count"] == 4
    day = deck.client.get("/api/reports/call-data", params={"start_date": "2024-05-01", "end_date": "2024-05-01"}).json()["data"]
    assert [(row["calls"], row["cost"]) for row in day] == [(4, 0.1008)]


def test_bad_batch_stores_nothing(deck):
    body = assert_error(deck.client.post("/api/calls", json=[cdr("ok"), cdr("bad", billsec=-1), {"call_id": "x"}]), 422)
    names = {problem["name"] for problem in body["invalidInputVars"]}
    assert "1.billsec" in names and "2.callee" in names
    assert deck.client.get("/api/calls").json()["count"] == 0


def test_ndjson_and_csv(deck):
    lines = "\n".join(json.dumps(cdr(f"n{i}")) for i in range(3))
    response = deck.client.post("/api/calls", content=lines, headers={"content-type": "application/x-ndjson"})
    assert response.json()["stored"] == 3, response.text
    text = "call_id,callee,start,duration,billsec,account_id\nv1,442079460000,2024-05-01T10:00:00Z,70,61,acct-2\nv2,999,2024-05-01 11:00:00,5,0,\n"
    response = deck.client.post("/api/calls", content=text, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 2 and response.json()["cost"] == 0.0132
    bad = "call_id,callee,start,billsec\nv3,44,2024-05-01,x\n"
    body = assert_error(deck.client.post("/api/calls", content=bad, headers={"content-type": "text/csv"}), 422)
    assert body["invalidInputVars"][0]["name"].startswith("line 2")


def test_other_media_type_is_415(deck):
    assert_error(deck.client.post("/api/calls", content="<cdr/>", headers={"content-type": "application/xml"}), 415)


def test_quote(deck):
    body = deck.client.get("/api/call_rates/quote", params={"number": "+44 20 7946 0000", "duration": 125}).json()
    assert body["status"] == "rated" and body["cost"] == 0.0252 and body["rate"]["prefix"] == "44"
    assert body["breakdown"]["rest_intervals"] == 11 and body["normalized"] == "442079460000"
    assert body["breakdown"]["rate_id"] == body["rate"]["id"]
    body = deck.client.get("/api/call_rates/quote", params={"number": "999", "duration": 5}).json()
    assert body["status"] == "unrated" and body["cost"] is None


def test_rerate_after_deck_change(deck):
    deck.client.post("/api/calls", json=[cdr("r1"), cdr("r2", callee="+99 1")])
    rate_id = deck.client.get("/api/call_rates", params={"filter": "prefix eq '44'"}).json()["items"][0]["id"]
    deck.client.patch(f"/api/call_rates/{rate_id}", json={"price_1": "0.024", "price_n": "0.024"})
    deck.client.post("/api/call_rates", json=rate(prefix="99"))
    body = rerate(deck.client, {"start_date": "2024-05-01", "end_date": "2024-05-01"})
    assert body["calls"] == 2 and body["changed"] == 2
    assert body["cost_before"] == 0.0252 and body["cost_after"] == 0.0504 + 0.0252 and body["difference"] == 0.0504
    again = rerate(deck.client, {"start_date": "2024-05-01", "end_date": "2024-05-01"})
    assert again["changed"] == 0
    report = deck.client.get("/api/reports/call-data", params={"start_date": "2024-05-01", "end_date": "2024-05-01"}).json()
    assert report["data"] == [{"day": "2024-05-01", "calls": 2, "answered": 2, "unrated": 0, "billsec": 250, "cost": 0.0756}]


def test_calls_are_per_org(deck, other_org):
    call_id = deck.client.post("/api/calls", json=cdr("p1")).json()["ids"][0]
    assert_error(other_org.client.get(f"/api/calls/{call_id}"), 404)
    assert other_org.client.post("/api/calls", json=cdr("p1")).json()["stored"] == 1


def test_breakdown_amounts_are_shown_exactly(org):
    assert org.client.post("/api/call_rates", json=rate(prefix="44", price_1="0.01", price_n="0.01", interval_1=1, interval_n=1)).status_code == 200
    quote = org.client.get("/api/call_rates/quote", params={"number": "441", "duration": 7}).json()
    exact = quote["breakdown"]["exact"]
    assert exact["first_interval_amount"] == "1/6000" and exact["rest_amount"] == "0.001" and exact["subtotal"] == "7/6000"
    assert quote["cost"] == 0.00117  # rounded once, half up, at the end
