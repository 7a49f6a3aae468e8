"""Real switch output, byte for byte (sources in tests/fixtures/README.md), pushed the way each
switch sends it, over HTTP on every backend. One test per class of real-world failure: every
encoding FreeSWITCH's modules send, prefixed XML names, flipped caller ids, Asterisk CDRs
sharing a uniqueid, odd lines, local times, unanswered legs, both legs of a call, and push
rate limits (tests/test_endpoints.py)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.helpers import assert_error, ok, rate
from tests.switch_wire import JSON_ENCODINGS, XML_ENCODINGS, mod_json_cdr, mod_xml_cdr
from trunkline.switches import freeswitch

REAL = Path(__file__).parent / "fixtures" / "switches" / "real"
FREESWITCH = sorted(path.name for path in REAL.glob("fs_*"))
WIRE = [(name, encode) for name in FREESWITCH for encode in (JSON_ENCODINGS if name.endswith(".json") else XML_ENCODINGS)]
# What each real FreeSWITCH document records, read off the document by hand.
EXPECTED = {
    "fs_json_cgrates_2013_aleg_dup_callflow.json": ("01df56f4-d99a-4ef6-b7fe-b924b2415b7f", "a", "dan", "+4986517174963", 4, "ANSWERED"),
    "fs_json_cgrates_2015_aleg_unencoded_percent.json": ("e3133bf7-dcde-4daf-9663-9a79ffcef5ad", "a", "1001", "1003", 66, "ANSWERED"),
    "fs_json_cgrates_2018_aleg_hold.json": ("3da8bf84-c133-4959-9e24-e72875cb33a1", "a", "1001", "1002", 68, "ANSWERED"),
    "fs_json_onexabhinav_aleg_originator_cancel.json": ("51156b0b-f91b-4fd3-9c8f-15226f6098be", "a", "1001", "1003", 0, "NO ANSWER"),
    "fs_json_onexabhinav_bleg_originator_cancel.json": ("ab0aa08a-ead3-42c6-a365-99553a001fba", "b", "1001", "1003", 0, "NO ANSWER"),
    "fs_json_onexabhinav_originate_cid_flipped.json": ("16c22a18-eccc-4974-adf9-44d2b6152838", "a", "9111110001", "3868158407", 7, "ANSWERED"),
    "fs_xml_kvm81_nolocal_prefix_ivr.xml": ("8039fb4f-e1c9-4def-b097-7c71435bb73c", "a", "10086", "60019", 263, "ANSWERED"),
    "fs_xml_summitrabz_unencoded_aleg.xml": ("361ab3a0-fb1f-11e4-a5cc-cb18ef41548e", "a", "1001", "9664", 8, "ANSWERED"),
}
DECK = ("1", "2", "3", "4", "6", "8", "9")  # every real callee above is priced


def real(name: str) -> str:
    return (REAL / name).read_bytes().decode("utf-8")


def wire(name: str, encode: str) -> tuple[str, str]:
    return (mod_json_cdr if name.endswith(".json") else mod_xml_cdr)(real(name), encode)


class Switch:
    """An organization with a deck pricing every digit at 0.01/min (60/60) and a cdr_push endpoint."""

    def __init__(self, org, **settings):
        self.org = org
        for prefix in DECK:
            ok(org.client.post("/api/call_rates", json=rate(prefix=prefix, price_1="0.01", price_n="0.01", interval_1=60, interval_n=60)))
        self.endpoint = ok(org.client.post("/api/endpoints", json={"name": "sw", "type": "cdr_push", **settings}))
        self.auth = (self.endpoint["login"], self.endpoint["password"])

    def push(self, body: str | bytes, media_type: str) -> dict:
        content = body.encode() if isinstance(body, str) else body
        response = httpx.post(f"{self.org.server.url}/api/endpoint/cdr", content=content, headers={"content-type": media_type}, auth=self.auth)
        return ok(response)

    def calls(self, **params) -> list[dict]:
        return ok(self.org.client.get("/api/calls", params={"top": 100, "orderby": "start", **params}))["items"]

    def configure(self, **settings) -> None:
        ok(self.org.client.patch(f"/api/endpoints/{self.endpoint['id']}", json=settings))


@pytest.fixture
def switch(org):
    return Switch(org)


# --- FreeSWITCH: every encoding, prefixed names, flipped caller ids ----------------------


@pytest.mark.parametrize(("name", "encode"), WIRE)
def test_every_encoding_the_modules_send_reads_as_the_document_itself(name, encode):
    """mod_json_cdr encode=true sends values raw after one decode (quotes, CR/LF); mod_xml_cdr
    encode=false sends the form as x-www-form-plaintext; old mod_xml_cdr encoded once."""
    media_type, body = wire(name, encode)
    document = real(name)
    assert freeswitch.parse(body.encode(), media_type) == freeswitch.parse(document.encode(), "text/xml" if name.endswith(".xml") else "application/json")


@pytest.mark.parametrize("name", FREESWITCH)
def test_real_freeswitch_cdrs_are_stored_as_the_switch_recorded_them(switch, name):
    media_type, body = wire(name, "true")  # the README's configuration
    result = switch.push(body, media_type)
    assert (result["stored"], result["quarantined"], result["duplicates"]) == (1, 0, 0)
    [call] = switch.calls()
    call_id, leg, caller, callee, billsec, disposition = EXPECTED[name]
    assert (call["call_id"], call["leg"], call["caller"], call["callee"], call["billsec"], call["disposition"]) == (call_id, leg, caller, callee, billsec, disposition)
    assert call["billed"] is (leg == "a")
    again = switch.push(*reversed(wire(name, "base64")))  # the same CDR sent again, another way
    assert (again["stored"], again["duplicate_call_ids"]) == (0, [call_id])


def test_prefixed_xml_names_are_read_and_dtds_still_refused(switch):
    document = real("fs_xml_kvm81_nolocal_prefix_ivr.xml")
    assert "<nolocal:req_uuid>" in document
    assert switch.push(document, "text/xml")["stored"] == 1
    laughs = '<?xml version="1.0"?><!DOCTYPE cdr [<!ENTITY a "ha">]>' + document.replace("<uuid>", "<uuid>&a;", 1)
    result = switch.push(laughs, "text/xml")
    assert result["quarantined"] == 1 and len(switch.calls()) == 1
    held = ok(switch.org.client.get(f"/api/cdr_quarantine/{result['quarantine_ids'][0]}"))
    assert "DOCTYPE or ENTITY declaration is refused" in held["error"]


def test_a_flipped_originated_leg_keeps_the_a_number(switch):
    document = json.loads(real("fs_json_onexabhinav_originate_cid_flipped.json"))
    profile = document["callflow"][0]["caller_profile"]
    assert document["variables"]["channel_cid_flipped"] == "yes" and profile["caller_id_number"] == profile["destination_number"]
    switch.push(*reversed(wire("fs_json_onexabhinav_originate_cid_flipped.json", "true")))
    [call] = switch.calls()
    assert (call["caller"], call["callee"]) == ("9111110001", "3868158407")


# --- Both legs of a call, billed once ----------------------------------------------------

A_LEG, B_LEG = "fs_json_onexabhinav_aleg_originator_cancel.json", "fs_json_onexabhinav_bleg_originator_cancel.json"


def answered(name: str, answer: int, billsec: int) -> str:
    """A real leg as it would read had it been answered (the only public pair of legs was cancelled)."""
    document = json.loads(real(name))
    variables = document["variables"]
    variables["answer_epoch"] = str(answer)
    variables["end_epoch"] = str(answer + billsec)
    variables["billsec"] = str(billsec)
    variables["duration"] = str(answer + billsec - int(variables["start_epoch"]))
    variables["hangup_cause"] = "NORMAL_CLEARING"
    return json.dumps(document)


@pytest.mark.parametrize(("billed_leg", "billed"), [("a", {"a"}), ("b", {"b"}), ("both", {"a", "b"})])
def test_both_legs_of_a_bridged_call_are_stored_linked_and_billed_once(server, org, billed_leg, billed):
    switch = Switch(org, billed_leg=billed_leg)
    account = ok(org.client.post("/api/accounts", json={"account_id": "1001", "name": "Extension 1001", "type": "postpaid"}))
    legs = {"a": answered(A_LEG, 1762923106, 50), "b": answered(B_LEG, 1762923113, 43)}
    for document in legs.values():
        switch.push(*reversed(mod_json_cdr(document, "true")))
    calls = {call["leg"]: call for call in switch.calls()}
    assert calls["a"]["linked_id"] == calls["b"]["linked_id"] == calls["a"]["call_id"] == "51156b0b-f91b-4fd3-9c8f-15226f6098be"
    assert {leg for leg, call in calls.items() if call["billed"]} == billed
    costs = {leg: call["cost"] for leg, call in calls.items() if call["billed"]}
    assert all(cost is not None and cost > 0 for cost in costs.values())
    assert all(calls[leg]["cost"] is None and calls[leg]["unrated_reason"] == "not_billed_leg" for leg in set(calls) - billed)
    report = ok(org.client.get("/api/reports/call-data", params={"start_date": "2025-11-12", "end_date": "2025-11-12"}))["data"]
    assert [(row["calls"], row["cost"]) for row in report] == [(len(billed), pytest.approx(sum(costs.values())))]
    charged = [entry for entry in ok(org.client.get(f"/api/accounts/{account['id']}/transactions"))["items"] if entry["kind"] == "calls"]
    charged_to_1001 = sum(-entry["amount"] for entry in charged)
    assert charged_to_1001 == pytest.approx(costs.get("a", 0))  # only the A-leg carries accountcode 1001


def test_the_real_pair_of_cancelled_legs_costs_nothing(switch):
    for name in (A_LEG, B_LEG):
        switch.push(*reversed(wire(name, "true")))
    legs = switch.calls(filter="linked_id eq '51156b0b-f91b-4fd3-9c8f-15226f6098be'")
    assert [(call["leg"], call["billed"], call["cost"], call["disposition"]) for call in legs] == [("a", True, 0, "NO ANSWER"), ("b", False, None, "NO ANSWER")]
    assert [call["leg"] for call in switch.calls(filter="direction eq 'outbound'")] == ["b"]  # stored lower case, matched as written
    assert [call["leg"] for call in switch.calls(filter="leg eq 'a' and billed eq true")] == ["a"]


# --- Asterisk Master.csv -----------------------------------------------------------------


def test_cdrs_sharing_a_uniqueid_are_distinct_records(switch):
    """Asterisk 12+ writes a CDR per party pairing; uniqueid is Party A's channel."""
    chunk = real("asterisk_dj-asterisk-cdr_master_21col.csv")
    result = switch.push(chunk, "text/csv")
    assert (result["received"], result["stored"], result["duplicates"], result["quarantined"]) == (13, 13, 0, 0)
    shared = switch.calls(search="1706369600.6")
    assert [call["call_id"] for call in shared] == ["1706369600.6/1706369600.6/3", "1706369600.6/1706369600.6/6", "1706369600.6/1706369600.6/7"]
    forked = switch.calls(filter="linked_id eq '1706372196.12'")
    assert len(forked) == 7
    again = switch.push(chunk, "text/csv")  # resending lines already sent is harmless
    assert (again["stored"], again["duplicates"]) == (0, 13)

    older = real("asterisk_speech-to-text_master_18col.csv")  # 18 columns: no sequence, a digest tells them apart
    result = switch.push(older, "text/csv")
    assert (result["received"], result["stored"]) == (15, 15)
    assert len(switch.calls(search="1473989440.0")) == 2 and len(switch.calls(search="1474040546.32")) == 2
    assert switch.push(older, "text/csv")["duplicates"] == 15


