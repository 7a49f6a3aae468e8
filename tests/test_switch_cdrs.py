"""Switch CDR parsers on payloads shaped like what FreeSWITCH and Asterisk really emit.

Pure functions, so no server: every parsed CDR is validated with `CallIn`, exactly as
`/api/calls` would, to prove the switch's record is accepted. Caller *names* are parsed
through (url-encoded and raw) but `CallIn` has no field for them, so only the numbers
are asserted.
"""

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from trunkline.calls.schemas import CallIn
from trunkline.switches import asterisk, freeswitch
from trunkline.switches.records import SwitchCdrError, Unreadable

FIXTURES = Path(__file__).parent / "fixtures" / "switches"
BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1 in March
_call = TypeAdapter(CallIn)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def form(document: str) -> str:
    """The body mod_json_cdr / mod_xml_cdr POST with encode=true."""
    return "cdr=" + quote(document, safe="")


def accepted(cdrs: list[dict]) -> list[CallIn]:
    return [_call.validate_python(cdr) for cdr in cdrs]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def json_cdr(name: str, **variables) -> dict:
    document = json.loads(fixture(name))
    document["variables"].update(variables)
    for key, value in variables.items():
        if value is None:
            del document["variables"][key]
    return document


# --- FreeSWITCH mod_json_cdr ---------------------------------------------------


def test_json_a_leg_answered():
    [cdr] = freeswitch.parse_json(fixture("freeswitch_a_leg.json").encode())
    assert cdr == {
        "call_id": "9f3c2a1e-5b7d-4c8e-a1f0-6d2b8e4c7a31",
        "account_id": "acct-1001",
        "caller": "1001",
        "callee": "+4930901820",  # url-encoded %2B decoded, "+" kept
        "start": utc(2024, 3, 5, 14, 2, 11),
        "answer": utc(2024, 3, 5, 14, 2, 15),
        "end": utc(2024, 3, 5, 14, 3, 20),
        "duration": 69,
        "billsec": 65,
        "disposition": "ANSWERED",
        "hangup_cause": "NORMAL_CLEARING",
        "direction": "inbound",
        "leg": "a",
        "linked_id": "9f3c2a1e-5b7d-4c8e-a1f0-6d2b8e4c7a31",  # an A-leg links by its own uuid
        "gateway": "carrier1",  # the gateway its bridge dialled
    }
    [call] = accepted([cdr])
    assert call.billsec == 65 and call.direction == "inbound"


def test_json_b_leg_rates_the_number_the_switch_dialled():
    [cdr] = freeswitch.parse_json(fixture("freeswitch_b_leg.json"))
    assert cdr["call_id"] == "c4e8a7d2-1f3b-4a6c-9e5d-2b7f1a8c3d64"  # its own uuid, not the a-leg's
    assert cdr["callee"] == "4930901820"  # destination_number, not callee_id_number (+4930901820)
    assert cdr["caller"] == "+4989123456"
    assert cdr["direction"] == "outbound" and cdr["disposition"] == "ANSWERED"
    assert "account_id" not in cdr  # no accountcode on this leg
    assert (cdr["start"], cdr["duration"], cdr["billsec"]) == (utc(2024, 3, 5, 14, 2, 12), 68, 65)
    assert (cdr["leg"], cdr["linked_id"]) == ("b", "9f3c2a1e-5b7d-4c8e-a1f0-6d2b8e4c7a31")  # the originator's uuid
    accepted([cdr])


def test_json_unanswered_with_raw_unicode_and_call_direction():
    [cdr] = freeswitch.parse_json(fixture("freeswitch_unanswered.json"))
    assert "answer" not in cdr  # answer_epoch 0 = never answered
    assert cdr["billsec"] == 0 and cdr["duration"] == 12
    assert cdr["disposition"] == "NO ANSWER" and cdr["hangup_cause"] == "ORIGINATOR_CANCEL"
    assert cdr["direction"] == "internal"  # FusionPBX's call_direction=local wins over the channel's "inbound"
    assert (cdr["caller"], cdr["callee"]) == ("1002", "1003")
    [call] = accepted([cdr])
    assert call.answer is None and call.billsec == 0


