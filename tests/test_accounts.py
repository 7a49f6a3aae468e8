"""`/api/accounts` over HTTP on every backend: CRUD, the ledger, charging calls exactly once, and
the switch's authorize question checked against a brute-force reading of the pricing rule."""

import base64
import math
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import Switch, assert_error, cdr, fixture, follow, make_token, ok, rate, rerate
from trunkline.rating import MAX_CALL_SECONDS, Rate, max_seconds
from trunkline.rating.money import to_units

CENT = Decimal("0.00001")


def account(**changes) -> dict:
    return {"account_id": "ACC1", "name": "Acme Ltd", "currency": "EUR", "type": "prepaid", **changes}


def create(org, **changes) -> str:
    return ok(org.client.post("/api/accounts", json=account(**changes)))["id"]


def get(org, account_id: str) -> dict:
    return ok(org.client.get(f"/api/accounts/{account_id}"))


def credit(org, account_id: str, amount, **fields) -> dict:
    return ok(org.client.post(f"/api/accounts/{account_id}/credit", json={"amount": amount, **fields}))


def ledger(org, account_id: str, **params) -> list[dict]:
    return ok(org.client.get(f"/api/accounts/{account_id}/transactions", params=params))["items"]


def balance(org, account_id: str) -> Decimal:
    """The balance exactly as sent (JSON numbers with five places, read without a float)."""
    response = org.client.get(f"/api/accounts/{account_id}")
    return Decimal(response.json(parse_float=Decimal)["balance"])


# --- CRUD ------------------------------------------------------------------------------------


def test_create_get_by_id_and_code(org):
    response = org.client.post("/api/accounts", json={"account_id": "ACC1", "name": "Acme Ltd"})
    body = ok(response)
    assert body["success"] is True and body["guid"] == response.headers["x-request-id"]
    assert base64.b64decode(body["id"]).isdigit()
    got = org.client.get(f"/api/accounts/{body['id']}")
    assert '"balance":0.00000' in got.text and '"credit_limit":0.00000' in got.text and '"available":0.00000' in got.text
    item = got.json()
    assert item["id"] == body["id"] and item["account_id"] == "ACC1" and item["name"] == "Acme Ltd"
    assert item["currency"] == "USD" and item["type"] == "prepaid"
    assert item["created_at"] == item["updated_at"]
    assert get(org, "code:ACC1") == item
    assert_error(org.client.get("/api/accounts/code:ACC2"), 404, "NOT_FOUND")


def test_list_filter_search_orderby(org):
    for code, name, kind in (("A1", "Alpha", "prepaid"), ("B2", "Beta", "postpaid"), ("C3", "Gamma", "postpaid")):
        create(org, account_id=code, name=name, type=kind)
    listing = org.client.get("/api/accounts", params={"filter": "type eq 'postpaid'", "orderby": "name desc"}).json()
    assert listing["count"] == 2 and [a["account_id"] for a in listing["items"]] == ["C3", "B2"]
    assert [a["name"] for a in org.client.get("/api/accounts", params={"search": "alp"}).json()["items"]] == ["Alpha"]
    page = org.client.get("/api/accounts", params={"top": 1, "skip": 1})
    assert page.json()["meta"] == {"skip": 1, "top": 1, "has_more": True} and 'rel="next"' in page.headers["link"]
    assert_error(org.client.get("/api/accounts", params={"filter": "org_id eq 1"}), 400)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "usd"),
        ("currency", "EURO"),
        ("currency", "E1"),
        ("type", "credit"),
        ("credit_limit", -1),
        ("credit_limit", "0.000001"),
        ("credit_limit", "NaN"),
        ("account_id", "a/b"),
        ("account_id", "x" * 65),
        ("name", ""),
    ],
)
def test_bad_values_are_422_naming_the_field(org, field, value):
    body = assert_error(org.client.post("/api/accounts", json=account(**{field: value})), 422, "VALIDATION_FAILED")
    assert [v["name"] for v in body["invalidInputVars"]] == [field]
    assert org.client.get("/api/accounts").json()["count"] == 0


