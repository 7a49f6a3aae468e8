"""Forwarding headers are believed only from trusted proxies (TRUNKLINE_TRUSTED_PROXIES), for
X-Forwarded-For and Forwarded alike; otherwise the socket's peer is the client, for token IP
allow-lists, the per-address login limit and the request log."""

import httpx
import pytest

from tests.harness import Server, bootstrap_operator, new_org, settings_for, start_server
from tests.helpers import ok
from trunkline.kit.clients import networks, resolve

PROXY = networks("127.0.0.1, 10.0.0.0/8")


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        ("203.0.113.9", [(b"x-forwarded-for", b"10.1.2.3")], "203.0.113.9"),  # not a proxy: its header is not believed
        ("127.0.0.1", [(b"x-forwarded-for", b"198.51.100.7")], "198.51.100.7"),
        ("127.0.0.1", [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.7")], "198.51.100.7"),  # the client's own hop is not followed
        ("127.0.0.1", [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.7, 10.0.0.5")], "198.51.100.7"),  # through two proxies
        ("127.0.0.1", [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"198.51.100.7")], "198.51.100.7"),
        ("127.0.0.1", [(b"forwarded", b'for=6.6.6.6, for="[2001:db8::17]:4711";proto=https')], "2001:db8::17"),
        ("127.0.0.1", [(b"forwarded", b"for=192.0.2.60:8080;by=10.0.0.1"), (b"x-forwarded-for", b"6.6.6.6")], "192.0.2.60"),
        ("127.0.0.1", [(b"forwarded", b"for=unknown")], "127.0.0.1"),
        ("127.0.0.1", [(b"x-forwarded-for", b"not-an-address")], "127.0.0.1"),
        ("127.0.0.1", [], "127.0.0.1"),
    ],
)
def test_resolve(peer, headers, client):
    assert resolve(peer, headers, PROXY) == client


def test_a_bad_trusted_proxy_stops_the_server_naming_it(tmp_path):
    with pytest.raises(ValueError, match="not an IP address or CIDR: 'proxy.local'"):
        settings_for("sqlite", type("F", (), {"mktemp": lambda self, name: tmp_path})(), "gw0", trusted_proxies="127.0.0.1, proxy.local")


def _serve(tmp_path_factory, worker_id, **settings):
    settings = settings_for("sqlite", tmp_path_factory, worker_id, **settings)
    uv, thread, url = start_server(settings)
    return uv, thread, Server("sqlite", url, settings, bootstrap_operator(settings))


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded"])
def test_without_trusted_proxies_forwarding_headers_change_nothing(tmp_path_factory, worker_id, header):
    uv, thread, server = _serve(tmp_path_factory, worker_id, login_attempts_per_minute=5)
    try:
        org = new_org(server)
        token = ok(org.client.post("/api/tokens", json={"name": "office", "scopes": ["*"], "allowed_ips": ["10.0.0.0/8"]}))["token"]
        value = "10.1.2.3" if header == "X-Forwarded-For" else "for=10.1.2.3"
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}", header: value}) as client:
            response = client.get("/api/auth/me")
            assert response.status_code == 403, response.text
            record = org.client.get(f"/api/requests/{response.headers['x-request-id']}").json()
            assert record["client_ip"] == "127.0.0.1"
        statuses = []
        for attempt in range(8):  # a new forged address every time: still one client
            forged = f"198.51.100.{attempt}" if header == "X-Forwarded-For" else f"for=198.51.100.{attempt}"
            statuses.append(httpx.get(f"{server.url}/api/auth/me", auth=(org.admin_email, "wrong"), headers={header: forged}).status_code)
        assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 3
        org.client.close()
    finally:
        uv.should_exit = True
        thread.join(10)


def test_a_trusted_proxy_forwards_the_client_address(tmp_path_factory, worker_id):
    uv, thread, server = _serve(tmp_path_factory, worker_id, trusted_proxies="127.0.0.1")
    try:
        org = new_org(server)
        token = ok(org.client.post("/api/tokens", json={"name": "office", "scopes": ["*"], "allowed_ips": ["10.0.0.0/8"]}))["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.url}/api/auth/me", headers={**auth, "X-Forwarded-For": "10.1.2.3"}).status_code == 200
        assert httpx.get(f"{server.url}/api/auth/me", headers={**auth, "Forwarded": "for=10.1.2.3"}).status_code == 200
        refused = httpx.get(f"{server.url}/api/auth/me", headers={**auth, "X-Forwarded-For": "203.0.113.5"})
        assert refused.status_code == 403
        assert org.client.get(f"/api/requests/{refused.headers['x-request-id']}").json()["client_ip"] == "203.0.113.5"
        other_peer = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        assert other_peer.get(f"{server.url}/api/auth/me", headers={**auth, "X-Forwarded-For": "10.1.2.3"}).status_code == 403  # not a proxy
        other_peer.close()
        org.client.close()
    finally:
        uv.should_exit = True
        thread.join(10)
