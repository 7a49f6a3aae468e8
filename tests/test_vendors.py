"""Vendors on buy plans, the cost and margin of the calls they carry, reports by vendor and
least-cost routing, over HTTP on every backend."""

import json

import pytest

from tests.helpers import SWITCH_FIXTURES, Switch, assert_error, cdr, make_token, ok, rate, rerate
from tests.switch_wire import mod_json_cdr

REAL = SWITCH_FIXTURES / "real"


def buy_plan(client, name: str, *rates: tuple[str, str]) -> dict:
    plan = ok(client.post("/api/rate_plans", json={"name": name, "kind": "buy"}))
    for prefix, price in rates:
        ok(client.post("/api/call_rates", json=rate(rate_plan_id=plan["id"], prefix=prefix, price_1=price, price_n=price, interval_n=60)))
    return plan


def vendor(client, name: str, plan: dict, *gateways: str) -> dict:
    return ok(client.post("/api/vendors", json={"name": name, "rate_plan_id": plan["id"], "gateways": list(gateways)}))


def call(call_id: str, gateway: str | None, callee: str = "442079460000", billsec: int = 60) -> dict:
    return cdr(call_id, callee=callee, billsec=billsec, account_id=None, gateway=gateway, start="2024-05-01T10:00:00Z", answer="2024-05-01T10:00:00Z")


@pytest.fixture
def carriers(org):
    """A sell deck (0.012 a minute to 44), a cheap vendor and a dear one."""
    ok(org.client.post("/api/call_rates", json=rate(price_1="0.012", price_n="0.012", interval_n=60)))
    cheap = vendor(org.client, "Cheap", buy_plan(org.client, "Cheap buy", ("44", "0.008"), ("4420", "0.005")), "cheap-gw")
    dear = vendor(org.client, "Dear", buy_plan(org.client, "Dear buy", ("44", "0.02")), "dear-gw", "dear-backup")
    return org, cheap, dear


def test_vendors_crud_and_rules(org, other_org):
    sell = ok(org.client.post("/api/rate_plans", json={"name": "Retail"}))
    buy = buy_plan(org.client, "Carrier X buy")
    body = assert_error(org.client.post("/api/vendors", json={"name": "X", "rate_plan_id": sell["id"]}), 422)
    assert "buy plan" in body["message"]
    created = vendor(org.client, "Carrier X", buy, "cx-1", "cx-2", "cx-1")
    assert created["gateways"] == ["cx-1", "cx-2"] and created["rate_plan_id"] == buy["id"]
    assert_error(org.client.post("/api/vendors", json={"name": "Carrier X", "rate_plan_id": buy["id"]}), 409, "DUPLICATE_NAME")
    body = assert_error(org.client.post("/api/vendors", json={"name": "Y", "rate_plan_id": buy["id"], "gateways": ["cx-2"]}), 409, "GATEWAY_TAKEN")
    assert "cx-2" in body["message"]
    changed = ok(org.client.patch(f"/api/vendors/{created['id']}", json={"gateways": ["cx-2", "cx-3"]}))
    assert changed["gateways"] == ["cx-2", "cx-3"]
    assert [v["name"] for v in ok(org.client.get("/api/vendors", params={"filter": "name eq 'Carrier X'"}))["items"]] == ["Carrier X"]
    assert_error(other_org.client.get(f"/api/vendors/{created['id']}"), 404)
    assert_error(org.client.delete(f"/api/rate_plans/{buy['id']}"), 409)  # the vendor charges by it
    assert_error(org.client.patch(f"/api/rate_plans/{buy['id']}", json={"kind": "sell"}), 409, "PLAN_IN_USE")
    _, token = make_token(org.client, ["calls.read"])
    with org.server.client(token) as reader:
        assert_error(reader.get("/api/vendors"), 403)
        assert_error(reader.get("/api/routing/lcr", params={"number": "44"}), 403)
    ok(org.client.delete(f"/api/vendors/{created['id']}"))