def test_missing_and_read_only_fields(org):
    body = assert_error(org.client.post("/api/accounts", json={"currency": "EUR"}), 400, "MISSING_REQUIRED_PARAMS")
    assert set(body["missingInputVars"]) == {"account_id", "name"}
    body = assert_error(org.client.post("/api/accounts", json=account(balance=100)), 422)
    assert body["invalidInputVars"] == [{"name": "balance", "reason": "read-only field"}]
    account_id = create(org)
    body = assert_error(org.client.patch(f"/api/accounts/{account_id}", json={"balance": 5}), 422)
    assert body["invalidInputVars"] == [{"name": "balance", "reason": "read-only field"}]


def test_duplicate_account_id_is_409_and_unique_per_org(org, other_org):
    create(org)
    assert_error(org.client.post("/api/accounts", json=account(name="Other")), 409, "DUPLICATE_ACCOUNT_ID")
    create(other_org)
    second = create(org, account_id="ACC2")
    assert_error(org.client.patch(f"/api/accounts/{second}", json={"account_id": "ACC1"}), 409, "DUPLICATE_ACCOUNT_ID")
    assert get(org, second)["account_id"] == "ACC2"


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT"])
def test_update_by_each_verb(org, method):
    account_id = create(org)
    response = org.client.request(method, f"/api/accounts/{account_id}", json={"type": "postpaid", "credit_limit": "12.5"})
    assert response.status_code == 200, response.text
    item = get(org, account_id)
    assert item["type"] == "postpaid" and item["credit_limit"] == 12.5 and item["available"] == 12.5
    assert item["name"] == "Acme Ltd" and item["updated_at"] > item["created_at"]
    assert org.client.patch("/api/accounts/code:ACC1", json={"name": "Acme plc"}).status_code == 200
    assert get(org, account_id)["name"] == "Acme plc"
    assert_error(org.client.patch(f"/api/accounts/{account_id}", json={"name": None}), 422)
    assert_error(org.client.patch(f"/api/accounts/{account_id}", json={}), 400)
    assert_error(org.client.patch(f"/api/accounts/{account_id}", json={"currency": "eur"}), 422)


def test_delete_an_account_without_history(org):
    account_id = create(org)
    assert org.client.delete(f"/api/accounts/{account_id}").json()["success"] is True
    assert_error(org.client.get(f"/api/accounts/{account_id}"), 404)
    assert_error(org.client.get(f"/api/accounts/{account_id}/transactions"), 404)
    assert_error(org.client.delete(f"/api/accounts/{account_id}"), 404)
    create(org)  # the code is free again; the new account starts from nothing
    assert get(org, "code:ACC1")["balance"] == 0 and ledger(org, "code:ACC1") == []


def test_other_org_sees_404(org, other_org):
    account_id = create(org)
    for path in (account_id, "code:ACC1"):
        assert_error(other_org.client.get(f"/api/accounts/{path}"), 404)
        assert_error(other_org.client.patch(f"/api/accounts/{path}", json={"name": "x"}), 404)
        assert_error(other_org.client.post(f"/api/accounts/{path}/credit", json={"amount": 1}), 404)
        assert_error(other_org.client.get(f"/api/accounts/{path}/transactions"), 404)
        assert_error(other_org.client.get(f"/api/accounts/{path}/authorize", params={"number": "44"}), 404)
        assert_error(other_org.client.delete(f"/api/accounts/{path}"), 404)
    assert other_org.client.get("/api/accounts").json()["count"] == 0
    assert get(org, account_id)["name"] == "Acme Ltd"


@pytest.mark.parametrize("bad_id", ["nope", "MDEy", "code:", base64.b64encode(b"9" * 30).decode()])
def test_malformed_ids_are_404(org, bad_id):
    assert_error(org.client.get(f"/api/accounts/{bad_id}"), 404)


def test_scopes(org):
    account_id = create(org)
    with org.server.client(make_token(org.client, ["accounts.read"])[1]) as reader:
        assert reader.get("/api/accounts").status_code == 200
        assert reader.get(f"/api/accounts/{account_id}").status_code == 200
        assert reader.get(f"/api/accounts/{account_id}/transactions").status_code == 200
        assert reader.get(f"/api/accounts/{account_id}/authorize", params={"number": "44"}).status_code == 200
        assert_error(reader.post("/api/accounts", json=account(account_id="NEW")), 403)
        assert_error(reader.patch(f"/api/accounts/{account_id}", json={"name": "x"}), 403)
        assert_error(reader.post(f"/api/accounts/{account_id}/credit", json={"amount": 1}), 403)
        assert_error(reader.delete(f"/api/accounts/{account_id}"), 403)
    with org.server.client(make_token(org.client, ["calls.*"])[1]) as stranger:
        assert_error(stranger.get(f"/api/accounts/{account_id}"), 403)
    assert get(org, account_id)["balance"] == 0 and org.client.get("/api/accounts").json()["count"] == 1


