"""The CLI's CDR commands: `trunkline rate` (offline, no server) and `trunkline calls import`."""

import csv
import json
import random

import httpx
import pytest
from typer.testing import CliRunner

from tests.harness import start_server
from trunkline.cli import app as cli
from trunkline.kit.config import Settings
from trunkline.rating import Deck, Rate, Unrated, rate_call
from trunkline.rating.money import from_units

HEADER = "prefix,type,free_seconds,grace_period,interval_1,interval_n,connect_fee,postcall_surcharge,price_1,price_n,description\n"
# The README's worked examples: interval 60/6, 0.012/min, no fees.
DECK = HEADER + "44,NATIONAL,0,0,60,6,0,0,0.012,0.012,UK\n447,MOBILE,0,0,60,60,0,0,0.1,0.1,UK mobile\n"
CDR_COLUMNS = ["call_id", "caller", "callee", "start", "duration", "billsec", "account_id", "note"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def write_csv(path, columns: list[str], rows: list[list]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


def read_csv(path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def rate_files(tmp_path, cdr_rows: list[list], deck: str = DECK, *extra: str):
    (tmp_path / "deck.csv").write_text(deck)
    write_csv(tmp_path / "cdrs.csv", CDR_COLUMNS, cdr_rows)
    out = tmp_path / "rated.csv"
    result = run("rate", "--deck", str(tmp_path / "deck.csv"), "--cdrs", str(tmp_path / "cdrs.csv"), "--out", str(out), *extra)
    return result, out


def cdr(call_id: str, callee: str, billsec, note: str = "") -> list:
    return [call_id, "+15551230000", callee, "2024-05-01T10:00:00Z", 900, billsec, "acct-1", note]


def test_rate_gives_the_spec_examples_and_keeps_every_column(tmp_path):
    rows = [cdr(f"c{s}", "+44 20 7946 0000", s, note=f'says "hi", at {s}') for s in (0, 7, 60, 61, 125)]
    rows += [cdr("mobile", "00447700900123", 60), cdr("nowhere", "+99 123", 60), cdr("junk", "44x1", 60)]
    result, out = rate_files(tmp_path, rows)
    assert result.exit_code == 0, result.output
    rated = read_csv(out)
    assert [row["cost"] for row in rated[:5]] == ["0.00000", "0.01200", "0.01200", "0.01320", "0.02520"]
    matched = {(row["status"], row["prefix"], row["rate_type"], row["unrated_reason"]) for row in rated[:5]}
    assert matched == {("rated", "44", "NATIONAL", "")}
    assert (rated[5]["prefix"], rated[5]["rate_type"], rated[5]["cost"]) == ("447", "MOBILE", "0.10000")
    assert [(row["status"], row["unrated_reason"], row["cost"], row["prefix"]) for row in rated[6:]] == [
        ("unrated", "no_matching_prefix", "", ""),
        ("unrated", "invalid_number", "", ""),
    ]
    assert [[row[name] for name in CDR_COLUMNS] for row in rated] == [[str(value) for value in row] for row in rows]
    assert list(rated[0]) == CDR_COLUMNS + ["status", "unrated_reason", "prefix", "rate_type", "cost"]
    assert "8 CDRs: 6 rated, 2 unrated (0 invalid), total cost 0.16240" in result.output
    assert "CDRs/s" in result.output and not (tmp_path / "rated.csv.part").exists()


def test_invalid_cdrs_are_listed_and_never_priced(tmp_path):
    rows = [
        cdr("ok", "+4420", 61),
        cdr("negative", "+4420", -5),
        cdr("multi", "+4420", 7, note="two\nlines"),
        cdr("fraction", "+4420", "7.5"),
        cdr("no-callee", "", 60),
        cdr("no-billsec", "+4420", ""),
        ["short", "+1555", "+4420"],
    ]
    result, out = rate_files(tmp_path, rows)
    assert result.exit_code == 3, result.output
    for listed in ("line 3: billsec: must not be negative", "line 6: billsec: not a whole number", "line 7: callee: required",
                   "line 8: billsec: required", "line 9: -: expected 8 cells, found 3"):
        assert listed in result.output
    assert "7 CDRs: 2 rated, 5 unrated (5 invalid), total cost 0.02520" in result.output
    rated = read_csv(out)
    assert [(row["call_id"], row["status"], row["unrated_reason"], row["cost"]) for row in rated] == [
        ("ok", "rated", "", "0.01320"),
        ("negative", "unrated", "invalid_cdr", ""),
        ("multi", "rated", "", "0.01200"),
        ("fraction", "unrated", "invalid_cdr", ""),
        ("no-callee", "unrated", "invalid_cdr", ""),
        ("no-billsec", "unrated", "invalid_cdr", ""),
        ("short", "unrated", "invalid_cdr", ""),
    ]
    assert rated[2]["note"] == "two\nlines" and rated[6]["callee"] == "+4420" and rated[6]["billsec"] == ""


def test_a_bad_deck_aborts_with_every_bad_line(tmp_path):
    deck = DECK + "33,LOCAL,0,0,0,6,0,0,0.01,0.01,interval zero\n44,LOCAL,0,0,60,6,0,0,0.01,0.01,duplicate\n"
    result, out = rate_files(tmp_path, [cdr("a", "+4420", 60)], deck)
    assert result.exit_code == 1
    assert "line 4: interval_1" in result.output and "line 5: prefix: duplicate prefix 44" in result.output
    assert "2 bad row(s) in the deck; nothing was written" in result.output
    assert not out.exists()


def test_a_cdr_file_without_billsec_is_refused(tmp_path):
    (tmp_path / "deck.csv").write_text(DECK)
    write_csv(tmp_path / "cdrs.csv", ["callee", "seconds", "cost"], [["+4420", "60", "1"]])
    result = run("rate", "--deck", str(tmp_path / "deck.csv"), "--cdrs", str(tmp_path / "cdrs.csv"), "--out", str(tmp_path / "o.csv"))
    assert result.exit_code == 1 and "missing columns: billsec" in result.output and "already there: cost" in result.output
    assert not (tmp_path / "o.csv").exists()


def random_rates(rnd: random.Random) -> list[Rate]:
    prefixes = {rnd.choice("12345678") + "".join(rnd.choices("0123456789", k=rnd.randint(0, 6))) for _ in range(300)}
    prefixes.add("4" * 20)  # longer than the vectorised index takes
    return [
        Rate(
            number, prefix, rnd.choice(["LOCAL", "MOBILE"]), rnd.choice([0, 0, 5]), rnd.choice([0, 3, 10]),
            rnd.choice([1, 30, 60]), rnd.choice([1, 6, 60]), rnd.randint(0, 5000), rnd.choice([0, 1000, 12345]),
            rnd.randint(0, 200_000), rnd.randint(0, 200_000),
        )
        for number, prefix in enumerate(sorted(prefixes), start=1)
    ]


def deck_csv(rates: list[Rate]) -> str:
    lines = [
        f"{r.prefix},{r.type},{r.free_seconds},{r.grace_period},{r.interval_1},{r.interval_n},{from_units(r.connect_fee)},"
        f"{from_units(r.postcall_surcharge)},{from_units(r.price_1)},{from_units(r.price_n)},\n"
        for r in rates
    ]
    return HEADER + "".join(lines)


def random_number(rnd: random.Random, rates: list[Rate]) -> str:
    """Mostly a deck prefix and more digits; some with no match, separators or junk."""
    head = rnd.choice([rnd.choice(rates).prefix, rnd.choice(rates).prefix, "9", ""])
    digits = head + "".join(rnd.choices("0123456789", k=rnd.randint(0 if head else 1, 12)))
    marker = rnd.choice(["", "", "+", "00", "+00"])
    return marker + rnd.choice([digits, digits, digits, f"{digits[:2]} ({digits[2:5]}) {digits[5:]}", digits + "x"])


def test_rate_agrees_with_the_scalar_engine_row_for_row(tmp_path):
    rnd = random.Random(2024)
    rates = random_rates(rnd)
    seconds = [0, 1, 3, 10, 59, 60, 61]
    rows = [cdr(f"r{i}", random_number(rnd, rates), rnd.choice([*seconds, rnd.randint(0, 100_000)])) for i in range(4000)]
    result, out = rate_files(tmp_path, rows, deck_csv(rates), "--chunk-size", "700")
    assert result.exit_code == 0, result.output
    deck = Deck(rates)
    rated = read_csv(out)
    assert len(rated) == len(rows)
    total = 0
    for row in rated:
        expected = rate_call(deck, row["callee"], int(row["billsec"]))
        if isinstance(expected, Unrated):
            assert (row["status"], row["unrated_reason"], row["cost"], row["prefix"]) == ("unrated", expected.reason, "", ""), row
        else:
            total += expected.cost_units
            assert (row["status"], row["prefix"], row["rate_type"], row["cost"]) == (
                "rated", expected.rate.prefix, expected.rate.type, str(from_units(expected.cost_units))), row
    assert f"total cost {from_units(total)}" in result.output
    assert {row["unrated_reason"] for row in rated} == {"", "invalid_number", "no_matching_prefix"}
    assert any(row["prefix"] == "4" * 20 for row in rated)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty SQLite database with the operator's org, a `*` token and the README's example deck."""
    monkeypatch.setenv("TRUNKLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRUNKLINE_ARGON2_FAST", "true")
    monkeypatch.delenv("TRUNKLINE_DATABASE_URL", raising=False)
    assert run("migrate").exit_code == 0
    created = run("tokens", "create")
    assert created.exit_code == 0, created.output
    (tmp_path / "deck.csv").write_text(DECK)
    assert run("rates", "import", str(tmp_path / "deck.csv")).exit_code == 0
    return tmp_path / "data", created.stdout.strip().splitlines()[-1]


def call(call_id: str, callee: str = "+44 20 7946 0000", billsec: int = 125) -> dict:
    return {"call_id": call_id, "account_id": "acct-1", "callee": callee, "start": "2024-05-01T10:00:00Z",
            "duration": billsec + 5, "billsec": billsec}


def test_calls_import_csv_and_ndjson_then_reimport_stores_nothing(data_dir, tmp_path):
    directory, token = data_dir
    cdrs = [call(f"csv-{s}", billsec=s) for s in (0, 7, 60, 61, 125)] + [call("csv-u", callee="+99 1")]
    write_csv(tmp_path / "calls.csv", list(cdrs[0]), [list(c.values()) for c in cdrs])
    first = run("calls", "import", str(tmp_path / "calls.csv"), "--batch-size", "4")
    assert first.exit_code == 0, first.output
    assert "6 CDRs read: 6 stored, 0 duplicates, 1 unrated, total cost 0.06240" in first.output
    again = run("calls", "import", str(tmp_path / "calls.csv"))
    assert again.exit_code == 0 and "6 CDRs read: 0 stored, 6 duplicates, 0 unrated, total cost 0.00000" in again.output

    lines = "".join(json.dumps(call(f"nd-{i}", callee="+447700900123", billsec=60)) + "\n" for i in range(3))
    (tmp_path / "calls.ndjson").write_text(lines + "\n" + json.dumps(call("csv-7")) + "\n")
    ndjson = run("calls", "import", str(tmp_path / "calls.ndjson"))
    assert ndjson.exit_code == 0 and "4 CDRs read: 3 stored, 1 duplicates, 0 unrated, total cost 0.30000" in ndjson.output

    uv, thread, url = start_server(Settings(data_dir=directory, argon2_fast=True))
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            body = client.get("/api/calls", params={"orderby": "call_id", "top": 100}).json()
    finally:
        uv.should_exit = True
        thread.join(10)
    stored = {item["call_id"]: item for item in body["items"]}
    assert body["count"] == 9
    assert [stored[f"csv-{s}"]["cost"] for s in (0, 7, 60, 61, 125)] == [0, 0.012, 0.012, 0.0132, 0.0252]
    assert stored["csv-u"]["status"] == "unrated" and stored["csv-u"]["cost"] is None
    assert stored["nd-0"]["prefix"] == "447" and stored["nd-0"]["cost"] == 0.1


def test_a_bad_batch_stops_the_import_and_a_rerun_finishes_it(data_dir, tmp_path):
    records = [json.dumps(call(f"b{i}")) for i in range(6)]
    records[3] = json.dumps(call("b3", billsec=-1))
    records[4] = "{not json"
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(records) + "\n")
    result = run("calls", "import", str(path), "--batch-size", "2")
    assert result.exit_code == 1
    assert "line 4: billsec: Input should be greater than or equal to 0" in result.output and "line 5: -: Invalid JSON" in result.output
    assert "2 stored" in result.output and "Stopped at the batch ending at line 4" in result.output
    records[3], records[4] = json.dumps(call("b3")), json.dumps(call("b4"))
    path.write_text("\n".join(records) + "\n")
    rerun = run("calls", "import", str(path), "--batch-size", "2")
    assert rerun.exit_code == 0 and "6 CDRs read: 4 stored, 2 duplicates" in rerun.output


def test_a_json_array_is_validated_whole(data_dir, tmp_path):
    path = tmp_path / "calls.txt"
    path.write_text(json.dumps([call("j1"), {"call_id": "j2"}]))
    assert run("calls", "import", str(path)).exit_code == 2
    bad = run("calls", "import", str(path), "--format", "json")
    assert bad.exit_code == 1 and "index 1: callee: required" in bad.output and "0 stored" in bad.output
    path.write_text(json.dumps([call("j1"), call("j2", billsec=61)]))
    good = run("calls", "import", str(path), "--format", "json")
    assert good.exit_code == 0 and "2 CDRs read: 2 stored, 0 duplicates, 0 unrated, total cost 0.03840" in good.output


def test_help_reads_well():
    assert "rate " in run("--help").output and "calls " in run("--help").output
    rate_help = run("rate", "--help").output
    assert "invalid_cdr" in rate_help and "Exit status" in rate_help
    assert "earlier batches stay" in run("calls", "import", "--help").output


def test_an_unknown_org_is_refused(data_dir, tmp_path):
    write_csv(tmp_path / "c.csv", ["call_id", "callee", "start", "duration"], [["x", "+4420", "2024-05-01T10:00:00Z", "5"]])
    result = run("calls", "import", str(tmp_path / "c.csv"), "--org", "OTk5OTk=")
    assert result.exit_code == 2 and "No such organization" in result.output


def test_cli_and_server_share_one_database_wherever_they_start(tmp_path, monkeypatch):
    """The default data location does not depend on the working directory, and a command that
    finds no database says where it looked instead of making a new one."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("TRUNKLINE_DATA_DIR", raising=False)
    monkeypatch.delenv("TRUNKLINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRUNKLINE_ARGON2_FAST", "true")
    monkeypatch.chdir(tmp_path)
    refused = run("tokens", "create")
    assert refused.exit_code == 2 and "No database at" in refused.output and "trunkline serve" in refused.output
    expected = tmp_path / "home" / ".local" / "share" / "trunkline" / "trunkline.sqlite3"
    assert not expected.exists()
    assert run("migrate").exit_code == 0 and expected.exists()
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    token = run("tokens", "create")
    assert token.exit_code == 0, token.output
    uv, thread, url = start_server(Settings(argon2_fast=True))  # the server's default location, from yet another directory
    try:
        assert httpx.get(f"{url}/api/auth/me", headers={"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}).status_code == 200
    finally:
        uv.should_exit = True
        thread.join(10)


def test_rates_import_into_a_named_plan_from_a_date(data_dir, tmp_path):
    settings = Settings(data_dir=data_dir[0])
    server, thread, url = start_server(settings)
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {data_dir[1]}"}) as client:
            assert client.post("/api/rate_plans", json={"name": "Wholesale"}).status_code == 200
            (tmp_path / "next.csv").write_text("prefix,interval_1,interval_n,price_1,price_n\n44,60,60,0.5,0.5\n")
            result = run("rates", "import", str(tmp_path / "next.csv"), "--plan", "Wholesale", "--effective-from", "2030-01-01")
            assert result.exit_code == 0, result.output
            assert "1 rates: 1 new, 0 updated" in result.output
            quote = {"number": "4420", "duration": 60, "rate_plan_id": client.get("/api/rate_plans", params={"filter": "name eq 'Wholesale'"}).json()["items"][0]["id"]}
            assert client.get("/api/call_rates/quote", params={**quote, "at": "2029-12-31T23:59:59Z"}).json()["status"] == "unrated"
            assert client.get("/api/call_rates/quote", params={**quote, "at": "2030-01-01T00:00:00Z"}).json()["cost"] == 0.5
        assert run("rates", "import", str(tmp_path / "next.csv"), "--plan", "Nope").exit_code == 2
    finally:
        server.should_exit = True
        thread.join()