def test_a_call_keeps_its_price_its_vendor_cost_and_margin_and_a_loss_is_flagged(carriers):
    org, cheap, dear = carriers
    ok(org.client.post("/api/calls", json=[call("c1", "cheap-gw"), call("c2", "dear-backup"), call("c3", None), call("c4", "unknown-gw")]))
    calls = {c["call_id"]: c for c in ok(org.client.get("/api/calls"))["items"]}
    assert (calls["c1"]["cost"], calls["c1"]["vendor_id"], calls["c1"]["vendor_cost"], calls["c1"]["margin"], calls["c1"]["loss"]) == (0.012, cheap["id"], 0.005, 0.007, False)
    assert (calls["c2"]["vendor_id"], calls["c2"]["vendor_cost"], calls["c2"]["margin"], calls["c2"]["loss"]) == (dear["id"], 0.02, -0.008, True)
    assert (calls["c3"]["vendor_id"], calls["c3"]["margin"], calls["c3"]["loss"]) == (None, None, False)
    assert (calls["c4"]["gateway"], calls["c4"]["vendor_id"]) == ("unknown-gw", None)
    flagged = ok(org.client.get("/api/calls", params={"filter": "loss eq true"}))["items"]
    assert [c["call_id"] for c in flagged] == ["c2"]
    assert_error(org.client.delete(f"/api/vendors/{dear['id']}"), 409, "VENDOR_IN_USE")
    report = ok(org.client.get("/api/reports/call-data", params={"start_date": "2024-05-01", "end_date": "2024-05-31", "group_by": "vendor"}))["data"]
    by_vendor = {row["vendor_id"]: row for row in report}
    assert (by_vendor[cheap["id"]]["calls"], by_vendor[cheap["id"]]["vendor_cost"], by_vendor[cheap["id"]]["margin"]) == (1, 0.005, 0.007)
    assert (by_vendor[dear["id"]]["margin"], by_vendor[dear["id"]]["losses"]) == (-0.008, 1)
    assert by_vendor[None]["calls"] == 2
    # A new buy price, re-rated: the vendor cost follows it.
    dear_rate = ok(org.client.get("/api/call_rates", params={"rate_plan_id": dear["rate_plan_id"]}))["items"][0]
    ok(org.client.patch(f"/api/call_rates/{dear_rate['id']}", json={"price_1": "0.01", "price_n": "0.01"}))
    job = rerate(org.client, {"start_date": "2024-05-01", "end_date": "2024-05-01"})
    assert job["changed"] == 1
    assert ok(org.client.get("/api/calls", params={"filter": "call_id eq 'c2'"}))["items"][0]["margin"] == 0.002


def test_real_switch_cdrs_name_their_vendor(org):
    switch = Switch(org)
    for prefix in ("3", "8"):
        ok(org.client.post("/api/call_rates", json=rate(prefix=prefix)))
    plan = buy_plan(org.client, "Carrier buy", ("3", "0.001"), ("8", "0.001"))
    fs = vendor(org.client, "SIPp", plan, "sipptester")  # a real FreeSWITCH leg's sip_gateway_name
    asterisk = vendor(org.client, "Stadion", plan, "stadionpbx")  # a real Asterisk dstchannel SIP/stadionpbx-00000005
    media_type, body = mod_json_cdr((REAL / "fs_json_onexabhinav_originate_cid_flipped.json").read_text(), "true")
    assert switch.push(body, media_type).status_code == 200
    lines = (REAL / "asterisk_dj-asterisk-cdr_master_21col.csv").read_text().splitlines(keepends=True)
    assert switch.push(lines[4], "text/csv").status_code == 200
    calls = switch.calls()
    fs_call = calls["16c22a18-eccc-4974-adf9-44d2b6152838"]
    assert (fs_call["gateway"], fs_call["vendor_id"], fs_call["vendor_cost"]) == ("sipptester", fs["id"], 0.001)
    [ast_call] = [c for c in calls.values() if c["gateway"] == "stadionpbx"]
    assert ast_call["vendor_id"] == asterisk["id"]


def test_lcr_lists_vendors_cheapest_first_with_their_own_prefix_and_the_margin(carriers):
    org, cheap, dear = carriers
    assert (cheap["name"], dear["name"]) == ("Cheap", "Dear")
    ok(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "A"}))
    answer = ok(org.client.get("/api/routing/lcr", params={"number": "+44 20 7946 0000", "account": "acct-1"}))
    routes = [(r["vendor"], r["rate"]["prefix"], r["cost"], r["price"], r["margin"]) for r in answer["routes"]]
    assert routes == [("Cheap", "4420", 0.005, 0.012, 0.007), ("Dear", "44", 0.02, 0.012, -0.008)]
    profitable = ok(org.client.get("/api/routing/lcr", params={"number": "442079460000", "profitable_only": "true"}))
    assert [r["vendor"] for r in profitable["routes"]] == ["Cheap"]
    nowhere = ok(org.client.get("/api/routing/lcr", params={"number": "33123"}))
    assert nowhere["routes"] == []
    assert_error(org.client.get("/api/routing/lcr", params={"number": "44", "account": "nobody"}), 422)


def test_the_asterisk_trunk_and_the_freeswitch_bridge_name_the_gateway():
    from trunkline.switches.asterisk import trunk
    from trunkline.switches.freeswitch import gateway

    assert [trunk(c) for c in ("SIP/stadionpbx-00000005", "PJSIP/carrier1-0000000a", "SIP/172.19.45.122:5020-00000001", "")] == [
        "stadionpbx", "carrier1", "172.19.45.122:5020", None,
    ]
    variables = json.loads((SWITCH_FIXTURES / "freeswitch_a_leg.json").read_text())["variables"]
    assert gateway({**variables, "last_arg": "sofia/gateway/carrier1/4930901820"}) == "carrier1"
    assert gateway({"last_app": "bridge", "last_arg": "{leg_timeout=5}[x=y]sofia/gateway/backup/44|sofia/gateway/other/44"}) == "backup"
    assert gateway({"last_app": "bridge", "last_arg": "user/1002@10.10.10.204"}) is None