def test_json_form_field_and_decoded_field_value_match_the_raw_document():
    raw = fixture("freeswitch_a_leg.json")
    expected = freeswitch.parse_json(raw)
    assert freeswitch.parse_json(form(raw)) == expected
    assert freeswitch.parse_json(form(raw).encode()) == expected
    assert freeswitch.parse(form(raw)) == freeswitch.parse(raw) == expected


def test_json_url_encoded_unicode_values_are_decoded():
    document = json_cdr("freeswitch_a_leg.json", caller_id_number="%E2%80%AD1001", accountcode="K%C3%B6ln-7")
    [cdr] = freeswitch.parse_json(json.dumps(document))
    assert cdr["account_id"] == "Köln-7" and cdr["caller"] == "\u202d1001"
    document = json_cdr("freeswitch_a_leg.json", accountcode="Köln-7")  # encode-values=false: raw UTF-8
    assert freeswitch.parse_json(json.dumps(document, ensure_ascii=False).encode())[0]["account_id"] == "Köln-7"


def test_json_missing_optional_fields():
    document = json_cdr("freeswitch_a_leg.json", accountcode=None, caller_id_name=None, effective_caller_id_name=None, caller_id_number=None)
    for name in ("caller_id_number", "ani"):
        document["callflow"][0]["caller_profile"].pop(name)
    [cdr] = freeswitch.parse_json(json.dumps(document))
    assert "account_id" not in cdr and "caller" not in cdr
    [call] = accepted([cdr])
    assert call.caller is None and call.account_id is None


def test_json_numbers_fall_back_to_the_callflow():
    document = json_cdr("freeswitch_a_leg.json", destination_number=None, caller_id_number=None)
    [cdr] = freeswitch.parse_json(json.dumps(document))
    assert (cdr["caller"], cdr["callee"]) == ("1001", "+4930901820")


def test_json_times_in_microseconds_when_epochs_are_missing():
    epochs = dict.fromkeys(("start_epoch", "answer_epoch", "end_epoch", "duration", "billsec"))
    [cdr] = freeswitch.parse_json(json.dumps(json_cdr("freeswitch_a_leg.json", **epochs)))
    assert cdr["start"] == utc(2024, 3, 5, 14, 2, 11, 204551)
    assert cdr["answer"] == utc(2024, 3, 5, 14, 2, 15, 612873)
    assert cdr["end"] == utc(2024, 3, 5, 14, 3, 20, 948211)
    [call] = accepted([cdr])
    assert (call.duration, call.billsec) == (69, 65)  # CallIn derives them from the times


def test_json_top_level_times_and_single_callflow_object():
    document = json_cdr("freeswitch_unanswered.json", start_epoch=None, answer_epoch=None, end_epoch=None)
    document["times"] = document["callflow"].pop("times")
    [cdr] = freeswitch.parse_json(json.dumps(document))
    assert cdr["start"] == utc(2024, 3, 5, 14, 10, 0, 118302) and "answer" not in cdr
    accepted([cdr])


@pytest.mark.parametrize(
    ("cause", "disposition"),
    [
        ("USER_BUSY", "BUSY"),
        ("NO_ANSWER", "NO ANSWER"),
        ("NO_USER_RESPONSE", "NO ANSWER"),
        ("NORMAL_CIRCUIT_CONGESTION", "CONGESTION"),
        ("CALL_REJECTED", "FAILED"),
        ("UNALLOCATED_NUMBER", "FAILED"),
        (None, None),
    ],
)
def test_json_disposition_of_unanswered_calls_from_hangup_cause(cause, disposition):
    [cdr] = freeswitch.parse_json(json.dumps(json_cdr("freeswitch_unanswered.json", hangup_cause=cause)))
    assert cdr.get("disposition") == disposition and cdr.get("hangup_cause") == cause
    accepted([cdr])


@pytest.mark.parametrize(
    ("variables", "direction"),
    [
        ({"direction": "outbound", "call_direction": None}, "outbound"),
        ({"direction": "inbound", "call_direction": "outbound"}, "outbound"),
        ({"direction": "inbound", "call_direction": "sideways"}, "inbound"),
        ({"direction": "weird", "call_direction": None}, None),
    ],
)
def test_json_direction(variables, direction):
    [cdr] = freeswitch.parse_json(json.dumps(json_cdr("freeswitch_unanswered.json", **variables)))
    assert cdr.get("direction") == direction


