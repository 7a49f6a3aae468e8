"""Rate plans, effective dates and time-of-day periods over HTTP, on every backend."""

from decimal import Decimal

import pytest

from tests.helpers import assert_error, cdr, make_token, ok, rate, rerate

PEAK = [
    {"period": "peak", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "20:00"},
    {"period": "offpeak", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "00:00", "end": "08:00"},
    {"period": "offpeak", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "20:00", "end": "24:00"},
    {"period": "weekend", "days": ["sat", "sun"], "start": "00:00", "end": "24:00"},
]


def plan(client, name="Retail", **fields) -> dict:
    return ok(client.post("/api/rate_plans", json={"name": name, **fields}))


def call(call_id: str, start: str, billsec: int = 60, **fields) -> dict:
    """A CDR started at `start` (ISO 8601, UTC), answered at once."""
    return cdr(call_id, billsec=billsec, start=start, answer=start, **fields)


def quote(client, number="442071234567", duration=60, **params) -> dict:
    return ok(client.get("/api/call_rates/quote", params={"number": number, "duration": duration, **params}))


def test_plans_crud_in_the_platforms_style(org):
    plans = ok(org.client.get("/api/rate_plans"))
    assert [(p["name"], p["is_default"], p["currency"], p["kind"]) for p in plans["items"]] == [("Default", True, "USD", "sell")]
    created = plan(org.client, "Wholesale EUR", currency="EUR", kind="buy", timezone="Europe/Paris", description="From Carrier X")
    assert created["is_default"] is False and created["timezone"] == "Europe/Paris"
    assert_error(org.client.post("/api/rate_plans", json={"name": "Wholesale EUR"}), 409, "DUPLICATE_NAME")
    listed = ok(org.client.get("/api/rate_plans", params={"filter": "kind eq 'buy'", "orderby": "name desc"}))
    assert [p["id"] for p in listed["items"]] == [created["id"]]
    changed = ok(org.client.patch(f"/api/rate_plans/{created['id']}", json={"description": None, "name": "Carrier X"}))
    assert changed["description"] is None and changed["name"] == "Carrier X"
    assert ok(org.client.get(f"/api/rate_plans/{created['id']}"))["name"] == "Carrier X"
    assert_error(org.client.post("/api/rate_plans", json={"name": "Bad zone", "timezone": "Mars/Olympus"}), 422)
    ok(org.client.delete(f"/api/rate_plans/{created['id']}"))
    assert_error(org.client.get(f"/api/rate_plans/{created['id']}"), 404)


def test_plans_are_scoped_and_confined_to_their_organization(org, other_org):
    mine = plan(org.client)
    assert_error(other_org.client.get(f"/api/rate_plans/{mine['id']}"), 404)
    assert_error(other_org.client.post("/api/call_rates", json=rate(rate_plan_id=mine["id"])), 422)
    assert_error(other_org.client.get("/api/call_rates", params={"rate_plan_id": mine["id"]}), 404)
    _, token = make_token(org.client, ["call_rates.read"])
    with org.server.client(token) as reader:
        assert_error(reader.get("/api/rate_plans"), 403)
        assert_error(reader.post("/api/rate_plans", json={"name": "x"}), 403)


def test_rates_belong_to_a_plan_and_the_seed_resource_stays_on_the_default_plan(org):
    retail = plan(org.client)
    default_rate = ok(org.client.post("/api/call_rates", json=rate(price_1="0.01", price_n="0.01")))
    retail_rate = ok(org.client.post("/api/call_rates", json=rate(rate_plan_id=retail["id"], price_1="0.05", price_n="0.05")))
    assert default_rate["rate_plan_id"] == org.id and retail_rate["rate_plan_id"] == retail["id"]
    assert [r["id"] for r in ok(org.client.get("/api/call_rates"))["items"]] == [default_rate["id"]]
    assert [r["id"] for r in ok(org.client.get("/api/call_rates", params={"rate_plan_id": retail["id"]}))["items"]] == [retail_rate["id"]]
    assert quote(org.client)["cost"] == 0.01
    assert quote(org.client, rate_plan_id=retail["id"])["cost"] == 0.05
    exported = org.client.get("/api/call_rates/export", params={"rate_plan_id": retail["id"]}).text
    assert "0.05000" in exported and "0.01000" not in exported
    imported = org.client.post(
        "/api/call_rates/import", params={"rate_plan_id": retail["id"]}, content="prefix,interval_1,interval_n,price_1,price_n\n33,60,60,0.07,0.07\n",
        headers={"content-type": "text/csv"},
    )
    assert ok(imported)["inserted"] == 1
    assert quote(org.client, number="33123", rate_plan_id=retail["id"])["cost"] == 0.07
    assert quote(org.client, number="33123")["status"] == "unrated"


