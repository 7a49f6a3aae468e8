"""What the server sends besides the body, and what it leaves on disk."""

import os
import stat

import httpx

from tests.helpers import rate


def test_nosniff_everywhere_no_store_when_authenticated_and_no_server_banner(org):
    public = httpx.get(f"{org.server.url}/api/openapi.json")
    refused = httpx.get(f"{org.server.url}/api/call_rates")
    authenticated = org.client.get("/api/call_rates")
    for response in (public, refused, authenticated):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "server" not in response.headers
    assert authenticated.headers["cache-control"] == "no-store"
    assert "no-store" not in public.headers.get("cache-control", "")
    created = org.client.post("/api/tokens", json={"name": "x", "scopes": ["calls.read"]})
    assert created.headers.get_list("cache-control") == ["no-store"]  # set once, not twice


def test_sqlite_files_are_private(org):
    if org.server.backend != "sqlite":
        return
    assert org.client.post("/api/call_rates", json=rate(prefix="49")).status_code == 200
    directory = org.server.settings.data_dir
    files = sorted(path for path in directory.iterdir() if path.name.startswith("trunkline.sqlite3"))
    assert {path.name for path in files} >= {"trunkline.sqlite3", "trunkline.sqlite3-wal", "trunkline.sqlite3-shm"}
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_the_docs_page_needs_no_cdn(server):
    page = httpx.get(f"{server.url}/api/docs")
    assert page.status_code == 200 and "https://" not in page.text and "cdn" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert f"/api/docs/assets/{asset}" in page.text
        response = httpx.get(f"{server.url}/api/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.content) > 1000
    assert httpx.get(f"{server.url}/api/docs/oauth2-redirect").status_code == 200