# --- FreeSWITCH mod_xml_cdr ----------------------------------------------------


def test_xml_a_leg_answered_with_url_encoded_values():
    [cdr] = freeswitch.parse_xml(fixture("freeswitch_a_leg.xml").encode())
    assert cdr == {
        "call_id": "0b7e4d2a-9c1f-4b8e-a3d5-6f2c8e1a4b70",
        "account_id": "acct-2002",
        "caller": "+4917612345678",
        "callee": "4930901821",
        "start": utc(2024, 3, 5, 14, 46, 40),
        "answer": utc(2024, 3, 5, 14, 46, 43),
        "end": utc(2024, 3, 5, 14, 48, 45),
        "duration": 125,
        "billsec": 122,
        "disposition": "ANSWERED",
        "hangup_cause": "NORMAL_CLEARING",
        "direction": "inbound",
        "leg": "a",
        "linked_id": "0b7e4d2a-9c1f-4b8e-a3d5-6f2c8e1a4b70",
        "gateway": "carrier1",
    }
    accepted([cdr])


def test_xml_b_leg_busy_reads_numbers_from_the_callflow():
    [cdr] = freeswitch.parse_xml(fixture("freeswitch_b_leg.xml"))
    assert cdr["call_id"] == "e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7"
    assert (cdr["caller"], cdr["callee"]) == ("+4989123456", "442079460000")  # not callee_id_number
    assert cdr["disposition"] == "BUSY" and cdr["hangup_cause"] == "USER_BUSY" and cdr["direction"] == "outbound"
    assert "answer" not in cdr and "account_id" not in cdr and cdr["billsec"] == 0
    assert (cdr["leg"], cdr["linked_id"]) == ("b", "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d")
    [call] = accepted([cdr])
    assert call.answer is None and call.duration == 2


def test_xml_form_field_matches_the_raw_document():
    raw = fixture("freeswitch_b_leg.xml")
    assert freeswitch.parse_xml(form(raw).encode()) == freeswitch.parse_xml(raw) == freeswitch.parse(form(raw))


def test_xml_raw_unicode_and_times_fallback():
    root = ET.fromstring(fixture("freeswitch_a_leg.xml"))
    variables = root.find("variables")
    for name in ("start_epoch", "answer_epoch", "end_epoch"):
        variables.remove(variables.find(name))
    variables.find("accountcode").text = "Zürich-9"
    [cdr] = freeswitch.parse_xml(ET.tostring(root, encoding="utf-8"))
    assert cdr["account_id"] == "Zürich-9"
    assert cdr["answer"] == utc(2024, 3, 5, 14, 46, 43, 871045)
    accepted([cdr])


# --- FreeSWITCH malformed payloads ---------------------------------------------

A_LEG_JSON = fixture("freeswitch_a_leg.json")
A_LEG_XML = fixture("freeswitch_a_leg.xml")
LAUGHS = '<?xml version="1.0"?><!DOCTYPE cdr [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;">]><cdr><variables><uuid>&b;</uuid></variables></cdr>'


def without_profile_uuid(document: dict) -> dict:
    for flow in document["callflow"]:
        flow["caller_profile"].pop("uuid", None)
    return document


def _without(document: str, tag: str) -> str:
    start, end = document.index(f"<{tag}>"), document.index(f"</{tag}>") + len(tag) + 3
    return document[:start] + document[end:]


