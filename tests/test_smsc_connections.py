"""SMSC connections (their password kept sealed, never shown), SMS routes, and which connection a
message takes, over HTTP on every backend."""

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import assert_error, make_token, ok
from trunkline.db.engine import make_engine
from trunkline.db.tables import smsc_connections
from trunkline.kit import ids
from trunkline.kit.secretbox import server_box
from trunkline.smsc import service
from trunkline.smsc.addresses import sender_type

PASSWORD = "s3cr#tPw"


def connection(client, name: str = "Carrier SMSC", **fields) -> dict:
    body = {"name": name, "host": "smsc.example.net", "port": 2775, "system_id": "trunkline", "password": PASSWORD, **fields}
    return ok(client.post("/api/smsc_connections", json=body))


def stored(server, connection_id: str):
    engine = make_engine(server.settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(smsc_connections).where(smsc_connections.c.id == ids.decode(connection_id))).one()
    finally:
        engine.dispose()


def test_a_connection_is_created_with_defaults_and_its_password_is_never_shown(org):
    created = connection(org.client)
    assert created["password_set"] is True and "password" not in created and "password_sealed" not in created
    assert (created["bind_mode"], created["window_size"], created["messages_per_second"], created["system_type"]) == ("transceiver", 10, 100, "")
    assert (created["source_ton"], created["source_npi"], created["dest_ton"], created["dest_npi"], created["enabled"]) == (None, None, 1, 1, True)
    shown = ok(org.client.get(f"/api/smsc_connections/{created['id']}"))
    assert shown == {k: v for k, v in created.items() if k not in ("success", "guid")}
    listed = ok(org.client.get("/api/smsc_connections", params={"filter": "bind_mode eq 'transceiver' and enabled eq true", "search": "Carrier"}))
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    for body in (shown, listed["items"][0]):
        assert PASSWORD not in str(body)


def test_the_password_is_kept_sealed_with_the_server_key_and_a_change_replaces_it(org):
    created = connection(org.client)
    row = stored(org.server, created["id"])
    assert PASSWORD not in str(tuple(row))
    box = server_box(org.server.settings.secret_key, org.server.settings.data_dir)
    assert box.open(row.password_sealed) == PASSWORD
    if org.server.backend == "sqlite":  # nor anywhere in the database's files
        database = Path(org.server.settings.sqlalchemy_url.removeprefix("sqlite:///"))
        for file in (database, database.with_name(database.name + "-wal")):
            if file.exists():
                assert PASSWORD.encode() not in file.read_bytes()
    changed = ok(org.client.patch(f"/api/smsc_connections/{created['id']}", json={"password": "n3wPass"}))
    assert changed["password_set"] is True and "password" not in changed
    assert box.open(stored(org.server, created["id"]).password_sealed) == "n3wPass"
    ok(org.client.patch(f"/api/smsc_connections/{created['id']}", json={"window_size": 50}))
    assert box.open(stored(org.server, created["id"]).password_sealed) == "n3wPass"  # untouched by other changes


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", 0), ("port", 65536), ("window_size", 0), ("window_size", 101), ("messages_per_second", 0),
        ("password", "nine-char"), ("password", ""), ("system_id", "sixteen-chars-xx"), ("system_id", "has space"),
        ("system_type", "thirteen-char"), ("host", "bad host"), ("host", "-leading.example"), ("bind_mode", "receiver"),
        ("dest_ton", 7), ("dest_npi", 2), ("source_ton", -1), ("name", ""),
    ],
)
def test_bad_connection_fields_are_422_naming_them(org, field, value):
    body = assert_error(org.client.post("/api/smsc_connections", json={"name": "X", "host": "10.0.0.1", "system_id": "esme", "password": "pw", field: value}), 422)
    assert field in [problem["name"] for problem in body["invalidInputVars"]]


def test_connection_rules_and_scopes(org, other_org):
    created = connection(org.client, source_ton=5, source_npi=0)
    assert (created["source_ton"], created["source_npi"]) == (5, 0)
    assert_error(org.client.post("/api/smsc_connections", json={"name": "Carrier SMSC", "host": "h.example", "system_id": "x", "password": "y"}), 409, "DUPLICATE_NAME")
    body = assert_error(org.client.post("/api/smsc_connections", json={"name": "Y", "host": "h.example", "system_id": "x", "password": "y", "source_ton": 1}), 422)
    assert body["invalidInputVars"][0]["name"] == "source_npi"
    assert_error(org.client.patch(f"/api/smsc_connections/{created['id']}", json={"source_ton": None}), 422)  # the NPI alone stays pinned
    assert ok(org.client.get(f"/api/smsc_connections/{created['id']}"))["source_ton"] == 5  # unchanged
    followed = ok(org.client.patch(f"/api/smsc_connections/{created['id']}", json={"source_ton": None, "source_npi": None}))
    assert (followed["source_ton"], followed["source_npi"]) == (None, None)
    connection(org.client, "Second")
    assert_error(org.client.patch(f"/api/smsc_connections/{created['id']}", json={"name": "Second"}), 409, "DUPLICATE_NAME")
    assert_error(org.client.patch(f"/api/smsc_connections/{created['id']}", json={"password_set": False}), 422)
    assert_error(other_org.client.get(f"/api/smsc_connections/{created['id']}"), 404)
    assert_error(other_org.client.delete(f"/api/smsc_connections/{created['id']}"), 404)
    _, token = make_token(org.client, ["sms_routes.read", "smsc_connections.read"])
    with org.server.client(token) as reader:
        assert ok(reader.get("/api/smsc_connections"))["count"] == 2
        assert_error(reader.post("/api/smsc_connections", json={"name": "Z", "host": "h.example", "system_id": "x", "password": "y"}), 403)
        assert_error(reader.delete(f"/api/smsc_connections/{created['id']}"), 403)
    ok(org.client.delete(f"/api/smsc_connections/{created['id']}"))
    assert_error(org.client.get(f"/api/smsc_connections/{created['id']}"), 404)


