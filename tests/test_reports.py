"""`/api/reports/call-data` over HTTP: sums per group from the daily totals (by account and
prefix, from the calls), kept right through duplicates and re-rating; UTC days, inclusive
end; CSV; the shared error body; the reports scope."""

import csv
import io

import pytest

from tests.helpers import assert_error, rate, rerate

REPORT = "/api/reports/call-data"
MAY = {"start_date": "2024-05-01", "end_date": "2024-05-03"}


def cdr(call_id: str, callee: str, billsec: int, start: str, account_id: str | None) -> dict:
    return {"call_id": call_id, "account_id": account_id, "callee": callee, "start": start, "duration": billsec + 5, "billsec": billsec}


# Costs with the deck below (44: 0.012/min in 60 s then 6 s steps; 447: 0.1/min): see test_calls.py.
CALLS = [
    cdr("c1", "+44 20 7946 0000", 125, "2024-05-01T10:00:00Z", "acct-a"),  # 0.0252
    cdr("c2", "447700900123", 60, "2024-05-01T23:30:00-01:00", "acct-a"),  # 2 May in UTC; 0.1
    cdr("c3", "+99 123", 30, "2024-05-02T12:00:00Z", "acct-b"),  # unrated: counted, costs nothing
    cdr("c4", "+44 1", 0, "2024-05-03T00:00:00Z", "acct-b"),  # not answered: 0
    cdr("c5", "0044 1", 61, "2024-05-03T23:59:59.999Z", "acct-a"),  # last moment of 3 May; 0.0132
    cdr("c6", "441", 7, "2024-04-30T23:59:59Z", None),  # before the range; 0.012
    cdr("c7", "441", 60, "2024-05-01T00:30:00+02:00", "acct-b"),  # 30 April in UTC; 0.012
]


def row(calls: int, answered: int, unrated: int, billsec: int, cost: float | None, **keys) -> dict:
    return {**keys, "calls": calls, "answered": answered, "unrated": unrated, "billsec": billsec, "cost": cost}


@pytest.fixture
def calls(org):
    assert org.client.post("/api/call_rates", json=rate(prefix="44")).status_code == 200
    assert org.client.post("/api/call_rates", json=rate(prefix="447", type="MOBILE", price_1="0.1", price_n="0.1")).status_code == 200
    body = org.client.post("/api/calls", json=CALLS).json()
    assert body["stored"] == len(CALLS) and body["unrated"] == 1, body
    return org