# --- credit and the ledger -------------------------------------------------------------------


def test_topup_adjustment_and_ledger(org):
    account_id = create(org)
    first = credit(org, account_id, "10.12345", note="bank transfer 42")
    assert first["success"] is True and first["balance"] == 10.12345 and first["available"] == 10.12345
    second = credit(org, "code:ACC1", "-0.00345", kind="adjustment", note="goodwill reversed")
    assert second["balance"] == 10.12
    assert balance(org, account_id) == Decimal("10.12000")
    entries = ledger(org, account_id)
    assert [(e["id"], e["kind"], e["amount"], e["balance_after"], e["note"]) for e in entries] == [
        (second["id"], "adjustment", -0.00345, 10.12, "goodwill reversed"),
        (first["id"], "topup", 10.12345, 10.12345, "bank transfer 42"),
    ]
    assert entries[0]["calls"] is None and entries[0]["call"] is None
    assert [e["kind"] for e in ledger(org, account_id, orderby="id asc")] == ["topup", "adjustment"]
    assert [e["kind"] for e in ledger(org, account_id, filter="amount lt 0")] == ["adjustment"]
    assert [e["kind"] for e in ledger(org, account_id, search="bank")] == ["topup"]
    page = org.client.get(f"/api/accounts/{account_id}/transactions", params={"top": 1}).json()
    assert page["count"] == 2 and page["meta"]["has_more"] is True


@pytest.mark.parametrize(
    "body",
    [{"amount": 0}, {"amount": -1}, {"amount": -1, "kind": "topup"}, {"amount": "1.000001"}, {"amount": 1, "kind": "calls"},
     {"amount": "1e10"}, {"amount": 1, "note": "x" * 501}],
)
def test_bad_credits_are_422_and_change_nothing(org, body):
    account_id = create(org)
    assert_error(org.client.post(f"/api/accounts/{account_id}/credit", json=body), 422)
    assert get(org, account_id)["balance"] == 0 and ledger(org, account_id) == []


def test_credit_needs_an_amount(org):
    account_id = create(org)
    body = assert_error(org.client.post(f"/api/accounts/{account_id}/credit", json={"note": "x"}), 400, "MISSING_REQUIRED_PARAMS")
    assert body["missingInputVars"] == ["amount"]


# --- charging calls --------------------------------------------------------------------------


@pytest.fixture
def billed(org):
    """A deck (44 at 0.012/min, 447 at 0.1/min with a connect fee) and accounts ACC1 (prepaid,
    10.00) and ACC2 (postpaid, credit limit 5)."""
    assert org.client.post("/api/call_rates", json=rate(prefix="44", price_1="0.01234", price_n="0.01234")).status_code == 200
    assert org.client.post("/api/call_rates", json=rate(prefix="447", price_1="0.1", price_n="0.1", connect_fee="0.00333")).status_code == 200
    create(org, account_id="ACC1")
    create(org, account_id="ACC2", name="Bravo", type="postpaid", credit_limit=5)
    credit(org, "code:ACC1", 10)
    return org


def costs_by_account(org) -> dict[str, Decimal]:
    """Exact cost of the stored calls per account_id, from the calls list."""
    calls = org.client.get("/api/calls", params={"top": 100}).json(parse_float=Decimal)["items"]
    totals: dict[str, Decimal] = {}
    for call in calls:
        totals[call["account_id"]] = totals.get(call["account_id"], Decimal(0)) + (call["cost"] or 0)
    return totals


def batch() -> list[dict]:
    calls = []
    for i in range(12):
        callee = "+447700900%03d" % i if i % 3 == 0 else "+44 20 7946 %04d" % i
        calls.append(cdr(f"b{i}", callee=callee, billsec=7 + 37 * i, account_id=("ACC1", "ACC2", "nobody")[i % 3]))
    calls.append(cdr("free", billsec=0, account_id="ACC1"))
    calls.append(cdr("unrated", callee="+99 1234", account_id="ACC1"))
    calls.append(cdr("anonymous", account_id=None))
    return calls