def test_accounts_are_priced_by_their_plan_in_its_currency(org):
    retail = plan(org.client, price_list := "Retail")
    euro = plan(org.client, "Euro", currency="EUR")
    vendor = plan(org.client, "Vendor", kind="buy")
    ok(org.client.post("/api/call_rates", json=rate(price_1="0.01", price_n="0.01")))
    ok(org.client.post("/api/call_rates", json=rate(rate_plan_id=retail["id"], price_1="0.06", price_n="0.06")))
    body = assert_error(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A", "rate_plan_id": euro["id"]}), 422)
    assert "the plan is in EUR, the account in USD" in body["message"]
    assert_error(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A", "rate_plan_id": vendor["id"]}), 422)
    assert_error(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A", "rate_plan_id": "not-an-id"}), 422)
    body = assert_error(org.client.post("/api/call_rates", json=rate(rate_plan_id=euro["id"], currency="USD")), 422)
    assert body["invalidInputVars"] == [{"name": "currency", "reason": "the plan's rates are in EUR"}]
    ok(org.client.post("/api/call_rates", json=rate(rate_plan_id=euro["id"], currency="EUR")))
    account = ok(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": price_list, "rate_plan_id": retail["id"]}))
    assert account["rate_plan_id"] == retail["id"]
    assert_error(org.client.patch(f"/api/accounts/{account['id']}", json={"currency": "EUR"}), 422)
    ok(org.client.post(f"/api/accounts/{account['id']}/credit", json={"amount": "10"}))
    stored = ok(org.client.post("/api/calls", json=[cdr("on-plan", billsec=60), cdr("no-account", billsec=60, account_id=None)]))
    assert Decimal(str(stored["cost"])) == Decimal("0.07")  # 0.06 for the account's call, 0.01 on the default plan
    calls = {c["call_id"]: c for c in ok(org.client.get("/api/calls"))["items"]}
    assert calls["on-plan"]["cost"] == 0.06 and calls["no-account"]["cost"] == 0.01
    assert ok(org.client.get(f"/api/accounts/{account['id']}"))["balance"] == 9.94
    authorized = ok(org.client.get(f"/api/accounts/{account['id']}/authorize", params={"number": "4420"}))
    assert authorized["rate"]["price_1"] == 0.06
    assert_error(org.client.patch(f"/api/rate_plans/{retail['id']}", json={"kind": "buy"}), 409, "PLAN_IN_USE")
    # The plan prices accounts and has priced calls: it stays.
    assert_error(org.client.delete(f"/api/rate_plans/{retail['id']}"), 409, "PLAN_IN_USE")
    ok(org.client.patch(f"/api/accounts/{account['id']}", json={"rate_plan_id": None}))
    body = assert_error(org.client.delete(f"/api/rate_plans/{retail['id']}"), 409, "PLAN_IN_USE")
    assert "stored calls" in body["message"]
    assert_error(org.client.delete(f"/api/rate_plans/{org.id}"), 409, "PLAN_IN_USE")


def test_sms_plans_price_accounts_messages_and_never_calls(org):
    sms = plan(org.client, "SMS retail", service="sms")
    assert sms["service"] == "sms" and plan(org.client, "Voice retail")["service"] == "voice"
    listed = ok(org.client.get("/api/rate_plans", params={"filter": "service eq 'sms'"}))
    assert [p["id"] for p in listed["items"]] == [sms["id"]]
    assert_error(org.client.patch(f"/api/rate_plans/{sms['id']}", json={"service": "voice"}), 422)  # fixed at creation
    body = assert_error(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A", "rate_plan_id": sms["id"]}), 422)
    assert body["invalidInputVars"] == [{"name": "rate_plan_id", "reason": "a sms plan; rate_plan_id takes a voice plan"}]
    body = assert_error(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A", "sms_rate_plan_id": org.id}), 422)
    assert body["invalidInputVars"] == [{"name": "sms_rate_plan_id", "reason": "a voice plan; sms_rate_plan_id takes a sms plan"}]
    euro_sms = plan(org.client, "SMS EUR", service="sms", currency="EUR")
    body = assert_error(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A", "sms_rate_plan_id": euro_sms["id"]}), 422)
    assert "the plan is in EUR, the account in USD" in body["message"]
    assert_error(org.client.post("/api/vendors", json={"name": "V", "rate_plan_id": plan(org.client, "SMS buy", service="sms", kind="buy")["id"]}), 422)
    account = ok(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A", "sms_rate_plan_id": sms["id"]}))
    assert account["sms_rate_plan_id"] == sms["id"] and account["rate_plan_id"] is None
    assert_error(org.client.patch(f"/api/accounts/{account['id']}", json={"currency": "EUR"}), 422)  # its SMS plan is in USD
    body = assert_error(org.client.delete(f"/api/rate_plans/{sms['id']}"), 409, "PLAN_IN_USE")
    assert "accounts' messages are priced by it" in body["message"]
    ok(org.client.patch(f"/api/accounts/{account['id']}", json={"sms_rate_plan_id": None}))
    ok(org.client.delete(f"/api/rate_plans/{sms['id']}"))


def test_a_newer_rate_takes_over_at_its_effective_from_and_the_history_is_kept(org):
    first = ok(org.client.post("/api/call_rates", json=rate(price_1="0.01", price_n="0.01")))
    assert first["effective_from"] is None and first["effective_to"] is None
    second = ok(org.client.post("/api/call_rates", json=rate(price_1="0.02", price_n="0.02", effective_from="2026-06-01T00:00:00Z")))
    assert ok(org.client.get(f"/api/call_rates/{first['id']}"))["effective_to"] == "2026-06-01T00:00:00Z"
    assert quote(org.client, at="2026-05-31T23:59:59Z")["cost"] == 0.01
    assert quote(org.client, at="2026-06-01T00:00:00Z")["cost"] == 0.02
    # What did prefix 44 cost on 2026-03-01?
    then = ok(org.client.get("/api/call_rates", params={"at": "2026-03-01T00:00:00Z", "filter": "prefix eq '44'"}))
    assert [r["id"] for r in then["items"]] == [first["id"]] and then["count"] == 1
    assert ok(org.client.get("/api/call_rates"))["count"] == 2  # every version
    body = assert_error(org.client.post("/api/call_rates", json=rate(effective_from="2026-06-01T00:00:00Z")), 409, "OVERLAPPING_RATES")
    assert second["id"] in body["message"]
    assert_error(org.client.post("/api/call_rates", json=rate()), 409, "DUPLICATE_PREFIX")
    assert_error(org.client.post("/api/call_rates", json=rate(effective_to="2027-01-01T00:00:00Z")), 422)
    assert_error(org.client.post("/api/call_rates", json=rate(effective_from="2026-06-01T00:00:00")), 422)  # no offset
    # Calls are priced by the rate in force at their start.
    ok(org.client.post("/api/calls", json=[
        call("may", "2026-05-15T10:00:00Z", account_id=None),
        call("june", "2026-06-15T10:00:00Z", account_id=None),
    ]))
    costs = {c["call_id"]: c["cost"] for c in ok(org.client.get("/api/calls"))["items"]}
    assert costs == {"may": 0.01, "june": 0.02}
    # A correction of the old version re-rates the old calls only.
    ok(org.client.patch(f"/api/call_rates/{first['id']}", json={"price_1": "0.015", "price_n": "0.015"}))
    job = rerate(org.client, {"start_date": "2026-05-01", "end_date": "2026-06-30"})
    assert (job["calls"], job["changed"]) == (2, 1)
    costs = {c["call_id"]: c["cost"] for c in ok(org.client.get("/api/calls"))["items"]}
    assert costs == {"may": 0.015, "june": 0.02}
    # Deleting the newer version lets the older one run on.
    ok(org.client.delete(f"/api/call_rates/{second['id']}"))
    assert ok(org.client.get(f"/api/call_rates/{first['id']}"))["effective_to"] is None


def test_moving_a_version_chains_its_neighbours_again(org):
    first = ok(org.client.post("/api/call_rates", json=rate()))
    second = ok(org.client.post("/api/call_rates", json=rate(effective_from="2026-06-01T00:00:00Z", price_1="0.5")))

    def ends():
        return [ok(org.client.get(f"/api/call_rates/{r['id']}"))["effective_to"] for r in (first, second)]

    ok(org.client.patch(f"/api/call_rates/{second['id']}", json={"effective_from": "2026-07-01T00:00:00Z"}))
    assert ends() == ["2026-07-01T00:00:00Z", None]
    ok(org.client.patch(f"/api/call_rates/{second['id']}", json={"effective_from": "2026-01-01T00:00:00+02:00"}))
    assert ends() == ["2025-12-31T22:00:00Z", None]
    assert_error(org.client.patch(f"/api/call_rates/{second['id']}", json={"effective_from": None}), 409, "DUPLICATE_PREFIX")  # the first is
    ok(org.client.patch(f"/api/call_rates/{first['id']}", json={"effective_from": "2027-01-01T00:00:00Z"}))
    assert ends() == [None, "2027-01-01T00:00:00Z"]  # the first now follows the second
    assert quote(org.client, at="2026-12-31T00:00:00Z")["rate"]["id"] == second["id"]
    assert quote(org.client, at="2025-01-01T00:00:00Z")["status"] == "unrated"
    ok(org.client.patch(f"/api/call_rates/{second['id']}", json={"period": None, "prefix": "33"}))
    assert ends() == [None, None]


CSV = "prefix,interval_1,interval_n,price_1,price_n\n"


def test_a_list_dated_in_the_future_changes_nothing_until_then_and_replace_ends_what_it_lacks(org):
    def load(text: str, **params):
        return ok(org.client.post("/api/call_rates/import", params=params, content=CSV + text, headers={"content-type": "text/csv"}))

    load("44,60,60,0.01,0.01\n33,60,60,0.03,0.03\n")
    result = load("44,60,60,0.02,0.02\n", mode="replace", effective_from="2099-01-01T00:00:00Z")
    assert (result["inserted"], result["updated"]) == (1, 0)
    assert quote(org.client)["cost"] == 0.01 and quote(org.client, number="33")["cost"] == 0.03
    assert quote(org.client, at="2099-01-01T00:00:00Z")["cost"] == 0.02
    gone = quote(org.client, number="33", at="2099-01-02T00:00:00Z")
    assert gone["status"] == "unrated" and gone["unrated_reason"] == "no_matching_prefix"
    ended = ok(org.client.get("/api/call_rates", params={"filter": "prefix eq '33'"}))["items"][0]
    assert ended["effective_to"] == "2099-01-01T00:00:00Z"
    # The same dated list again changes the same versions, in place.
    again = load("44,60,60,0.025,0.025\n", mode="replace", effective_from="2099-01-01T00:00:00Z")
    assert (again["inserted"], again["updated"]) == (0, 1)
    assert quote(org.client, at="2099-06-01T00:00:00Z")["cost"] == 0.025
    # A corrected full list for the same date replaces the first before it takes effect.
    load("44,60,60,0.03,0.03\n49,60,60,0.04,0.04\n", mode="replace", effective_from="2099-01-01T00:00:00Z")
    load("44,60,60,0.03,0.03\n", mode="replace", effective_from="2099-01-01T00:00:00Z")
    assert quote(org.client, number="49", at="2099-02-01T00:00:00Z")["status"] == "unrated"
    assert ok(org.client.get("/api/call_rates", params={"filter": "prefix eq '49'"}))["count"] == 0
    # Rows may carry their own date; a repeated version in one file is a bad row.
    body = assert_error(
        org.client.post(
            "/api/call_rates/import",
            content="prefix,interval_1,interval_n,price_1,price_n,effective_from\n49,60,60,1,1,2030-01-01T00:00:00Z\n49,60,60,2,2,2030-01-01T00:00:00Z\n",
            headers={"content-type": "text/csv"},
        ),
        422,
        "INVALID_DECK",
    )
    assert body["rowErrors"][0]["line"] == 3 and "duplicate prefix 49" in body["rowErrors"][0]["reason"]


@pytest.mark.parametrize(
    ("at", "period", "cost"),
    [
        ("2026-03-27T19:59:00Z", "peak", 0.1),  # Friday 19:59 GMT
        ("2026-03-27T20:00:00Z", "offpeak", 0.05),
        ("2026-03-28T12:00:00Z", "weekend", 0.02),  # Saturday: the rate for every period
        ("2026-03-30T06:59:00Z", "offpeak", 0.05),  # Monday 07:59 BST, after the spring change
        ("2026-03-30T07:00:00Z", "peak", 0.1),  # Monday 08:00 BST
        ("2026-10-26T07:59:00Z", "offpeak", 0.05),  # Monday 07:59 GMT, after the autumn change
        ("2026-10-26T08:00:00Z", "peak", 0.1),
    ],
)
def test_a_call_is_priced_by_the_period_at_its_start_in_the_plans_timezone(org, at, period, cost):
    london = plan(org.client, "London", timezone="Europe/London", periods=PEAK)
    for name, price in (("peak", "0.1"), ("offpeak", "0.05"), (None, "0.02")):
        ok(org.client.post("/api/call_rates", json=rate(rate_plan_id=london["id"], period=name, price_1=price, price_n=price)))
    answer = quote(org.client, rate_plan_id=london["id"], at=at)
    assert (answer["period"], answer["cost"]) == (period, cost)
    account = ok(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A", "rate_plan_id": london["id"]}))
    ok(org.client.post("/api/calls", json=call("c1", at)))
    stored = ok(org.client.get("/api/calls"))["items"][0]
    assert (stored["cost"], stored["rate_plan_id"], stored["period"]) == (cost, london["id"], period)
    assert account["id"]


def test_period_schedules_are_checked(org):
    gap = [window for window in PEAK if window["period"] != "weekend"]
    body = assert_error(org.client.post("/api/rate_plans", json={"name": "Gap", "periods": gap}), 422)
    assert "no period covers sat 00:00" in body["message"]
    overlap = [*PEAK, {"period": "late", "days": ["mon"], "start": "19:00", "end": "21:00"}]
    body = assert_error(org.client.post("/api/rate_plans", json={"name": "Overlap", "periods": overlap}), 422)
    assert "overlaps" in body["message"]
    assert_error(org.client.post("/api/rate_plans", json={"name": "Bad", "periods": [{**PEAK[0], "end": "25:00"}]}), 422)
    london = plan(org.client, "London", periods=PEAK)
    body = assert_error(org.client.post("/api/call_rates", json=rate(rate_plan_id=london["id"], period="night")), 422)
    assert "no period night" in body["message"]
    ok(org.client.post("/api/call_rates", json=rate(rate_plan_id=london["id"], period="weekend")))
    assert_error(org.client.patch(f"/api/rate_plans/{london['id']}", json={"periods": []}), 409, "PERIOD_IN_USE")


def test_a_quote_and_an_authorize_after_a_change_to_a_named_plan_see_it(org):
    retail = plan(org.client)
    created = ok(org.client.post("/api/call_rates", json=rate(rate_plan_id=retail["id"], price_1="0.06", price_n="0.06")))
    account = ok(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A", "rate_plan_id": retail["id"]}))
    ok(org.client.post(f"/api/accounts/{account['id']}/credit", json={"amount": "6"}))
    assert ok(org.client.get(f"/api/accounts/{account['id']}/authorize", params={"number": "44"}))["max_seconds"] == 6000
    assert quote(org.client, rate_plan_id=retail["id"])["cost"] == 0.06
    ok(org.client.patch(f"/api/call_rates/{created['id']}", json={"price_1": "0.12", "price_n": "0.12"}))
    assert quote(org.client, rate_plan_id=retail["id"])["cost"] == 0.12
    assert ok(org.client.get(f"/api/accounts/{account['id']}/authorize", params={"number": "44"}))["max_seconds"] == 3000
    later = ok(org.client.get(f"/api/accounts/{account['id']}/authorize", params={"number": "44", "at": "2020-01-01T00:00:00Z"}))
    assert later["max_seconds"] == 3000