def test_routes_name_a_connection_of_the_organization_once_per_product_and_prefix(org, other_org):
    mine = connection(org.client)
    theirs = connection(other_org.client)
    route = ok(org.client.post("/api/sms_routes", json={"product": "A2P", "prefix": "44", "connection_id": mine["id"]}))
    assert (route["product"], route["prefix"], route["connection_id"], route["priority"]) == ("A2P", "44", mine["id"], 0)
    everything = ok(org.client.post("/api/sms_routes", json={"connection_id": mine["id"]}))
    assert (everything["product"], everything["prefix"]) == (None, "")
    body = assert_error(org.client.post("/api/sms_routes", json={"prefix": "1", "connection_id": theirs["id"]}), 422)
    assert body["invalidInputVars"] == [{"name": "connection_id", "reason": "no such SMSC connection"}]
    for bad in ({"product": "SMS"}, {"prefix": "+44"}, {"prefix": "4" * 33}, {"priority": -1}):
        assert_error(org.client.post("/api/sms_routes", json={"connection_id": mine["id"], **bad}), 422)
    assert_error(org.client.post("/api/sms_routes", json={"product": "A2P", "prefix": "44", "connection_id": mine["id"], "priority": 3}), 409, "DUPLICATE_ROUTE")
    assert_error(org.client.patch(f"/api/sms_routes/{everything['id']}", json={"product": "A2P", "prefix": "44"}), 409, "DUPLICATE_ROUTE")
    moved = ok(org.client.patch(f"/api/sms_routes/{everything['id']}", json={"prefix": "33", "priority": 7}))
    assert (moved["product"], moved["prefix"], moved["priority"]) == (None, "33", 7)
    assert ok(org.client.patch(f"/api/sms_routes/{moved['id']}", json={"product": None}))["product"] is None
    assert [r["id"] for r in ok(org.client.get("/api/sms_routes", params={"filter": "product eq 'A2P'"}))["items"]] == [route["id"]]
    assert_error(other_org.client.get(f"/api/sms_routes/{route['id']}"), 404)
    assert_error(org.client.delete(f"/api/smsc_connections/{mine['id']}"), 409, "CONNECTION_IN_USE")
    _, token = make_token(org.client, ["smsc_connections.read"])
    with org.server.client(token) as reader:
        assert_error(reader.get("/api/sms_routes"), 403)
    for each in (route, moved):
        ok(org.client.delete(f"/api/sms_routes/{each['id']}"))
    ok(org.client.delete(f"/api/smsc_connections/{mine['id']}"))


def test_pick_takes_the_longest_prefix_then_the_product_then_the_priority_and_skips_disabled_connections(org, other_org):
    a, b = connection(org.client, "A"), connection(org.client, "B")
    off = connection(org.client, "Off", enabled=False)
    for product, prefix, target, priority in (
        (None, "", a, 0), (None, "44", b, 0), ("A2P", "44", off, 0), ("A2P", "447", a, 0), ("MKT", "44", a, 5), ("MKT", "44", b, 1),
    ):
        ok(org.client.post("/api/sms_routes", json={"product": product, "prefix": prefix, "connection_id": target["id"], "priority": priority}))
    engine = make_engine(org.server.settings.sqlalchemy_url)
    org_id, other_id = ids.decode(org.id), ids.decode(other_org.id)
    try:
        with engine.connect() as conn:
            def picked(product, number):
                found = service.pick(conn, org_id, product, number)
                return None if found is None else ids.encode(found)

            assert picked("A2P", "+44 7700 900123") == a["id"]  # longest prefix, the product's route
            assert picked("A2P", "442079460000") == b["id"]  # the A2P route on 44 is to a disabled connection
            assert picked("MKT", "00442079460000") == b["id"]  # lowest priority among the product's routes
            assert picked("ENT", "442079460000") == b["id"]  # no ENT route: the route for every product
            assert picked(None, "33123456789") == a["id"]  # "" matches every number
            assert picked("A2P", "not a number") is None
            assert service.pick(conn, other_id, "A2P", "447700900123") is None
    finally:
        engine.dispose()
    ok(org.client.patch(f"/api/smsc_connections/{off['id']}", json={"enabled": True}))
    with engine.connect() as conn:
        assert ids.encode(service.pick(conn, org_id, "A2P", "442079460000")) == off["id"]  # a product's route beats one for every product
    engine.dispose()


def test_session_settings_come_from_the_connection_with_the_password_opened(org):
    created = connection(org.client, bind_mode="transmitter_receiver", window_size=50, messages_per_second=250, dest_ton=2, dest_npi=8)
    engine = make_engine(org.server.settings.sqlalchemy_url)
    box = server_box(org.server.settings.secret_key, org.server.settings.data_dir)
    try:
        with engine.connect() as conn:
            settings = service.session_settings(conn, ids.decode(org.id), ids.decode(created["id"]), box.open)
    finally:
        engine.dispose()
    assert (settings.host, settings.port, settings.system_id, settings.password) == ("smsc.example.net", 2775, "trunkline", PASSWORD)
    assert (settings.transceiver, settings.window_size, settings.messages_per_second, settings.source_type, settings.dest_type) == (False, 50, 250, None, (2, 8))


def test_the_sender_type_follows_its_form():
    assert [sender_type(sender) for sender in ("Trunkline", "Shop-24", "72345", "123", "+447700900123", "447700900123", "+4412")] == [
        (5, 0), (5, 0), (3, 0), (3, 0), (1, 1), (1, 1), (1, 1),
    ]