def test_ingest_charges_each_account_exactly_once(billed):
    first = billed.client.post("/api/calls", json=batch()).json()
    assert first["stored"] == 15 and first["unrated"] == 1
    spent = costs_by_account(billed)
    assert spent["ACC1"] > 0 and spent["ACC2"] > 0 and spent["nobody"] > 0
    assert balance(billed, "code:ACC1") == Decimal(10) - spent["ACC1"]
    assert balance(billed, "code:ACC2") == -spent["ACC2"]
    assert get(billed, "code:ACC2")["available"] == float(5 - spent["ACC2"])
    entries = billed.client.get("/api/accounts/code:ACC1/transactions").json(parse_float=Decimal)["items"]
    assert [(e["kind"], e["calls"], e["amount"], e["balance_after"]) for e in entries] == [
        ("calls", 4, -spent["ACC1"], Decimal(10) - spent["ACC1"]), ("topup", None, 10, 10),
    ]
    assert entries[0]["call"] is None

    again = billed.client.post("/api/calls", json=batch()).json()  # the switch sends it all again
    assert again["stored"] == 0 and again["duplicates"] == 15
    assert balance(billed, "code:ACC1") == Decimal(10) - spent["ACC1"] and balance(billed, "code:ACC2") == -spent["ACC2"]
    assert len(ledger(billed, "code:ACC1")) == 2 and len(ledger(billed, "code:ACC2")) == 1


def test_a_single_call_names_itself_in_the_ledger(billed):
    call_id = billed.client.post("/api/calls", json=cdr("one", billsec=61, account_id="ACC1")).json()["ids"][0]
    entry = ledger(billed, "code:ACC1")[0]
    assert (entry["kind"], entry["calls"], entry["call"], entry["amount"]) == ("calls", 1, call_id, -0.01357)
    assert [e["kind"] for e in ledger(billed, "code:ACC1", filter=f"call eq '{call_id}'")] == ["calls"]


def test_calls_without_an_account_are_stored_and_reported_as_before(billed):
    body = billed.client.post("/api/calls", json=[cdr("n1", account_id="ghost"), cdr("n2", account_id="ghost")]).json()
    assert body["stored"] == 2 and body["cost"] == 0.05182
    report = billed.client.get(
        "/api/reports/call-data", params={"start_date": "2024-05-01", "end_date": "2024-05-01", "group_by": "account"}
    ).json()
    assert report["data"] == [{"account_id": "ghost", "calls": 2, "answered": 2, "unrated": 0, "billsec": 250, "cost": 0.05182}]
    assert balance(billed, "code:ACC1") == 10 and balance(billed, "code:ACC2") == 0


def test_account_created_later_is_not_charged_for_earlier_calls(billed):
    billed.client.post("/api/calls", json=cdr("early", account_id="ACC3"))
    create(billed, account_id="ACC3")
    billed.client.post("/api/calls", json=cdr("late", account_id="ACC3"))
    assert balance(billed, "code:ACC3") == Decimal("-0.02591")
    rate_id = billed.client.get("/api/call_rates", params={"filter": "prefix eq '44'"}).json()["items"][0]["id"]
    billed.client.patch(f"/api/call_rates/{rate_id}", json={"price_n": "0.02468", "price_1": "0.02468"})
    rerate(billed.client, {"start_date": "2024-05-01", "end_date": "2024-05-01"})
    assert balance(billed, "code:ACC3") == Decimal("-0.05183")  # the late call only, at the new price


def test_endpoint_cdr_push_charges_the_account(org):
    switch = Switch(org)
    create(org, account_id="acct-1001")
    first_line = fixture("asterisk_master.csv").splitlines()[0] + "\n"
    assert switch.push(first_line, "text/csv").json()["stored"] == 1
    (call,) = switch.calls().values()
    assert call["account_id"] == "acct-1001" and call["cost"] == 0.022
    assert balance(org, "code:acct-1001") == Decimal("-0.02200")
    assert switch.push(first_line, "text/csv").json()["duplicates"] == 1  # the switch retries
    assert balance(org, "code:acct-1001") == Decimal("-0.02200") and len(ledger(org, "code:acct-1001")) == 1