@pytest.mark.parametrize(
    ("parse", "payload", "message"),
    [
        (freeswitch.parse_json, '{"variables": {"uuid": "x",', "malformed JSON: Expecting property name"),
        (freeswitch.parse_json, "[1, 2]", "the JSON CDR is not an object"),
        (freeswitch.parse_json, '{"core-uuid": "x", "variables": "uuid=x"}', "the JSON CDR has no variables object"),
        (freeswitch.parse_json, json.dumps(without_profile_uuid(json_cdr("freeswitch_a_leg.json", uuid=None))), "no variables.uuid"),
        (freeswitch.parse_json, json.dumps(without_profile_uuid(json_cdr("freeswitch_a_leg.json", uuid="%20"))), "no variables.uuid"),
        (freeswitch.parse_json, json.dumps(json_cdr("freeswitch_a_leg.json", start_epoch="yesterday")), "start_epoch is not a whole number: 'yesterday'"),
        (freeswitch.parse_json, json.dumps(json_cdr("freeswitch_a_leg.json", answer_epoch="1709647335.5")), "answer_epoch is not a whole number"),
        (freeswitch.parse_json, json.dumps(json_cdr("freeswitch_a_leg.json", billsec="-5")), "billsec is not a whole number: '-5'"),
        (freeswitch.parse_json, json.dumps(json_cdr("freeswitch_a_leg.json", end_epoch="999999999999999999")), "end_epoch is out of range"),
        (freeswitch.parse_json, A_LEG_XML, "expected a JSON CDR document"),
        (freeswitch.parse_json, "uuid=abc&direction=inbound", "a form body with a cdr field"),
        (freeswitch.parse_json, "cdr=%7B%7D&cdr=%7B%7D", "more than one cdr field"),
        (freeswitch.parse_json, b'{"variables": {"uuid": "\xff"}}', "not UTF-8"),
        (freeswitch.parse_json, "", "a form body with a cdr field"),
        (freeswitch.parse_xml, A_LEG_XML[: len(A_LEG_XML) // 2], "malformed XML"),
        (freeswitch.parse_xml, form(A_LEG_XML[:200]), "malformed XML"),
        (freeswitch.parse_xml, LAUGHS, "DOCTYPE or ENTITY declaration is refused"),
        (freeswitch.parse_xml, form(LAUGHS), "DOCTYPE or ENTITY declaration is refused"),
        (freeswitch.parse_xml, '<!DOCTYPE cdr SYSTEM "file:///etc/passwd"><cdr/>', "DOCTYPE or ENTITY declaration is refused"),
        (freeswitch.parse_xml, '<!doctype cdr SYSTEM "file:///etc/passwd"><cdr/>', "malformed XML"),
        (freeswitch.parse_xml, "<call><variables/></call>", "the XML root is <call>, not <cdr>"),
        (freeswitch.parse_xml, "<cdr><channel_data/></cdr>", "the XML CDR has no <variables>"),
        (freeswitch.parse_xml, _without(_without(A_LEG_XML, "uuid"), "uuid"), "no variables.uuid"),
        (freeswitch.parse_xml, A_LEG_XML.replace("<billsec>122<", "<billsec>lots<"), "billsec is not a whole number: 'lots'"),
        (freeswitch.parse_xml, A_LEG_JSON, "expected an XML CDR document"),
        (freeswitch.parse, "hello", "a form body with a cdr field"),
    ],
)
def test_freeswitch_malformed_payloads_are_named(parse, payload, message):
    with pytest.raises(SwitchCdrError) as caught:
        parse(payload)
    assert message in str(caught.value) and caught.value.line is None


# --- Asterisk Master.csv ---------------------------------------------------------


def test_master_csv_lines_in_the_switch_time_zone():
    cdrs = asterisk.parse_master_csv(fixture("asterisk_master.csv").encode(), tz=BERLIN)
    assert len(cdrs) == 5
    assert cdrs[0] == {
        "call_id": "1709647331.1#" + cdrs[0]["call_id"].split("#")[1],  # uniqueid and a digest of the line
        "account_id": "acct-1001",
        "caller": "1001",
        "callee": "004930901820",
        "start": utc(2024, 3, 5, 14, 2, 11),
        "answer": utc(2024, 3, 5, 14, 2, 15),
        "end": utc(2024, 3, 5, 14, 3, 20),
        "duration": 69,
        "billsec": 65,
        "disposition": "ANSWERED",
        "leg": "a",
        "gateway": "carrier1",  # dstchannel PJSIP/carrier1-00000002
    }
    no_answer, busy, failed, voicemail = cdrs[1:]
    assert "account_id" not in no_answer and "answer" not in no_answer
    assert (no_answer["caller"], no_answer["billsec"], no_answer["disposition"]) == ("1002", 0, "NO ANSWER")
    assert busy["caller"] == "+4917612345678"  # src empty: the number in clid "Müller, Hans" <...>
    assert (busy["account_id"], busy["callee"], busy["disposition"]) == ("acct-2002", "4930901821", "BUSY")
    assert (failed["caller"], failed["callee"], failed["disposition"]) == ("1004", "+442079460000", "FAILED")
    assert voicemail["callee"] == "*97" and voicemail["answer"] == voicemail["start"]
    calls = accepted(cdrs)
    assert [call.billsec for call in calls] == [65, 0, 0, 0, 31]
    assert [call.answer is None for call in calls] == [False, True, True, True, False]


def test_master_csv_default_time_zone_is_utc():
    [first, *_] = asterisk.parse_master_csv(fixture("asterisk_master.csv"))
    assert first["start"] == utc(2024, 3, 5, 15, 2, 11)


def test_master_csv_new_columns_tell_cdrs_of_one_channel_apart():
    cdrs = asterisk.parse_master_csv(fixture("asterisk_master_newcdrcolumns.csv"), tz=BERLIN)
    assert [cdr["call_id"] for cdr in cdrs] == ["1709650800.10/1709650800.10/12", "1709650800.10/1709650800.10/13", "1709650800.11/1709650800.10/14"]
    assert {cdr["linked_id"] for cdr in cdrs} == {"1709650800.10"}
    assert cdrs[2]["caller"] == "1005" and cdrs[2]["billsec"] == 120
    accepted(cdrs)


def _line(*extra: str, uniqueid: bool = True) -> str:
    base = ["", "1001", "1002", "default", '"Ann" <1001>', "SIP/1001-1", "SIP/1002-2", "Dial", "SIP/1002,20", "2024-03-05 10:00:00", "2024-03-05 10:00:05", "2024-03-05 10:01:00", "60", "55", "ANSWERED", "DOCUMENTATION"]
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(base + (["1709632800.1"] if uniqueid else []) + list(extra))
    return out.getvalue()


@pytest.mark.parametrize(
    ("line", "call_id"),
    [
        (_line(), "1709632800.1#"),  # loguniqueid only: uniqueid and a digest of the line
        (_line("userfield"), "1709632800.1#"),
        (_line("", "1709632800.1", "7", uniqueid=False), "1709632800.1/7"),  # newcdrcolumns only: linkedid/sequence
        (_line("", "1709632800.0", "7"), "1709632800.1/1709632800.0/7"),
        (_line("", "", "1709632800.0", "7"), "1709632800.1/1709632800.0/7"),
    ],
)
def test_master_csv_column_layouts(line, call_id):
    [cdr] = asterisk.parse_master_csv(line)
    assert cdr["call_id"].startswith(call_id) and cdr["billsec"] == 55 and cdr["caller"] == "1001"
    assert len(cdr["call_id"]) == len(call_id) + (16 if call_id.endswith("#") else 0)
    accepted([cdr])


def test_master_csv_blank_lines_crlf_bom_and_line_spanning_field():
    spanning = _line().replace('"SIP/1002,20"', '"SIP/1002,20\nsecond line"')
    payload = ("\ufeff" + _line() + "\n" + spanning + _line()).replace("\n", "\r\n").encode()
    assert len(asterisk.parse_master_csv(payload)) == 3
    bad = _line() + spanning + _line().replace('"55"', '"5x"')
    first, second, third = asterisk.parse_master_csv(bad)
    assert isinstance(first, dict) and isinstance(second, dict)
    assert third == Unreadable(_line().replace('"55"', '"5x"').encode(), "billsec is not a whole number: '5x'", 4)


MASTER = fixture("asterisk_master.csv").splitlines()


@pytest.mark.parametrize(
    ("payload", "line", "message"),
    [
        (MASTER[0] + "\n" + '"acct","1001","1002","x","y"\n', 2, "expected 17 to 21 columns, got 5"),
        (_line().replace(',"1709632800.1"', ""), 1, "expected 17 to 21 columns, got 16 (no uniqueid: set loguniqueid=yes in cdr.conf)"),
        (_line().replace("2024-03-05 10:00:00", "05/03/2024 10:00"), 1, "start is not a YYYY-MM-DD HH:MM:SS time: '05/03/2024 10:00'"),
        (_line().replace("2024-03-05 10:00:05", "2024-02-30 10:00:05"), 1, "answer is not a YYYY-MM-DD HH:MM:SS time"),
        (_line().replace('"60"', '"sixty"'), 1, "duration is not a whole number: 'sixty'"),
        (MASTER[0] + "\n" + _line().replace('"1709632800.1"', '""'), 2, "no uniqueid"),
        (_line("", "", "7", uniqueid=False), 1, "no uniqueid"),
    ],
)
def test_master_csv_malformed_lines_are_kept_with_their_line_and_bytes(payload, line, message):
    *good, bad = asterisk.parse_master_csv(payload, tz=BERLIN)
    assert all(isinstance(cdr, dict) for cdr in good)
    assert isinstance(bad, Unreadable) and bad.line == line and bad.error.startswith(message)
    assert bad.raw == payload.splitlines(keepends=True)[line - 1].encode()


@pytest.mark.parametrize(("payload", "message"), [("", "no CDR lines"), ("\n\n", "no CDR lines"), (b"\xff\xfe\x00", "not UTF-8")])
def test_master_csv_empty_or_undecodable(payload, message):
    with pytest.raises(SwitchCdrError, match=message):
        asterisk.parse_master_csv(payload)


def test_master_csv_time_that_cannot_be_converted_to_utc():
    [bad] = asterisk.parse_master_csv(_line().replace("2024-03-05 10:00:00", "0001-01-01 00:00:00"), tz=BERLIN)
    assert bad.line == 1 and bad.error.startswith("start is out of range in UTC")


# --- Property: any input gives CDRs or SwitchCdrError, nothing else -------------

PARSERS = [freeswitch.parse, freeswitch.parse_json, freeswitch.parse_xml, asterisk.parse_master_csv]


def only_switch_errors(parse, payload) -> None:
    try:
        cdrs = parse(payload)
    except SwitchCdrError:
        return
    for cdr in cdrs:
        if isinstance(cdr, Unreadable):
            assert cdr.error and cdr.raw
            continue
        assert set(cdr) <= set(CallIn.model_fields)
        try:
            _call.validate_python(cdr)
        except ValidationError:
            pass  # a field CallIn refuses; the route reports it like any bad CDR


@pytest.mark.parametrize("parse", PARSERS)
@settings(deadline=None)
@given(payload=st.one_of(st.binary(), st.text()))
def test_arbitrary_payloads_raise_only_switch_errors(parse, payload):
    only_switch_errors(parse, payload)


@pytest.mark.parametrize("parse", PARSERS)
@settings(deadline=None)
@given(payload=st.text(alphabet="{}[]<>\"'=&%:,/ \n!-cdrvaiblesuxtmpo0123456789").map(lambda s: s[:200]))
def test_punctuation_heavy_payloads_raise_only_switch_errors(parse, payload):
    only_switch_errors(parse, payload)


SCALARS = st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.none(), st.floats(), st.lists(st.integers(), max_size=2))
NUMERIC_TEXT = st.one_of(st.integers(min_value=-10, max_value=10**20).map(str), st.text(alphabet="0123456789%+-. e", max_size=12))
FIELDS = ["uuid", "start_epoch", "answer_epoch", "end_epoch", "duration", "billsec", "hangup_cause", "direction", "call_direction", "destination_number", "caller_id_number", "accountcode"]


@settings(deadline=None)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), st.one_of(SCALARS, NUMERIC_TEXT)), top=st.dictionaries(st.sampled_from(["variables", "callflow", "times"]), SCALARS, max_size=1))
def test_json_with_fuzzed_fields_raises_only_switch_errors(changes, top):
    document = json.loads(A_LEG_JSON)
    document["variables"].update(changes)
    document.update(top)
    only_switch_errors(freeswitch.parse_json, json.dumps(document))


@settings(deadline=None)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30), NUMERIC_TEXT)))
def test_xml_with_fuzzed_fields_raises_only_switch_errors(changes):
    root = ET.fromstring(A_LEG_XML)
    variables = root.find("variables")
    for name, value in changes.items():
        (variables.find(name) if variables.find(name) is not None else ET.SubElement(variables, name)).text = value
    only_switch_errors(freeswitch.parse_xml, ET.tostring(root, encoding="unicode"))


@settings(deadline=None)
@given(rows=st.lists(st.lists(st.one_of(st.text(max_size=20), NUMERIC_TEXT, st.sampled_from(["2024-03-05 10:00:00", ""])), min_size=15, max_size=22), min_size=1, max_size=4))
def test_master_csv_with_fuzzed_rows_raises_only_switch_errors(rows):
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(rows)
    only_switch_errors(asterisk.parse_master_csv, out.getvalue())
