"""`POST /api/endpoint/cdr` over HTTP: switch CDRs in their native formats are rated and stored
exactly like `POST /api/calls`, a retry is a 200 duplicate, and a bad payload stores nothing."""

import base64
import uuid
from urllib.parse import quote

import pytest

from tests.helpers import Switch, assert_error, fixture

FORM = "application/x-www-form-urlencoded"


def form(document: str) -> str:
    """What mod_json_cdr / mod_xml_cdr POST with encode=true."""
    return "cdr=" + quote(document, safe="")


@pytest.fixture
def switch(org):
    return Switch(org)


@pytest.mark.parametrize(
    ("name", "media_type", "encode"),
    [
        ("freeswitch_a_leg.json", "application/json", False),
        ("freeswitch_a_leg.json", FORM, True),
        ("freeswitch_b_leg.json", "application/json; charset=utf-8", False),
        ("freeswitch_a_leg.xml", "application/xml", False),
        ("freeswitch_a_leg.xml", "text/xml", False),
        ("freeswitch_a_leg.xml", FORM, True),
        ("asterisk_master.csv", "text/csv", False),
        ("asterisk_master_newcdrcolumns.csv", "text/plain", False),
    ],
)
def test_switch_cdrs_are_stored_and_rated_like_api_calls(switch, name, media_type, encode):
    document = fixture(name)
    response = switch.push(form(document) if encode else document, media_type)
    assert response.status_code == 200, response.text
    body = response.json()
    calls = switch.calls()
    assert body["success"] is True and body["stored"] == body["received"] == len(calls) == len(body["ids"]) >= 1
    total = 0
    for call in calls.values():
        if not call["billed"]:  # the other leg of a call its endpoint bills by the A-leg
            assert (call["leg"], call["cost"], call["unrated_reason"]) == ("b", None, "not_billed_leg")
            continue
        quoted = switch.quote(call["callee"], call["billsec"])
        assert call["cost"] == quoted["cost"] and call["status"] == quoted["status"], (call, quoted)
        total += call["cost"] or 0
    assert body["cost"] == pytest.approx(total)

    again = switch.push(form(document) if encode else document, media_type)  # the switch retries
    assert again.status_code == 200, again.text
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == len(calls)
    assert sorted(again.json()["duplicate_call_ids"]) == sorted(calls)
    assert len(switch.calls()) == len(calls)


def test_rated_exactly_as_post_api_calls(switch, other_org):
    """The same CDR through /api/calls in another org with the same deck costs the same."""
    Switch(other_org)
    response = switch.push(fixture("freeswitch_a_leg.xml"), "application/xml")
    pushed = next(iter(switch.calls().values()))
    fields = ("call_id", "callee", "caller", "start", "answer", "end", "duration", "billsec", "account_id", "disposition", "direction")
    direct = other_org.client.post("/api/calls", json={k: pushed[k] for k in fields if pushed.get(k) is not None})
    assert direct.status_code == 200, direct.text
    assert response.json()["cost"] == direct.json()["cost"] == switch.quote(pushed["callee"], pushed["billsec"])["cost"] > 0
    other = other_org.client.get("/api/calls").json()["items"][0]
    keys = ("cost", "prefix", "rate_type", "billsec", "status")
    assert {k: other[k] for k in keys} == {k: pushed[k] for k in keys}


def test_unanswered_calls_cost_nothing(switch):
    assert switch.push(fixture("freeswitch_unanswered.json"), "application/json").status_code == 200
    assert switch.push(form(fixture("freeswitch_b_leg.xml")), FORM).status_code == 200
    calls = switch.calls()
    assert [(c["billsec"], c["cost"], c["billed"]) for c in calls.values()] == [(0, 0, True), (0, None, False)]


@pytest.mark.parametrize(
    ("body", "media_type", "status"),
    [
        ("", "application/json", 400),
        ("\n\n", "text/csv", 400),
        ("x", "application/octet-stream", 415),
    ],
)
def test_pushes_with_nothing_to_keep_are_refused(switch, body, media_type, status):
    error = assert_error(switch.push(body, media_type), status)
    assert len(error["message"]) > 10
    assert switch.calls() == {}
    record = switch.org.client.get(f"/api/requests/{error['guid']}").json()
    assert (record["status"], record["organization_id"], record["error_code"]) == (status, switch.org.id, error["errorCode"])


@pytest.mark.parametrize(
    ("body", "media_type", "error"),
    [
        ("{not json", "application/json", "malformed JSON"),
        ("<cdr><variables>", "application/xml", "malformed XML"),
        ('{"variables": {"start_epoch": "1709647331"}}', "application/json", "no variables.uuid"),
        ("cdr=", FORM, "no JSON or XML document"),
        ("other=1", FORM, "a form body with a cdr field"),
        ('"a","b","c"\n', "text/csv", "expected 17 to 21 columns, got 3"),
        ("call_id,callee\nx,1\n", "text/csv", "expected 17 to 21 columns, got 2"),
    ],
)
def test_unreadable_payloads_are_held_byte_for_byte(switch, body, media_type, error):
    """A switch retries anything but a 2xx and cannot edit its history: what cannot be read is
    held in the quarantine with the error, and the push is answered 200 with the count."""
    response = switch.push(body, media_type)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["stored"], result["quarantined"], len(result["quarantine_ids"])) == (0, result["received"], result["received"])
    assert switch.calls() == {}
    held = [switch.org.client.get(f"/api/cdr_quarantine/{held_id}").json() for held_id in result["quarantine_ids"]]
    assert error in held[0]["error"] and held[0]["status"] == "held" and held[0]["media_type"] == media_type
    assert b"".join(base64.b64decode(entry["body_base64"]) for entry in held) == body.encode()


def test_a_cdr_callin_rejects_is_held_naming_the_field(switch):
    document = fixture("freeswitch_a_leg.json").replace('"destination_number": "', '"destination_number": "' + "9" * 80)
    result = switch.push(document, "application/json").json()
    assert result["quarantined"] == 1 and switch.calls() == {}
    held = switch.org.client.get(f"/api/cdr_quarantine/{result['quarantine_ids'][0]}").json()
    assert held["error"].startswith("Invalid CDR: callee: String should have at most 64 characters")
    assert held["body"] == document


def test_organizations_are_isolated(switch, other_org):
    other = Switch(other_org)
    call_id = str(uuid.uuid4())
    document = fixture("freeswitch_a_leg.json").replace("9f3c2a1e-5b7d-4c8e-a1f0-6d2b8e4c7a31", call_id)
    assert switch.push(document, "application/json").json()["stored"] == 1
    assert list(switch.calls()) == [call_id]
    assert other.calls() == {}
    assert other.push(document, "application/json").json()["stored"] == 1  # the same call id is another org's own CDR
    assert list(other.calls()) == [call_id] and list(switch.calls()) == [call_id]