def test_rerate_adjusts_by_the_difference_once(billed):
    billed.client.post("/api/calls", json=batch())
    before = costs_by_account(billed)
    rate_id = billed.client.get("/api/call_rates", params={"filter": "prefix eq '44'"}).json()["items"][0]["id"]
    billed.client.patch(f"/api/call_rates/{rate_id}", json={"price_1": "0.02", "price_n": "0.005"})
    billed.client.post("/api/call_rates", json=rate(prefix="99"))  # the unrated call becomes rated
    day = {"start_date": "2024-05-01", "end_date": "2024-05-01"}
    assert rerate(billed.client, day)["changed"] > 0
    after = costs_by_account(billed)
    assert balance(billed, "code:ACC1") == Decimal(10) - after["ACC1"]
    assert balance(billed, "code:ACC2") == -after["ACC2"]
    entries = billed.client.get("/api/accounts/code:ACC1/transactions").json(parse_float=Decimal)["items"]
    assert (entries[0]["kind"], entries[0]["amount"]) == ("rerate", before["ACC1"] - after["ACC1"])

    assert rerate(billed.client, day)["changed"] == 0
    assert balance(billed, "code:ACC1") == Decimal(10) - after["ACC1"] and balance(billed, "code:ACC2") == -after["ACC2"]
    assert len(ledger(billed, "code:ACC1")) == 3 and len(ledger(billed, "code:ACC2")) == 2


def test_concurrent_rerates_and_batches_charge_once(billed):
    """A re-rating job and ingest batches at the same time, and a second job refused while the
    first runs: every change reaches the balance once."""
    billed.client.post("/api/calls", json=batch())
    rate_id = billed.client.get("/api/call_rates", params={"filter": "prefix eq '44'"}).json()["items"][0]["id"]
    billed.client.patch(f"/api/call_rates/{rate_id}", json={"price_1": "0.03", "price_n": "0.03"})
    day = {"start_date": "2024-05-01", "end_date": "2024-05-01"}
    jobs = [("/api/calls/rerate", day)] * 4 + [("/api/calls", [cdr(f"c{i}", account_id="ACC2", billsec=10 + i)]) for i in range(4)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(lambda job: billed.client.post(job[0], json=job[1]), jobs))
    assert [answer.status_code for answer in answers[4:]] == [200] * 4, [answer.text for answer in answers]
    started = [answer for answer in answers[:4] if answer.status_code == 202]
    assert len(started) >= 1 and all(answer.status_code in (202, 409) for answer in answers[:4])
    for answer in started:
        follow(billed.client, answer.json()["id"])
    assert rerate(billed.client, day)["changed"] == 0  # everything was re-rated once, by the jobs
    spent = costs_by_account(billed)
    assert balance(billed, "code:ACC1") == Decimal(10) - spent["ACC1"] and balance(billed, "code:ACC2") == -spent["ACC2"]


def test_balance_equals_the_sum_of_its_ledger(billed):
    billed.client.post("/api/calls", json=batch())
    credit(billed, "code:ACC2", "-1.5", kind="adjustment")
    for code in ("ACC1", "ACC2"):
        entries = billed.client.get(f"/api/accounts/code:{code}/transactions").json(parse_float=Decimal)["items"]
        assert sum(e["amount"] for e in entries) == balance(billed, f"code:{code}") == entries[0]["balance_after"]


# --- authorize -------------------------------------------------------------------------------


def spec_cost(fields: dict, seconds: int) -> Decimal:
    """The pricing rule read literally, in Decimal: independent of trunkline.rating."""
    money = {name: Decimal(str(fields[name])) for name in ("connect_fee", "postcall_surcharge", "price_1", "price_n")}
    if seconds == 0 or seconds <= fields["grace_period"]:
        return Decimal(0)
    with localcontext() as context:
        context.prec = 60
        first = money["price_1"] * fields["interval_1"] / 60
        rest = seconds - fields["interval_1"] - fields["free_seconds"]
        rest_amount = math.ceil(rest / fields["interval_n"]) * money["price_n"] * fields["interval_n"] / 60 if rest > 0 else 0
        subtotal = money["connect_fee"] + first + rest_amount
        return (subtotal * (1 + money["postcall_surcharge"])).quantize(CENT, rounding=ROUND_HALF_UP)


