"""Invoices over HTTP, on every backend: lines and exact totals, closed months only, numbers
without gaps, immutability and adjustments, the account's time zone, CSV and PDF, scopes."""

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pypdfium2
import pytest
from sqlalchemy import update

from tests.helpers import assert_error, cdr, make_token, ok, rate, rerate
from tests.test_messages import sms_account, smsc_route
from trunkline.db.engine import make_engine
from trunkline.db.tables import account_transactions
from trunkline.kit import ids


def call(call_id: str, start: str, callee: str = "+44 20 7946 0000", billsec: int = 60, account_id: str = "acct-1") -> dict:
    """A CDR of `account_id` started at `start` (ISO 8601, UTC), answered at once."""
    return cdr(call_id, callee=callee, billsec=billsec, start=start, answer=start, account_id=account_id)


def deck(client) -> dict[str, str]:
    """44 (0.012/min, 60/6), 49 (0.02/min, 60/60) and 33 without a description: their ids."""
    rates = (rate(), rate(prefix="49", price_1="0.02", price_n="0.02", interval_n=60, description="Germany"), rate(prefix="33", price_1="0.01", price_n="0.01", interval_n=60, description=None))
    return {fields["prefix"]: ok(client.post("/api/call_rates", json=fields))["id"] for fields in rates}


def account(client, account_id: str = "acct-1", **fields) -> dict:
    return ok(client.post("/api/accounts", json={"account_id": account_id, "name": f"Customer {account_id}", **fields}))


def issue(client, account_id: str, period: str) -> dict:
    return ok(client.post("/api/invoices", json={"account_id": account_id, "period": period}))


def backdate(org, entry_id: str, moment: datetime) -> None:
    """A ledger entry made at `moment` (a top-up in a month that has ended)."""
    engine = make_engine(org.server.settings.sqlalchemy_url)
    with engine.begin() as conn:
        conn.execute(update(account_transactions).where(account_transactions.c.id == ids.decode(entry_id)).values(created_at=moment))
    engine.dispose()


def money(value) -> Decimal:
    return Decimal(str(value))


def current_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def test_an_invoice_bills_the_months_calls_by_destination_with_credits_and_tax(org):
    deck(org.client)
    customer = account(org.client, tax_rate="0.19")
    account(org.client, "acct-2")
    topup = ok(org.client.post(f"/api/accounts/{customer['id']}/credit", json={"amount": "10", "note": "bank transfer 4711"}))
    backdate(org, topup["id"], datetime(2026, 3, 10, 9, tzinfo=UTC))
    ok(org.client.post(f"/api/accounts/{customer['id']}/credit", json={"amount": "5"}))  # made now: not March's
    ok(org.client.post("/api/calls", json=[
        call("m1", "2026-03-01T00:00:00Z", billsec=125),  # 0.0252
        call("m2", "2026-03-15T12:00:00Z", billsec=61),  # 0.0132
        call("m3", "2026-03-20T08:00:00Z", callee="+49 30 1234567", billsec=90),  # 0.04
        call("m4", "2026-03-21T08:00:00Z", callee="+33 1 23456789", billsec=60),  # 0.01, no description: its prefix
        call("m5", "2026-03-22T08:00:00Z", billsec=0),  # not answered
        call("m6", "2026-03-23T08:00:00Z", callee="+99 123", billsec=30),  # unrated: not billed
        call("m7", "2026-03-24T08:00:00Z", account_id="acct-2"),  # another account
        call("m8", "2026-04-01T00:00:00Z"),  # April
        call("m9", "2026-02-28T23:59:59Z"),  # February
    ]))
    invoice = issue(org.client, "acct-1", "2026-03")
    assert invoice["success"] is True and invoice["number"] == 1 and invoice["status"] == "issued"
    assert (invoice["account"], invoice["account_id"], invoice["account_name"]) == (customer["id"], "acct-1", "Customer acct-1")
    assert (invoice["period"], invoice["period_start"], invoice["period_end"], invoice["timezone"]) == ("2026-03", "2026-03-01", "2026-03-31", "UTC")
    usage = [(line["description"], line["prefix"], line["calls"], line["seconds"], line["minutes"], money(line["amount"])) for line in invoice["lines"] if line["kind"] == "usage"]
    assert usage == [
        ("33", "33", 1, 60, 1.0, Decimal("0.01")),
        ("Germany", "49", 1, 90, 1.5, Decimal("0.04")),
        ("United Kingdom", "44", 2, 186, 3.1, Decimal("0.0384")),
    ]
    credits = [(line["description"], money(line["amount"])) for line in invoice["lines"] if line["kind"] == "credit"]
    assert credits == [("Top-up 2026-03-10: bank transfer 4711", Decimal(10))]
    assert [line["position"] for line in invoice["lines"]] == [1, 2, 3, 4]
    assert (invoice["calls"], invoice["seconds"], invoice["unrated_calls"]) == (4, 336, 1)
    totals = {name: money(invoice[name]) for name in ("usage", "adjustment", "subtotal", "tax_rate", "tax", "total", "credits", "due")}
    assert totals == {
        "usage": Decimal("0.0884"), "adjustment": 0, "subtotal": Decimal("0.0884"), "tax_rate": Decimal("0.19"),
        "tax": Decimal("0.0168"),  # 0.016796, rounded half up to five places
        "total": Decimal("0.1052"), "credits": Decimal(10), "due": Decimal("-9.8948"),
    }
    assert ok(org.client.get(f"/api/invoices/{invoice['id']}")) == {key: value for key, value in invoice.items() if key not in ("success", "guid")}


