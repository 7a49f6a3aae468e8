"""`GET /api/calls/export` over HTTP: the list's items, unpaged, as CSV or NDJSON; the list's
filter, search and orderby; bad queries refused before anything is sent; the scope; one
organization's calls; and a large export streamed in bounded memory."""

import csv
import io
import json
import tracemalloc
from decimal import Decimal

import pytest

from tests.helpers import assert_error, cdr, make_token, rate
from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls import ingest, parsing
from trunkline.db.engine import make_engine
from trunkline.kit import ids
from trunkline.kit.clock import utcnow
from trunkline.kit.csvout import safe

EXPORT = "/api/calls/export"


def call(call_id: str, start: str, **fields) -> dict:
    return cdr(call_id, start=start, **{"answer": None, **fields})


CALLS = [
    call("e1", "2024-05-01T10:00:00Z", answer="2024-05-01T10:00:05Z"),
    call("e2", "2024-05-01T09:00:00Z", callee="447700900123", billsec=60, account_id="acct-2"),
    call("e3", "2024-05-02T12:00:00.250Z", callee="+99 123", caller=None, direction=None),  # unrated, nulls
    call("e4", "2024-05-01T10:00:00Z", answer="2024-05-01T10:00:01Z", callee="=HYPERLINK(1)", account_id="-acct"),  # cells a spreadsheet would run
    call("e5", "2024-04-30T23:00:00-02:00", billsec=0, leg="b", linked_id="e1"),
    *(call(f"bulk-{number:03}", f"2024-05-03T{number % 24:02}:{number % 60:02}:00Z", billsec=number % 90) for number in range(150)),
]


def exact(text: str):
    """JSON as the API means it: money exact (the list renders it as a number with five places)."""
    return json.loads(text, parse_float=Decimal)


def listed(client, **params) -> list[dict]:
    """Every item the list answers for `params`, page after page."""
    items: list[dict] = []
    while True:
        response = client.get("/api/calls", params={**params, "top": 100, "skip": len(items)})
        assert response.status_code == 200, response.text
        page = exact(response.text)
        items += page["items"]
        if not page["meta"]["has_more"]:
            return items