def brute_max_seconds(fields: dict, available: Decimal, cap: int = MAX_CALL_SECONDS) -> int:
    """Every duration tried: the longest that costs nothing or fits in `available`; 0 if that stops
    within the grace period short of the cap."""
    longest = max(d for d in range(cap + 1) if spec_cost(fields, d) <= max(available, Decimal(0)))
    return longest if longest == cap or longest > fields["grace_period"] else 0


def authorize(org, number: str, code: str = "ACC1"):
    return ok(org.client.get(f"/api/accounts/code:{code}/authorize", params={"number": number}))


AUTHORIZE_RATES = [
    rate(prefix="44", connect_fee="0.05", price_1="0.012", price_n="0.012"),
    rate(prefix="49", interval_1=60, interval_n=6, price_1="0.03", price_n="0.018", grace_period=5),
    rate(prefix="33", interval_1=30, interval_n=1, price_1="0.1", price_n="0.07", free_seconds=45, postcall_surcharge="0.025"),
    rate(prefix="1", interval_1=1, interval_n=1, price_1="0.00999", price_n="0.00999", connect_fee="0.00001", grace_period=3),
]


@pytest.mark.parametrize("fields", AUTHORIZE_RATES, ids=lambda fields: fields["prefix"])
def test_authorize_max_seconds_is_exact(org, fields):
    assert org.client.post("/api/call_rates", json=fields).status_code == 200
    create(org)
    credit(org, "code:ACC1", "0.26789")
    number = fields["prefix"] + "123456"
    answer = authorize(org, number)
    assert answer["success"] is True and answer["authorized"] is True and answer["reason"] is None
    assert answer["max_seconds"] == brute_max_seconds(fields, Decimal("0.26789")) > 0
    assert answer["rate"]["prefix"] == fields["prefix"] and answer["rate"]["price_1"] == float(fields["price_1"])
    assert answer["balance"] == answer["available"] == 0.26789 and answer["account_id"] == "ACC1" and answer["currency"] == "EUR"
    # The answer is the limit: one more second and the call would cost more than the balance.
    quote = org.client.get("/api/call_rates/quote", params={"number": number, "duration": answer["max_seconds"] + 1}).json()
    assert quote["cost"] > 0.26789


def test_authorize_refuses_with_a_reason(org):
    assert org.client.post("/api/call_rates", json=rate(prefix="44", connect_fee="0.05")).status_code == 200
    create(org)
    answer = authorize(org, "+44 20 7946 0000")
    assert (answer["authorized"], answer["max_seconds"], answer["reason"]) == (False, 0, "insufficient_balance")
    assert answer["rate"]["prefix"] == "44" and answer["normalized"] == "442079460000"
    credit(org, "code:ACC1", "0.06")  # not the 0.062 the first minute costs
    assert authorize(org, "44")["reason"] == "insufficient_balance"
    credit(org, "code:ACC1", "0.002")
    assert authorize(org, "44")["max_seconds"] == 60
    answer = authorize(org, "+99 555")
    assert (answer["authorized"], answer["max_seconds"], answer["reason"], answer["rate"]) == (False, 0, "no_matching_prefix", None)
    answer = authorize(org, "44x1")
    assert (answer["max_seconds"], answer["reason"], answer["normalized"]) == (0, "invalid_number", None)
    assert_error(org.client.get("/api/accounts/code:ACC1/authorize"), 400, "MISSING_REQUIRED_PARAMS")


def test_quote_and_authorize_answer_from_the_committed_deck_and_balance(org):
    """The cached deck is never served once a committed write has changed it: the next quote
    and authorize see a new price, and the next authorize a new balance."""
    rate_id = ok(org.client.post("/api/call_rates", json=rate(prefix="44", price_1="0.012", price_n="0.012")))["id"]
    create(org)
    credit(org, "code:ACC1", "0.12")
    quote = lambda: org.client.get("/api/call_rates/quote", params={"number": "44123", "duration": 60}).json()  # noqa: E731
    assert (quote()["cost"], authorize(org, "44123")["max_seconds"]) == (0.012, 600)
    assert org.client.patch(f"/api/call_rates/{rate_id}", json={"price_1": "0.024", "price_n": "0.024"}).status_code == 200
    assert (quote()["cost"], authorize(org, "44123")["max_seconds"]) == (0.024, 300)
    credit(org, "code:ACC1", "0.12")
    assert authorize(org, "44123")["max_seconds"] == 600