def test_only_a_month_that_has_ended_and_once(org):
    account(org.client)
    body = assert_error(org.client.post("/api/invoices", json={"account_id": "acct-1", "period": current_month()}), 409, "PERIOD_OPEN")
    assert "has not ended in UTC" in body["message"]
    assert_error(org.client.post("/api/invoices", json={"account_id": "acct-1", "period": "2999-01"}), 409, "PERIOD_OPEN")
    first = issue(org.client, "acct-1", "2026-03")
    assert_error(org.client.post("/api/invoices", json={"account_id": "acct-1", "period": "2026-03"}), 409, "DUPLICATE_INVOICE")
    assert_error(org.client.post("/api/invoices", json={"account_id": "acct-1", "period": "2026-02"}), 409, "OUT_OF_ORDER")
    body = assert_error(org.client.post("/api/invoices", json={"account_id": "nobody", "period": "2026-03"}), 422)
    assert body["invalidInputVars"] == [{"name": "account_id", "reason": "no such account"}]
    for period in ("2026-13", "2026-3", "26-03", "1969-12"):
        assert_error(org.client.post("/api/invoices", json={"account_id": "acct-1", "period": period}), 422)
    # Refusals take no number: the next invoice is 2.
    assert issue(org.client, first["account"], "2026-04")["number"] == 2


def test_numbers_run_without_gaps_per_organization_even_when_issued_at_once(org, other_org):
    for number in range(8):
        account(org.client, f"acct-{number}")
    account(other_org.client, "acct-0")
    assert issue(org.client, "acct-0", "2026-01")["number"] == 1
    assert issue(other_org.client, "acct-0", "2026-01")["number"] == 1  # each organization counts its own
    assert issue(org.client, "acct-0", "2026-02")["number"] == 2
    assert_error(org.client.post("/api/invoices", json={"account_id": "acct-0", "period": "2026-02"}), 409)

    def attempt(job: tuple[int, str]):
        number, period = job
        with org.server.client(org.token) as client:
            return client.post("/api/invoices", json={"account_id": f"acct-{number}", "period": period})

    jobs = [(number, "2026-01") for number in range(1, 8) for _ in range(3)]  # two of each three are duplicates
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, jobs))
    assert sorted(answer.status_code for answer in answers) == [200] * 7 + [409] * 14
    assert sorted(answer.json()["number"] for answer in answers if answer.status_code == 200) == list(range(3, 10))
    listed = ok(org.client.get("/api/invoices", params={"orderby": "number desc", "top": 3}))
    assert listed["count"] == 9 and [item["number"] for item in listed["items"]] == [9, 8, 7]
    assert ok(other_org.client.get("/api/invoices"))["count"] == 1
    with org.server.client(org.server.operator_token) as operator:  # an organization goes with its invoices
        ok(operator.delete(f"/api/organizations/{other_org.id}"))