def cell(value) -> str:
    """A list item's value as the export's CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe(str(value))


def exported_csv(client, **params) -> list[dict]:
    response = client.get(EXPORT, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.text)))


def exported_ndjson(client, **params) -> list[dict]:
    response = client.get(EXPORT, params={**params, "format": "ndjson"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    return [exact(line) for line in response.text.splitlines()]


@pytest.fixture
def calls(org):
    assert org.client.post("/api/call_rates", json=rate(prefix="44")).status_code == 200
    assert org.client.post("/api/call_rates", json=rate(prefix="447", type="MOBILE", price_1="0.1", price_n="0.1")).status_code == 200
    response = org.client.post("/api/calls", json=CALLS)
    assert response.status_code == 200 and response.json()["stored"] == len(CALLS) and response.json()["unrated"] == 2, response.text
    return org


def test_ndjson_is_the_list_items_unpaged(calls):
    items = listed(calls.client)
    assert len(items) == len(CALLS)
    assert exported_ndjson(calls.client) == items


def test_csv_is_the_list_items_as_text(calls):
    items = listed(calls.client)
    rows = exported_csv(calls.client)
    assert [list(row) for row in rows[:1]] == [list(items[0])]  # the header: the item's fields, in order
    assert rows == [{name: cell(value) for name, value in item.items()} for item in items]
    defused = next(row for row in rows if row["call_id"] == "e4")
    assert (defused["callee"], defused["account_id"]) == ("'=HYPERLINK(1)", "'-acct")
    first = next(row for row in rows if row["call_id"] == "e1")
    assert (first["start"], first["cost"], first["billed"], first["caller"]) == ("2024-05-01T10:00:00Z", "0.02520", "true", "+15551230000")


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "status eq 'unrated' or cost gt 0.05"},
        {"filter": "start ge 2024-05-01 and status eq 'rated'"},  # the README's example
        {"filter": "start ge 2024-05-01 and start lt 2024-05-02", "orderby": "cost desc"},
        {"search": "acct-2"},
        {"search": "bulk-01", "orderby": "billsec desc, call_id"},
        {"orderby": "answer desc"},  # nulls sort as the list sorts them
        {"filter": "leg eq 'b'"},
        {"filter": "call_id eq 'none such'"},
    ],
)
def test_filter_search_and_orderby_are_the_lists(calls, params):
    items = listed(calls.client, **params)
    assert exported_ndjson(calls.client, **params) == items
    assert [row["id"] for row in exported_csv(calls.client, **params)] == [item["id"] for item in items]


def test_default_order_is_the_lists_start_then_id(calls):
    exported = exported_ndjson(calls.client)
    keys = [(call["start"], ids.decode(call["id"])) for call in exported]
    assert keys == sorted(keys)
    assert [call["call_id"] for call in exported[:2]] == ["e5", "e2"]  # e5 started at 01:00 UTC on 1 May, e2 at 09:00


def test_empty_export_is_a_header_or_nothing(calls):
    assert exported_ndjson(calls.client, filter="call_id eq 'x'") == []
    response = calls.client.get(EXPORT, params={"filter": "call_id eq 'x'"})
    assert response.text == ",".join(listed(calls.client)[0]) + "\n"


def test_format_by_parameter_or_accept_header(calls):
    def kind(params=None, accept=None) -> str:
        response = calls.client.get(EXPORT, params=params or {}, headers={"Accept": accept} if accept else {})
        assert response.status_code == 200, response.text
        media_type = response.headers["content-type"].split(";")[0]
        filename = {"text/csv": "calls.csv", "application/x-ndjson": "calls.ndjson"}[media_type]
        assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
        return media_type

    assert kind() == "text/csv"
    assert kind(accept="application/x-ndjson") == "application/x-ndjson"
    assert kind(accept="text/csv;q=0.5, application/x-ndjson") == "application/x-ndjson"
    assert kind(accept="text/csv, application/x-ndjson;q=0.2") == "text/csv"
    assert kind(accept="application/json") == "text/csv"
    assert kind({"format": "csv"}, accept="application/x-ndjson") == "text/csv"
    assert kind({"format": "ndjson"}, accept="text/csv") == "application/x-ndjson"


def test_bad_queries_are_refused_before_anything_is_sent(calls):
    body = assert_error(calls.client.get(EXPORT, params={"filter": "colour eq 'red'"}), 400, "INVALID_QUERY")
    assert "unknown field 'colour'" in body["message"] and body["invalidInputVars"][0]["name"] == "filter"
    assert_error(calls.client.get(EXPORT, params={"filter": "cost gt 'cheap'", "format": "ndjson"}), 400, "INVALID_QUERY")
    assert_error(calls.client.get(EXPORT, params={"orderby": "breakdown"}), 400, "INVALID_QUERY")
    body = assert_error(calls.client.get(EXPORT, params={"format": "xlsx"}), 400)
    assert body["invalidInputVars"][0]["name"] == "format"
    body = assert_error(calls.client.get(EXPORT, params={"top": 10}), 400)  # no paging: every call, or a refusal
    assert body["invalidInputVars"] == [{"name": "top", "reason": "unknown query parameter"}]


def test_needs_calls_read(calls):
    _, narrow = make_token(calls.client, ["calls.create", "reports.read"])
    with calls.server.client(narrow) as client:
        assert_error(client.get(EXPORT), 403)
    _, reader = make_token(calls.client, ["calls.read"])
    with calls.server.client(reader) as client:
        assert len(exported_ndjson(client)) == len(CALLS)
    with calls.server.client() as anonymous:
        assert_error(anonymous.get(EXPORT), 401)


def test_an_organization_exports_only_its_own_calls(calls, other_org):
    assert exported_ndjson(other_org.client) == []
    mine = exported_ndjson(calls.client, filter="call_id eq 'e1'")[0]
    assert exported_csv(other_org.client, filter=f"id eq '{mine['id']}'") == []
    assert other_org.client.post("/api/calls", json=cdr("e1")).json()["stored"] == 1
    theirs = exported_ndjson(other_org.client)
    assert [call["call_id"] for call in theirs] == ["e1"] and theirs[0]["id"] != mine["id"]
    assert len(exported_ndjson(calls.client)) == len(CALLS)


MANY = 100_000


def many(number: int) -> str:
    """Call `number` of the large export, as an NDJSON line: starts spread over May, 50 accounts."""
    start = f"2024-05-{1 + number % 28:02}T{number % 24:02}:{number % 60:02}:{number % 59:02}Z"
    return json.dumps({"call_id": f"m{number}", "account_id": f"acct-{number % 50}", "caller": "+15551230000", "callee": f"4420794{number % 100000:05}", "start": start, "duration": 95, "billsec": number % 90})


def store_many(org, count: int, batch: int = 20_000) -> None:
    """`count` calls through the store layer, `batch` per transaction (as bench/reports.py does)."""
    engine = make_engine(org.server.settings.sqlalchemy_url)
    org_id, decks = ids.decode(org.id), DeckCache()
    try:
        for first in range(0, count, batch):
            records, _ = parsing.parse("\n".join(map(many, range(first, min(first + batch, count)))).encode(), "application/x-ndjson")
            with engine.begin() as conn:
                ingest.ingest(conn, org_id, records, decks, utcnow())
    finally:
        engine.dispose()


def streamed(client, params: dict) -> tuple[int, int, int]:
    """(lines, bytes, peak bytes allocated by the whole process: server and client) of an export
    read as it arrives and dropped."""
    lines = size = 0
    tracemalloc.start()
    try:
        with client.stream("GET", EXPORT, params=params) as response:
            assert response.status_code == 200
            for chunk in response.iter_bytes():
                lines += chunk.count(b"\n")
                size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines, size, peak


def test_a_large_export_streams_in_bounded_memory(org):
    assert org.client.post("/api/call_rates", json=rate(prefix="44")).status_code == 200
    store_many(org, MANY)
    # CSV in the indexed default order; NDJSON in an order the database sorts for.
    for params, header in (({}, 1), ({"format": "ndjson", "orderby": "cost desc, account_id"}, 0)):
        lines, size, peak = streamed(org.client, params)
        assert lines == MANY + header, params
        assert size > 20 * 2**20 and peak < 16 * 2**20, (params, size, peak)  # a few chunks of a file of 20-55 MB
    partial = exported_csv(org.client, filter="call_id eq 'm99999' or call_id eq 'm0'", orderby="call_id")
    assert [row["call_id"] for row in partial] == ["m0", "m99999"] and partial[1]["cost"] == "0.01200"
    # More exports abandoned after their first chunk than the database pool holds: had any kept
    # its connection, the last ones would wait for one (and fail after the pool's 30 s).
    for _ in range(70):
        with org.server.client(org.token) as client, client.stream("GET", EXPORT, params={"format": "ndjson"}) as response:
            assert response.status_code == 200
            next(response.iter_bytes())
    assert len(exported_ndjson(org.client, filter="billsec eq 0")) == -(-MANY // 90)