def test_authorize_postpaid_spends_the_credit_limit(org):
    fields = rate(prefix="44")
    assert org.client.post("/api/call_rates", json=fields).status_code == 200
    create(org, type="postpaid", credit_limit="0.5")
    credit(org, "code:ACC1", "0.3", kind="adjustment")
    credit(org, "code:ACC1", "-0.4", kind="adjustment")  # owes 0.1: 0.4 of the limit left
    answer = authorize(org, "44")
    assert answer["balance"] == -0.1 and answer["available"] == 0.4
    assert answer["max_seconds"] == brute_max_seconds(fields, Decimal("0.4")) == 1998
    billed = org.client.patch("/api/accounts/code:ACC1", json={"type": "prepaid"})
    assert billed.status_code == 200 and authorize(org, "44")["reason"] == "insufficient_balance"


def test_authorize_free_destinations_up_to_the_cap(org):
    free = rate(prefix="800", connect_fee=0, price_1=0, price_n=0)
    assert org.client.post("/api/call_rates", json=free).status_code == 200
    create(org)
    credit(org, "code:ACC1", "-3", kind="adjustment")
    answer = authorize(org, "800123")
    assert (answer["authorized"], answer["max_seconds"], answer["reason"]) == (True, MAX_CALL_SECONDS, None)


def test_authorize_with_a_first_interval_free(org):
    """Free for its first minute, then charged: a call may use the free part whatever the balance."""
    fields = rate(prefix="44", price_1=0, price_n="0.6")
    assert org.client.post("/api/call_rates", json=fields).status_code == 200
    create(org)
    assert authorize(org, "44")["max_seconds"] == brute_max_seconds(fields, Decimal(0)) == 60
    credit(org, "code:ACC1", "0.06")
    assert authorize(org, "44")["max_seconds"] == brute_max_seconds(fields, Decimal("0.06")) == 66


# --- max_seconds, the pure function ------------------------------------------------------------

money = st.integers(min_value=0, max_value=2_000_000)  # units: up to 20.00000
rates = st.builds(
    lambda grace, free, first, rest, connect, surcharge, price_1, price_n: rate(
        prefix="1", grace_period=grace, free_seconds=free, interval_1=first, interval_n=rest,
        connect_fee=str(Decimal(connect).scaleb(-5)), postcall_surcharge=str(Decimal(surcharge).scaleb(-5)),
        price_1=str(Decimal(price_1).scaleb(-5)), price_n=str(Decimal(price_n).scaleb(-5)),
    ),
    st.integers(0, 40), st.integers(0, 90), st.integers(1, 120), st.integers(1, 60),
    st.integers(0, 20_000), st.sampled_from([0, 1, 1000, 2500, 15000, 33333]), money, money,
)


def engine_rate(fields: dict) -> Rate:
    counts = {name: fields[name] for name in ("free_seconds", "grace_period", "interval_1", "interval_n")}
    prices = {name: to_units(str(fields[name])) for name in ("connect_fee", "postcall_surcharge", "price_1", "price_n")}
    return Rate(id=1, prefix=fields["prefix"], type=fields["type"], **counts, **prices)


@settings(max_examples=150, deadline=None)
@given(fields=rates, available=st.integers(-50_000, 200_000), cap=st.integers(1, 400))
def test_max_seconds_matches_brute_force(fields, available, cap):
    expected = brute_max_seconds(fields, Decimal(available).scaleb(-5), cap)
    assert max_seconds(engine_rate(fields), available, cap) == expected


def test_an_account_with_history_is_not_deleted(org):
    fresh = org.client.post("/api/accounts", json={"account_id": "EMPTY", "name": "No history"}).json()["id"]
    assert org.client.delete(f"/api/accounts/{fresh}").status_code == 200
    funded = org.client.post("/api/accounts", json={"account_id": "FUNDED", "name": "Topped up"}).json()["id"]
    assert org.client.post(f"/api/accounts/{funded}/credit", json={"amount": "5"}).status_code == 200
    error = org.client.delete(f"/api/accounts/{funded}")
    assert error.status_code == 409 and error.json()["errorCode"] == "ACCOUNT_HAS_HISTORY"
    assert org.client.get(f"/api/accounts/{funded}/transactions").json()["count"] == 1