def test_an_issued_invoice_never_changes_and_a_rerate_goes_onto_the_next_one(org):
    rates = deck(org.client)
    account(org.client, tax_rate="0.1")
    ok(org.client.post("/api/calls", json=[call("m1", "2026-03-02T10:00:00Z", billsec=125), call("a1", "2026-04-02T10:00:00Z", billsec=60)]))
    march = issue(org.client, "acct-1", "2026-03")
    assert money(march["usage"]) == Decimal("0.0252") and money(march["total"]) == Decimal("0.02772")
    shown = ok(org.client.get(f"/api/invoices/{march['id']}"))

    ok(org.client.patch(f"/api/call_rates/{rates['44']}", json={"price_1": "0.024", "price_n": "0.024"}))
    assert rerate(org.client, {"start_date": "2026-03-01", "end_date": "2026-04-30"})["changed"] == 2
    ok(org.client.post("/api/calls", json=[call("m2", "2026-03-30T10:00:00Z", billsec=60)]))  # a CDR of March, late
    assert ok(org.client.get(f"/api/invoices/{march['id']}")) == shown
    assert_error(org.client.delete(f"/api/invoices/{march['id']}"), 405)
    assert_error(org.client.patch(f"/api/invoices/{march['id']}", json={"period": "2026-05"}), 405)

    april = issue(org.client, "acct-1", "2026-04")
    usage = [(line["prefix"], line["calls"], money(line["amount"])) for line in april["lines"] if line["kind"] == "usage"]
    assert usage == [("44", 1, Decimal("0.024"))]  # April's call at the new price
    (adjustment,) = [line for line in april["lines"] if line["kind"] == "adjustment"]
    # March now costs 0.0504 (125 s at 0.024) + 0.024 (the late call); March's invoice billed 0.0252.
    assert money(adjustment["amount"]) == money(april["adjustment"]) == Decimal("0.0492")
    assert "since invoice 1" in adjustment["description"]
    assert money(april["subtotal"]) == Decimal("0.0732") and money(april["tax"]) == Decimal("0.00732")
    # Over time the invoices bill exactly what the calls cost now.
    calls = ok(org.client.get("/api/calls", params={"filter": "account_id eq 'acct-1'"}))["items"]
    assert money(march["subtotal"]) + money(april["subtotal"]) == sum(money(c["cost"]) for c in calls)
    # Nothing changed since: the next invoice has no adjustment.
    may = issue(org.client, "acct-1", "2026-05")
    assert money(may["adjustment"]) == 0 and may["lines"] == []