def report(org, **params) -> list[dict]:
    response = org.client.get(REPORT, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["guid"] == response.headers["x-request-id"]
    return body["data"]


BY_DAY = [
    row(1, 1, 0, 125, 0.0252, day="2024-05-01"),
    row(2, 2, 1, 90, 0.1, day="2024-05-02"),
    row(2, 1, 0, 61, 0.0132, day="2024-05-03"),
]


def test_by_day_in_utc_days_with_inclusive_end(calls):
    assert report(calls, **MAY) == BY_DAY
    assert report(calls, **MAY, group_by="day") == BY_DAY  # the default
    assert report(calls, start_date="2024-05-01", end_date="2024-05-01") == BY_DAY[:1]
    assert report(calls, start_date="2024-04-30", end_date="2024-04-30") == [row(2, 2, 0, 67, 0.024, day="2024-04-30")]
    assert report(calls, start_date="2024-06-01", end_date="2024-06-30") == []


def test_by_account_type_and_prefix(calls):
    assert report(calls, **MAY, group_by="account") == [
        row(3, 3, 0, 246, 0.1384, account_id="acct-a"),
        row(2, 1, 1, 30, 0.0, account_id="acct-b"),
    ]
    assert report(calls, **MAY, group_by="type") == [
        row(1, 1, 1, 30, None, type=None),
        row(3, 2, 0, 186, 0.0384, type="INTERNATIONAL"),
        row(1, 1, 0, 60, 0.1, type="MOBILE"),
    ]
    assert report(calls, **MAY, group_by="prefix") == [
        row(1, 1, 1, 30, None, prefix=None),
        row(3, 2, 0, 186, 0.0384, prefix="44"),
        row(1, 1, 0, 60, 0.1, prefix="447"),
    ]
    no_account = report(calls, start_date="2024-04-30", end_date="2024-04-30", group_by="account")
    assert no_account == [row(1, 1, 0, 7, 0.012, account_id=None), row(1, 1, 0, 60, 0.012, account_id="acct-b")]


def test_combined_groupings(calls):
    assert report(calls, **MAY, group_by="day,account") == [
        row(1, 1, 0, 125, 0.0252, day="2024-05-01", account_id="acct-a"),
        row(1, 1, 0, 60, 0.1, day="2024-05-02", account_id="acct-a"),
        row(1, 1, 1, 30, None, day="2024-05-02", account_id="acct-b"),
        row(1, 1, 0, 61, 0.0132, day="2024-05-03", account_id="acct-a"),
        row(1, 0, 0, 0, 0.0, day="2024-05-03", account_id="acct-b"),
    ]
    assert report(calls, **MAY, group_by="account, type,prefix") == [
        row(2, 2, 0, 186, 0.0384, account_id="acct-a", type="INTERNATIONAL", prefix="44"),
        row(1, 1, 0, 60, 0.1, account_id="acct-a", type="MOBILE", prefix="447"),
        row(1, 1, 1, 30, None, account_id="acct-b", type=None, prefix=None),
        row(1, 0, 0, 0, 0.0, account_id="acct-b", type="INTERNATIONAL", prefix="44"),
    ]
    # By account and prefix the report reads the calls: the same UTC days as the totals.
    assert report(calls, **MAY, group_by="day,account,prefix") == [
        row(1, 1, 0, 125, 0.0252, day="2024-05-01", account_id="acct-a", prefix="44"),
        row(1, 1, 0, 60, 0.1, day="2024-05-02", account_id="acct-a", prefix="447"),
        row(1, 1, 1, 30, None, day="2024-05-02", account_id="acct-b", prefix=None),
        row(1, 1, 0, 61, 0.0132, day="2024-05-03", account_id="acct-a", prefix="44"),
        row(1, 0, 0, 0, 0.0, day="2024-05-03", account_id="acct-b", prefix="44"),
    ]
    assert report(calls, **MAY, group_by="prefix,day") == [
        row(1, 1, 1, 30, None, prefix=None, day="2024-05-02"),
        row(1, 1, 0, 125, 0.0252, prefix="44", day="2024-05-01"),
        row(2, 1, 0, 61, 0.0132, prefix="44", day="2024-05-03"),
        row(1, 1, 0, 60, 0.1, prefix="447", day="2024-05-02"),
    ]


def test_account_filter(calls):
    assert report(calls, **MAY, account_id="acct-b") == [
        row(1, 1, 1, 30, None, day="2024-05-02"),
        row(1, 0, 0, 0, 0.0, day="2024-05-03"),
    ]
    assert report(calls, **MAY, account_id="acct-b", group_by="prefix") == [
        row(1, 1, 1, 30, None, prefix=None),
        row(1, 0, 0, 0, 0.0, prefix="44"),
    ]
    assert report(calls, **MAY, account_id="nobody") == []


def test_csv(calls):
    response = calls.client.get(REPORT, params={**MAY, "group_by": "type"}, headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["type", "calls", "answered", "unrated", "billsec", "cost"],
        ["", "1", "1", "1", "30", ""],  # never priced: no cost, not 0,
        ["INTERNATIONAL", "3", "2", "0", "186", "0.03840"],
        ["MOBILE", "1", "1", "0", "60", "0.10000"],
    ]
    empty = calls.client.get(REPORT, params={"start_date": "2030-01-01", "end_date": "2030-01-01"}, headers={"Accept": "text/csv"})
    assert empty.text.splitlines() == ["day,calls,answered,unrated,billsec,cost"]


def test_totals_ignore_resent_cdrs(calls):
    again = [{**CALLS[0], "billsec": 600, "duration": 600}, CALLS[2], cdr("c8", "+44 1", 60, "2024-05-02T08:00:00Z", "acct-a")]
    body = calls.client.post("/api/calls", json=again).json()
    assert body["stored"] == 1 and body["duplicate_call_ids"] == ["c1", "c3"]
    assert report(calls, **MAY) == [BY_DAY[0], row(3, 3, 1, 150, 0.112, day="2024-05-02"), BY_DAY[2]]
    batch = calls.client.post("/api/calls", json=[CALLS[3], CALLS[3]]).json()
    assert batch["stored"] == 0 and batch["duplicates"] == 2
    assert report(calls, **MAY, group_by="account")[1] == row(2, 1, 1, 30, 0.0, account_id="acct-b")


def test_totals_follow_rerating(calls):
    rate_id = calls.client.get("/api/call_rates", params={"filter": "prefix eq '44'"}).json()["items"][0]["id"]
    assert calls.client.patch(f"/api/call_rates/{rate_id}", json={"price_1": "0.024", "price_n": "0.024"}).status_code == 200
    assert calls.client.post("/api/call_rates", json=rate(prefix="99", type="NATIONAL")).status_code == 200
    body = rerate(calls.client, MAY)
    assert body["calls"] == 5 and body["changed"] == 4  # c1, c4, c5 (44's new prices; c4 still costs 0) and c3 (now rated)
    assert report(calls, **MAY, group_by="prefix") == [
        row(3, 2, 0, 186, 0.0768, prefix="44"),
        row(1, 1, 0, 60, 0.1, prefix="447"),
        row(1, 1, 0, 30, 0.012, prefix="99"),  # the unrated group is gone, not left at zero
    ]
    assert report(calls, **MAY, group_by="type") == [
        row(3, 2, 0, 186, 0.0768, type="INTERNATIONAL"),
        row(1, 1, 0, 60, 0.1, type="MOBILE"),
        row(1, 1, 0, 30, 0.012, type="NATIONAL"),
    ]
    assert report(calls, **MAY) == [
        row(1, 1, 0, 125, 0.0504, day="2024-05-01"),
        row(2, 2, 0, 90, 0.112, day="2024-05-02"),
        row(2, 1, 0, 61, 0.0264, day="2024-05-03"),
    ]
    # Outside the re-rated range nothing moved.
    assert report(calls, start_date="2024-04-30", end_date="2024-04-30") == [row(2, 2, 0, 67, 0.024, day="2024-04-30")]
    assert rerate(calls.client, MAY)["changed"] == 0


def test_rerating_one_account(calls):
    rate_id = calls.client.get("/api/call_rates", params={"filter": "prefix eq '447'"}).json()["items"][0]["id"]
    assert calls.client.delete(f"/api/call_rates/{rate_id}").status_code == 200
    body = rerate(calls.client, {**MAY, "account_id": "acct-a"})
    assert body["calls"] == 3 and body["changed"] == 1  # c2 now matches 44: 0.012
    assert report(calls, **MAY, group_by="account,prefix") == [
        row(3, 3, 0, 246, 0.0504, account_id="acct-a", prefix="44"),
        row(1, 1, 1, 30, None, account_id="acct-b", prefix=None),
        row(1, 0, 0, 0, 0.0, account_id="acct-b", prefix="44"),
    ]


def test_missing_dates(org):
    body = assert_error(org.client.get(REPORT), 400, "MISSING_REQUIRED_PARAMS")
    assert body["missingInputVars"] == ["start_date", "end_date"]
    body = assert_error(org.client.get(REPORT, params={"start_date": "2024-05-01"}), 400, "MISSING_REQUIRED_PARAMS")
    assert body["missingInputVars"] == ["end_date"]


@pytest.mark.parametrize("group_by", ["week", "day,day", "", "day,,prefix,tax"])
def test_bad_group_by(org, group_by):
    body = assert_error(org.client.get(REPORT, params={**MAY, "group_by": group_by}), 400)  # a bad query parameter is 400, whichever it is
    assert [problem["name"] for problem in body["invalidInputVars"]] == ["group_by"]


def test_bad_dates(org):
    body = assert_error(org.client.get(REPORT, params={"start_date": "2024-05-02", "end_date": "2024-05-01"}), 400)
    assert body["invalidInputVars"][0]["name"] == "end_date"
    body = assert_error(org.client.get(REPORT, params={"start_date": "2024-13-01", "end_date": "2024-05-01"}), 400)
    assert "start_date" in body["errorDetail"] + body["message"] + str(body.get("invalidInputVars"))


def test_reports_are_per_org(calls, other_org):
    assert report(other_org, **MAY) == []


def test_needs_reports_read(calls):
    response = calls.client.post("/api/tokens", json={"name": "calls only", "scopes": ["calls.read", "calls.create"]})
    assert response.status_code == 200, response.text
    with calls.server.client(response.json()["token"]) as narrow:
        assert_error(narrow.get(REPORT, params=MAY), 403)
    response = calls.client.post("/api/tokens", json={"name": "reports", "scopes": ["reports.read"]})
    with calls.server.client(response.json()["token"]) as reader:
        assert reader.get(REPORT, params=MAY).json()["data"] == BY_DAY
