"""Inputs that once gave 500: each is a clear 4xx now, and changes nothing."""

import pytest

from tests.helpers import assert_error, ok, rate

FIELD_OVER_128K = "x" * (128 * 1024 + 1)


def test_json_nested_a_thousand_levels_with_a_query_parameter(org):
    nested = "[" * 1000 + "]" * 1000
    for body in (nested, '{"name": ' + nested + "}"):
        response = org.client.post("/api/call_rates?description=x", content=body, headers={"content-type": "application/json"})
        assert "nested too deeply" in assert_error(response, 400)["message"]
    deep_but_decodable = '{"a":' * 900 + "1" + "}" * 900
    assert_error(org.client.post("/api/call_rates?description=x", content=deep_but_decodable, headers={"content-type": "application/json"}), 400)


def test_a_csv_field_over_128_kib(org):
    calls = "call_id,callee,start,duration\nc1," + FIELD_OVER_128K + ",2024-05-01T10:00:00Z,60\n"
    error = assert_error(org.client.post("/api/calls", content=calls, headers={"content-type": "text/csv"}), 400)
    assert "field larger than field limit" in error["message"]
    deck = "prefix,type,price_1,price_n,interval_1,interval_n,description\n44,INTERNATIONAL,0.01,0.01,60,6," + FIELD_OVER_128K + "\n"
    error = assert_error(org.client.post("/api/call_rates/import", files={"file": ("deck.csv", deck)}), 422)
    assert "field larger than field limit" in error["rowErrors"][0]["reason"]
    assert ok(org.client.get("/api/calls"))["count"] == 0 and ok(org.client.get("/api/call_rates"))["count"] == 0


@pytest.mark.parametrize("body", [{"start_date": "9999-12-31", "end_date": "9999-12-31"}, {"start_date": "2024-01-01", "end_date": "9999-12-31"}])
def test_rerate_at_the_end_of_time(org, body):
    error = assert_error(org.client.post("/api/calls/rerate", json=body), 422)
    assert error["invalidInputVars"][0]["name"] in ("start_date", "end_date")


def test_error_lists_are_capped_with_a_count(org):
    header = ",".join(f"c{number}" for number in range(200_000))
    error = assert_error(org.client.post("/api/calls", content=f"call_id,{header}\nx\n", headers={"content-type": "text/csv"}), 422)
    assert len(error["invalidInputVars"]) == 100 and error["invalidInputCount"] == 200_000
    assert "and 199,900 more" in error["message"] and len(error["message"]) < 2000
    error = assert_error(org.client.post("/api/call_rates/import", files={"file": ("deck.csv", f"prefix,{header}\n44\n")}), 422)
    assert len(str(error)) < 10_000 and "199,900 more" in error["rowErrors"][0]["reason"]
    rows = "\n".join(f"c{number},,2024-05-01T10:00:00Z,60" for number in range(500))
    error = assert_error(org.client.post("/api/calls", content="call_id,callee,start,duration\n" + rows, headers={"content-type": "text/csv"}), 422)
    assert len(error["invalidInputVars"]) == 100 and error["invalidInputCount"] == 500
    ok(org.client.post("/api/call_rates", json=rate()))