def test_the_month_is_the_accounts_month_in_its_timezone(org):
    deck(org.client)
    paris = account(org.client, timezone="Europe/Paris")
    assert paris["timezone"] == "Europe/Paris" and money(paris["tax_rate"]) == 0
    ok(org.client.post("/api/calls", json=[
        call("feb-utc", "2026-02-28T23:30:00Z"),  # 00:30 on 1 March in Paris
        call("mar-utc", "2026-03-31T23:30:00Z"),  # 01:30 on 1 April in Paris (summer time)
        call("mar-paris", "2026-03-31T21:30:00Z"),  # 23:30 on 31 March in Paris
    ]))
    march = issue(org.client, "acct-1", "2026-03")
    assert march["timezone"] == "Europe/Paris" and march["calls"] == 2
    april = issue(org.client, "acct-1", "2026-04")
    assert april["calls"] == 1 and (april["period_start"], april["period_end"]) == ("2026-04-01", "2026-04-30")
    # Changing the zone changes the months of invoices issued from then on, not of those issued.
    ok(org.client.patch(f"/api/accounts/{paris['id']}", json={"timezone": "America/New_York", "tax_rate": "0.07"}))
    assert ok(org.client.get(f"/api/invoices/{march['id']}"))["timezone"] == "Europe/Paris"
    assert_error(org.client.patch(f"/api/accounts/{paris['id']}", json={"timezone": "Mars/Olympus"}), 422)
    for bad in ("1.5", "-0.1", "0.123456"):
        assert_error(org.client.patch(f"/api/accounts/{paris['id']}", json={"tax_rate": bad}), 422)
    listed = ok(org.client.get("/api/accounts", params={"filter": "timezone eq 'America/New_York' and tax_rate eq 0.07"}))
    assert [item["id"] for item in listed["items"]] == [paris["id"]]


def test_csv_and_pdf(org):
    deck(org.client)
    account(org.client, tax_rate="0.2")
    ok(org.client.post("/api/calls", json=[call("m1", "2026-03-02T10:00:00Z", billsec=125), call("m2", "2026-03-02T11:00:00Z", callee="+49 30 1", billsec=30)]))
    invoice = issue(org.client, "acct-1", "2026-03")
    as_csv = org.client.get(f"/api/invoices/{invoice['id']}.csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert org.client.get(f"/api/invoices/{invoice['id']}", headers={"Accept": "text/csv"}).text == as_csv.text
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(row["kind"], row["description"], row["amount"]) for row in rows] == [
        ("usage", "Germany", "0.02000"),
        ("usage", "United Kingdom", "0.02520"),
        ("subtotal", "Usage and adjustment", "0.04520"),
        ("tax", "Tax 20 %", "0.00904"),
        ("total", "Subtotal and tax", "0.05424"),
        ("credits", "Top-ups and adjustments in the period", "0.00000"),
        ("due", "Total less credits", "0.05424"),
    ]
    assert {row["invoice"] for row in rows} == {"1"} and rows[1]["minutes"] == "2.08" and rows[1]["seconds"] == "125"

    as_pdf = org.client.get(f"/api/invoices/{invoice['id']}.pdf")
    assert as_pdf.status_code == 200 and as_pdf.headers["content-type"] == "application/pdf" and as_pdf.content.startswith(b"%PDF")
    assert org.client.get(f"/api/invoices/{invoice['id']}", headers={"Accept": "application/pdf"}).content[:5] == b"%PDF-"
    binary = org.client.get(f"/api/invoices/{invoice['id']}.pdf", headers={"Accept": "application/octet-stream"})
    assert binary.headers["content-type"] == "application/octet-stream" and binary.content.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(as_pdf.content)
    assert len(document) == 1
    text = document[0].get_textpage().get_text_range()
    for expected in ("Invoice 1", "Customer acct-1 (acct-1)", "United Kingdom", "0.0252", "Tax 20 %", "0.05424", "page 1 of 1"):
        assert expected in text, expected


