"""Every CSV the API writes defuses cells a spreadsheet would run as formulas (OWASP CSV
injection), while numbers stay numbers."""

import csv
import io

import pytest

from tests.helpers import ok, rate
from trunkline.kit.csvout import safe

FORMULA = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (FORMULA, "'" + FORMULA),
        ("+HYPERLINK(\"http://x\")", "'+HYPERLINK(\"http://x\")"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-5", "-5"),
        ("+4930901820", "+4930901820"),
        ("0.012", "0.012"),
        ("United Kingdom", "United Kingdom"),
        (12, 12),
        (None, None),
    ],
)
def test_cells(cell, written):
    assert safe(cell) == written


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_deck_export_and_report_csv_are_defused(org):
    ok(org.client.post("/api/call_rates", json=rate(prefix="44", description=FORMULA, price_1="0.012")))
    exported = rows(org.client.get("/api/call_rates/export").text)
    header, line = exported
    assert line[header.index("description")] == "'" + FORMULA and line[header.index("price_1")] == "0.01200"
    ok(org.client.post("/api/calls", json={"call_id": "c1", "account_id": "=1+2", "callee": "441", "start": "2024-05-01T10:00:00Z", "duration": 60, "billsec": 60}))
    report = org.client.get(
        "/api/reports/call-data", params={"start_date": "2024-05-01", "end_date": "2024-05-01", "group_by": "account"}, headers={"accept": "text/csv"}
    )
    assert rows(report.text) == [["account_id", "calls", "answered", "unrated", "billsec", "cost"], ["'=1+2", "1", "1", "0", "60", "0.01200"]]