def test_unanswered_legs_are_not_charged_whatever_billsec_says(switch):
    chunk = real("asterisk_dj-asterisk-cdr_master_21col.csv")
    forked = [line for line in chunk.splitlines(keepends=True) if '"NO ANSWER"' in line and (",60,60," in line or ",30,30," in line)]
    assert len(forked) == 2  # NO ANSWER legs of a parallel dial that carry billsec 60 and 30
    switch.push("".join(forked), "text/csv")
    calls = switch.calls()
    assert [(call["duration"], call["billsec"], call["cost"], call["disposition"]) for call in calls] == [(60, 0, 0, "NO ANSWER"), (30, 0, 0, "NO ANSWER")]
    busy = [line for line in real("asterisk_telephonyswitching_master_18col.csv").splitlines(keepends=True) if '"BUSY"' in line]
    switch.push("".join(busy), "text/csv")
    [busy_call] = switch.calls(filter="disposition eq 'BUSY'")
    assert (busy_call["duration"], busy_call["billsec"], busy_call["cost"]) == (27, 0, 0)


def test_a_line_without_destination_is_stored_unrated_and_a_broken_one_is_held(switch):
    lines = real("asterisk_speech-to-text_master_18col.csv").splitlines(keepends=True)
    broken = lines[3][: len(lines[3]) // 2] + "\n"  # a line cut short, as a half-written file is shipped
    chunk = "".join(lines[:3]) + broken + "".join(lines[3:])
    result = switch.push(chunk, "text/csv")
    assert (result["received"], result["stored"], result["quarantined"]) == (16, 15, 1)
    no_destination = switch.calls(filter="unrated_reason eq 'no_destination'")
    assert [(call["callee"], call["disposition"]) for call in no_destination] == [("", "ANSWERED"), ("", "ANSWERED")]
    held = ok(switch.org.client.get(f"/api/cdr_quarantine/{result['quarantine_ids'][0]}"))
    assert held["body"] == broken and held["line"] == 4 and held["error"].startswith("expected 17 to 21 columns")
    listed = ok(switch.org.client.get("/api/cdr_quarantine", params={"filter": "status eq 'held'"}))
    assert [entry["id"] for entry in listed["items"]] == result["quarantine_ids"]
    assert switch.push(chunk, "text/csv")["quarantined"] == 1  # held once, however often it is sent
    assert ok(switch.org.client.get("/api/cdr_quarantine"))["count"] == 1


def test_cdr_custom_sample_layout(switch):
    result = switch.push(real("asterisk_kelysaina_cdr_custom_master_19col.csv"), "text/plain")
    assert (result["stored"], result["quarantined"]) == (14, 0)
    first = switch.calls()[0]
    assert (first["caller"], first["callee"], first["billsec"], first["call_id"]) == ("client1", "6789", 13, "1690325492.2/2")


@pytest.mark.parametrize(
    ("timezone", "winter", "summer"),
    [
        ("UTC", "2024-01-27T15:07:24Z", "2023-07-26T01:51:32Z"),
        ("Europe/Berlin", "2024-01-27T14:07:24Z", "2023-07-25T23:51:32Z"),  # CET +1 in January, CEST +2 in July
        ("America/New_York", "2024-01-27T20:07:24Z", "2023-07-26T05:51:32Z"),
    ],
)
def test_local_times_are_read_in_the_endpoints_time_zone(org, timezone, winter, summer):
    switch = Switch(org, timezone=timezone)
    switch.push(real("asterisk_dj-asterisk-cdr_master_21col.csv").splitlines(keepends=True)[0], "text/csv")
    switch.push(real("asterisk_kelysaina_cdr_custom_master_19col.csv").splitlines(keepends=True)[0], "text/csv")
    assert [call["start"] for call in switch.calls()] == [summer, winter]
    fs = switch.push(*reversed(wire("fs_json_cgrates_2018_aleg_hold.json", "true")))  # epochs: the zone does not apply
    assert ok(switch.org.client.get(f"/api/calls/{fs['ids'][0]}"))["start"] == datetime.fromtimestamp(1515666344, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("name", "timezone"),
    [
        ("asterisk_dj-asterisk-cdr_master_21col.csv", "UTC"),
        ("asterisk_telephonyswitching_master_18col.csv", "UTC"),
        ("asterisk_speech-to-text_master_18col.csv", "UTC"),
        ("asterisk_kelysaina_cdr_custom_master_19col.csv", "Indian/Antananarivo"),  # written in local time, UTC+3
    ],
)
def test_start_times_agree_with_the_uniqueid_clock(org, name, timezone):
    """Asterisk's uniqueid starts with the channel's creation time in Unix seconds: read in the
    switch's zone, every CDR starts at or shortly after it (a zone off by hours is caught)."""
    switch = Switch(org, timezone=timezone)
    result = switch.push(real(name), "text/csv")
    assert result["stored"] == result["received"]
    offsets = []
    for call in switch.calls():
        created = datetime.fromtimestamp(int(call["call_id"].split(".")[0]), UTC)
        offsets.append((datetime.fromisoformat(call["start"].replace("Z", "+00:00")) - created).total_seconds())
    assert 0 <= min(offsets) and max(offsets) < 600 and offsets.count(0) >= len(offsets) // 2, offsets


def test_held_lines_are_processed_again_once_the_endpoint_is_fixed(org):
    """A switch on UTC, configured as Europe/Berlin: on the night clocks go forward, a call from
    02:30 to 03:10 ends before it starts in Berlin time, and is held; set the zone right and
    process it again."""
    switch = Switch(org, timezone="Europe/Berlin")
    line = real("asterisk_dj-asterisk-cdr_master_21col.csv").splitlines(keepends=True)[0]
    night = line.replace("2024-01-27 15:07:24", "2024-03-31 02:30:00", 2).replace("2024-01-27 15:07:51", "2024-03-31 03:10:00").replace(",27,27,", ",2400,2400,")
    result = switch.push(night, "text/csv")
    assert (result["stored"], result["quarantined"]) == (0, 1)
    [held_id] = result["quarantine_ids"]
    assert "end is before start" in ok(org.client.get(f"/api/cdr_quarantine/{held_id}"))["error"]
    still = ok(org.client.post("/api/cdr_quarantine/reprocess", json={}))
    assert (still["processed"], still["still_held"]) == (0, 1)

    switch.configure(timezone="UTC")
    done = ok(org.client.post("/api/cdr_quarantine/reprocess", json={"ids": [held_id]}))
    assert (done["processed"], done["still_held"], done["stored"]) == (1, 0, 1)
    [call] = switch.calls()
    assert (call["start"], call["billsec"], call["cost"]) == ("2024-03-31T02:30:00Z", 2400, 0.4)
    entry = ok(org.client.get(f"/api/cdr_quarantine/{held_id}"))
    assert (entry["status"], entry["call_ids"]) == ("processed", done["call_ids"])
    assert ok(org.client.post("/api/cdr_quarantine/reprocess", json={}))["processed"] == 0  # nothing left held
    assert ok(org.client.delete(f"/api/cdr_quarantine/{held_id}"))["success"] is True
    assert_error(org.client.get(f"/api/cdr_quarantine/{held_id}"), 404)


def test_quarantine_belongs_to_its_organization(switch, other_org):
    result = switch.push("not a cdr", "text/csv")
    [held_id] = result["quarantine_ids"]
    assert_error(other_org.client.get(f"/api/cdr_quarantine/{held_id}"), 404)
    assert ok(other_org.client.get("/api/cdr_quarantine"))["count"] == 0
    assert ok(other_org.client.post("/api/cdr_quarantine/reprocess", json={"ids": [held_id]}))["still_held"] == 0
    assert_error(other_org.client.delete(f"/api/cdr_quarantine/{held_id}"), 404)


def test_reports_group_by_disposition_and_hangup_cause(switch):
    switch.push(real("asterisk_dj-asterisk-cdr_master_21col.csv"), "text/csv")
    rows = ok(switch.org.client.get("/api/reports/call-data", params={"start_date": "2024-01-27", "end_date": "2024-01-27", "group_by": "disposition"}))["data"]
    assert [(row["disposition"], row["calls"], row["answered"]) for row in rows] == [("ANSWERED", 4, 3), ("NO ANSWER", 9, 0)]
    answered = ok(switch.org.client.get("/api/reports/call-data", params={"start_date": "2024-01-27", "end_date": "2024-01-27", "disposition": "ANSWERED"}))["data"]
    assert [(row["day"], row["calls"], row["billsec"]) for row in answered] == [("2024-01-27", 4, 64)]
    for name in (A_LEG, "fs_json_cgrates_2018_aleg_hold.json"):
        switch.push(*reversed(wire(name, "true")))
    rows = ok(switch.org.client.get("/api/reports/call-data", params={"start_date": "2018-01-11", "end_date": "2025-11-12", "group_by": "hangup_cause"}))["data"]
    assert [(row["hangup_cause"], row["calls"]) for row in rows] == [(None, 13), ("NORMAL_CLEARING", 1), ("ORIGINATOR_CANCEL", 1)]