def test_a_long_invoice_runs_over_pages(org):
    prefixes = [str(prefix) for prefix in range(3100, 3190)]
    deck_csv = "prefix,interval_1,interval_n,price_1,price_n,description\n" + "".join(f"{p},60,60,0.01,0.01,Zone {p}\n" for p in prefixes)
    ok(org.client.post("/api/call_rates/import", content=deck_csv, headers={"content-type": "text/csv"}))
    account(org.client)
    ok(org.client.post("/api/calls", json=[call(f"c{p}", "2026-03-05T10:00:00Z", callee=f"+{p}0000") for p in prefixes]))
    invoice = issue(org.client, "acct-1", "2026-03")
    assert len(invoice["lines"]) == 90 and money(invoice["total"]) == Decimal("0.9")
    document = pypdfium2.PdfDocument(org.client.get(f"/api/invoices/{invoice['id']}.pdf").content)
    pages = [document[index].get_textpage().get_text_range() for index in range(len(document))]
    assert len(pages) >= 2
    assert all(f"of {len(pages)}" in page for page in pages)
    assert all("Destination" in page for page in pages if "Zone " in page)  # the heading on every page the table runs over
    assert "Zone 3100" in pages[0] and "Zone 3189" in "".join(pages) and "0.90" in pages[-1]


def test_scopes_and_organizations(org, other_org):
    account(org.client)
    invoice = issue(org.client, "acct-1", "2026-03")
    _, reader_token = make_token(org.client, ["invoices.read"])
    _, other_token = make_token(org.client, ["accounts.read"])
    with org.server.client(reader_token) as reader:
        assert ok(reader.get("/api/invoices"))["count"] == 1
        assert ok(reader.get(f"/api/invoices/{invoice['id']}"))["number"] == 1
        assert_error(reader.post("/api/invoices", json={"account_id": "acct-1", "period": "2026-04"}), 403)
    with org.server.client(other_token) as stranger:
        assert_error(stranger.get("/api/invoices"), 403)
        assert_error(stranger.get(f"/api/invoices/{invoice['id']}.pdf"), 403)
    for path in (f"/api/invoices/{invoice['id']}", f"/api/invoices/{invoice['id']}.csv", f"/api/invoices/{invoice['id']}.pdf"):
        assert_error(other_org.client.get(path), 404)
    assert_error(other_org.client.post("/api/invoices", json={"account_id": invoice["account"], "period": "2026-04"}), 422)
    assert ok(other_org.client.get("/api/invoices"))["count"] == 0
    assert_error(org.client.get("/api/invoices/not-an-id"), 404)
    # The account keeps its history.
    assert_error(org.client.delete(f"/api/accounts/{invoice['account']}"), 409, "ACCOUNT_HAS_HISTORY")


@pytest.mark.parametrize(("query", "expected"), [("period eq '2026-03'", [1]), ("period_start ge '2026-04-01'", [2]), ("account_id eq 'acct-1' and total eq 0", [1, 2])])
def test_lists_filter_by_period(org, query, expected):
    account(org.client)
    issue(org.client, "acct-1", "2026-03")
    issue(org.client, "acct-1", "2026-04")
    assert [item["number"] for item in ok(org.client.get("/api/invoices", params={"filter": query}))["items"]] == expected


def test_messages_charged_in_the_month_are_billed_net_of_refunds(org):
    ok(org.client.patch("/api/products/A2P", json={"enabled": True}))
    smsc_route(org.client)
    texter = sms_account(org.client, balance="1", price="0.05")
    sent = org.client.post("/api/messages", json={"product": "A2P", "from": "Trunkline", "to": ["+447700900123", "+447700900124"], "text": "Hi", "account_id": texter["account_id"]})
    assert sent.status_code == 202, sent.text
    [reserved] = [entry for entry in ok(org.client.get(f"/api/accounts/{texter['id']}/transactions"))["items"] if entry["kind"] == "messages"]
    backdate(org, reserved["id"], datetime(2026, 3, 5, tzinfo=UTC))
    invoice = issue(org.client, texter["account_id"], "2026-03")
    assert [(line["kind"], line["description"], money(line["amount"])) for line in invoice["lines"]] == [("messages", "SMS messages (net of refunds)", Decimal("0.1"))]
    assert (money(invoice["usage"]), money(invoice["subtotal"]), money(invoice["total"])) == (0, Decimal("0.1"), Decimal("0.1"))
    assert issue(org.client, texter["account_id"], "2026-04")["lines"] == []  # the month after has none
