"""CSV rate decks: atomic import (API and CLI), export that round-trips."""

import csv
import io
import os

from typer.testing import CliRunner

from tests.helpers import assert_error, rate
from trunkline.cli import app as cli

HEADER = "prefix,type,free_seconds,grace_period,interval_1,interval_n,connect_fee,postcall_surcharge,price_1,price_n,description\n"


def deck(rows: int, start: int = 100) -> str:
    lines = [f"{start + i},MOBILE,0,3,60,6,0.01,0.05,0.01234,0.0099,Row {i}\n" for i in range(rows)]
    return HEADER + "".join(lines)


def upload(org, text: str, mode: str | None = None):
    data = {"mode": mode} if mode else None
    return org.client.post("/api/call_rates/import", files={"file": ("deck.csv", text.encode(), "text/csv")}, data=data)


def test_import_then_export_roundtrips(org):
    response = upload(org, deck(250))
    assert response.status_code == 200, response.text
    assert response.json() | {"guid": None} == {"success": True, "guid": None, "inserted": 250, "updated": 0, "total": 250}
    listed = org.client.get("/api/call_rates", params={"filter": "prefix eq '105'"}).json()["items"][0]
    assert listed["price_1"] == 0.01234 and listed["postcall_surcharge"] == 0.05 and listed["type"] == "MOBILE"
    exported = org.client.get("/api/call_rates/export")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 250 and rows[0]["price_1"] == "0.01234" and rows[0]["description"] == "Row 0"
    again = upload(org, exported.text)
    assert again.json()["updated"] == 250 and again.json()["inserted"] == 0


def test_one_bad_row_imports_nothing_and_every_bad_row_is_reported(org):
    org.client.post("/api/call_rates", json=rate(prefix="999"))
    lines = deck(10).splitlines(keepends=True)
    lines[3] = "102,MOBILE,0,3,0,6,0.01,0,0.01,0.01,interval zero\n"
    lines[6] = "10x,MOBILE,0,3,60,6,0.01,0,0.0000001,0.01,two problems\n"
    lines.append("100,MOBILE,0,3,60,6,0.01,0,0.01,0.01,duplicate of line 2\n")
    lines.append("1,2,3\n")
    body = assert_error(upload(org, "".join(lines)), 422, "INVALID_DECK")
    reported = {(error["line"], error["field"]) for error in body["rowErrors"]}
    assert reported == {(4, "interval_1"), (7, "prefix"), (7, "price_1"), (12, "prefix"), (13, None)}
    assert body["rowErrorCount"] == 5
    assert org.client.get("/api/call_rates").json()["count"] == 1


def test_bad_header_is_reported(org):
    body = assert_error(upload(org, "prefix,colour\n44,red\n"), 422)
    assert body["rowErrors"][0]["line"] == 1 and "colour" in body["rowErrors"][0]["reason"]
    assert "interval_1" in body["rowErrors"][0]["reason"]


def test_replace_swaps_the_deck(org):
    upload(org, deck(20))
    response = upload(org, deck(5, start=500), mode="replace")
    assert response.json()["inserted"] == 5
    prefixes = sorted(item["prefix"] for item in org.client.get("/api/call_rates").json()["items"])
    assert prefixes == ["500", "501", "502", "503", "504"]


def test_import_needs_create_scope(org):
    token = org.client.post("/api/tokens", json={"name": "reader", "scopes": ["call_rates.read"]}).json()["token"]
    with org.server.client(token) as reader:
        assert_error(reader.post("/api/call_rates/import", files={"file": ("d.csv", deck(1).encode())}), 403)
        assert reader.get("/api/call_rates/export").status_code == 200


def test_cli_import_with_progress(server, tmp_path):
    path = tmp_path / "deck.csv"
    path.write_text(deck(1200, start=7000))
    env = {"TRUNKLINE_DATA_DIR": str(server.settings.data_dir)}
    if server.settings.database_url:
        env["TRUNKLINE_DATABASE_URL"] = server.settings.database_url
    os.environ.update(env)
    try:
        result = CliRunner().invoke(cli, ["rates", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert "1200 rates: 1200 new, 0 updated" in result.output
        bad = tmp_path / "bad.csv"
        bad.write_text(deck(3) + "x,MOBILE,0,0,60,6,0,0,0,0,\n")
        result = CliRunner().invoke(cli, ["rates", "import", str(bad)])
        assert result.exit_code == 1 and "line 5: prefix" in result.output and "nothing was imported" in result.output
    finally:
        for key in env:
            os.environ.pop(key, None)
    with server.client(server.operator_token) as operator:
        found = operator.get("/api/call_rates", params={"filter": "prefix ge '7000' and prefix le '8199'", "top": 1}).json()
        assert found["count"] == 1200


def test_a_raw_csv_body_and_columns_left_out(org):
    minimal = "prefix,type,interval_1,interval_n,price_1,price_n,description\n44,INTERNATIONAL,60,6,0.012,0.012,UK\n49,INTERNATIONAL,60,60,0.02,0.02,Germany\n"
    response = org.client.post("/api/call_rates/import", content=minimal, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 2
    uk = org.client.get("/api/call_rates", params={"filter": "prefix eq '44'"}).json()["items"][0]
    assert (uk["free_seconds"], uk["grace_period"], uk["connect_fee"], uk["postcall_surcharge"]) == (0, 0, 0, 0)
    replaced = org.client.post("/api/call_rates/import?mode=replace", content=minimal.splitlines()[0] + "\n1,LOCAL,60,60,0.001,0.001,US\n", headers={"content-type": "text/csv"})
    assert replaced.status_code == 200 and org.client.get("/api/call_rates").json()["count"] == 1
    bad = org.client.post("/api/call_rates/import", content="prefix,price_1\n44,0.1\n", headers={"content-type": "text/csv"})
    assert bad.status_code == 422 and "missing columns: interval_1, interval_n, price_n" in bad.json()["rowErrors"][0]["reason"]
