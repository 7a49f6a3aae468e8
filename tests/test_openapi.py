"""The OpenAPI 3.1 document (SPEC §1, §4) and a bounded schemathesis run against the live server.

The document is checked against the app's own routes, so a route added later without
its scope, parameters or error body fails here. The schemathesis run then holds the
server to that document: no 5xx, and every status, media type, body and header it
answers with is documented.
"""

import re
import time

import hypothesis
import pytest
import schemathesis
from fastapi import params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Server, new_org
from trunkline.app import create_app
from trunkline.platform import scopes

ERROR_STATUSES = ("400", "401", "403", "404", "409", "415", "422", "429", "500")
ENCODINGS = {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
ALTERNATIVES = ("OAuth2PasswordBearer", "APIKeyQuery", "HTTPBasic")
PUBLIC = {("POST", "/api/oauth/token")}  # the login itself takes no credential
ANY_SCOPE = {("GET", "/api/auth/me")}  # every valid credential may ask who it is
FILE_UPLOADS = {("POST", "/api/call_rates/import")}  # a file travels only in multipart/form-data

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Per operation and generation mode: enough to reach every parameter and body field,
# small enough that a backend's whole run stays well under a minute on two cores.
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}


@pytest.fixture(scope="module")
def document(server: Server) -> dict:
    with server.client() as client:
        response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def api_routes(server: Server) -> list[APIRoute]:
    """The app's routes under /api, from an app built like the server's (never started)."""
    app = create_app(server.settings)
    return [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema and r.path.startswith("/api/")]


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def expected_scope(method: str, path: str) -> str:
    """The scope convention: `<resource>.<action>`, the action from the verb (POST to an id updates)."""
    resource = path.split("/")[2]
    if method == "GET":
        return f"{resource}.read"
    if method == "DELETE":
        return f"{resource}.delete"
    return f"{resource}.update" if "{" in path else f"{resource}.create"


def test_document_is_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Trunkline"
    schemes = document["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/api/oauth/token"
    assert set(scopes.DESCRIPTIONS) <= set(schemes["OAuth2PasswordBearer"]["flows"]["password"]["scopes"])
    assert schemes["APIKeyQuery"] == {
        "type": "apiKey",
        "in": "query",
        "name": "access_token",
        "description": "Token for clients that cannot send headers",
    }
    assert schemes["HTTPBasic"]["scheme"] == "basic"


def test_every_route_is_documented_with_its_parameters(server, document):
    routes = api_routes(server)
    documented = {(method, path): operation for method, path, operation in operations(document)}
    served = set()
    for route in routes:
        declared = {
            ("path" if isinstance(f.field_info, params.Path) else "query", f.alias)
            for f in get_flat_params(route.dependant)
        }
        for method in route.methods:
            served.add((method, route.path))
            operation = documented.get((method, route.path))
            assert operation is not None, f"{method} {route.path} is not documented"
            names = {(p["in"], p["name"]) for p in operation.get("parameters", ())}
            assert declared <= names, (method, route.path)
            assert operation["summary"] and operation["operationId"]
    assert served == set(documented)
    assert len({op["operationId"] for _, _, op in operations(document)}) == len(documented)
    lists = [path for method, path, op in operations(document) if any(p["name"] == "top" for p in op.get("parameters", ()))]
    assert {"/api/call_rates", "/api/tokens", "/api/users", "/api/organizations"} <= set(lists)
    for method, path, operation in operations(document):
        if path in lists and method == "GET":
            names = {p["name"] for p in operation["parameters"]}
            assert {"skip", "top", "offset", "limit", "filter", "search", "orderby"} <= names
            assert "Link" in operation["responses"]["200"]["headers"]


def test_every_operation_lists_its_scope_and_credential_alternatives(document):
    for method, path, operation in operations(document):
        if (method, path) in PUBLIC:
            assert "security" not in operation
            continue
        requirements = operation["security"]
        assert [next(iter(r)) for r in requirements] == list(ALTERNATIVES), (method, path)
        wanted = [] if (method, path) in ANY_SCOPE else [expected_scope(method, path)]
        assert all(list(r.values())[0] == wanted for r in requirements), (method, path, requirements)
        assert all(scopes.is_known(scope) for scope in wanted)


def test_errors_share_one_body_and_fastapi_validation_schemas_are_gone(document):
    models = document["components"]["schemas"]
    assert "HTTPValidationError" not in models and "ValidationError" not in models
    assert "HTTPValidationError" not in str(document)
    assert set(models["ErrorBody"]["required"]) == {
        "success", "status", "code", "message", "errorCode", "errorDetail", "guid"
    }
    assert {"missingInputVars", "invalidInputVars"} <= set(models["ErrorBody"]["properties"])
    for method, path, operation in operations(document):
        responses = operation["responses"]
        for status in ERROR_STATUSES:
            content = responses[status]["content"]
            assert content == {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}, (
                method, path, status
            )
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
        for response in responses.values():
            assert response["headers"]["X-Request-Id"] == {"$ref": "#/components/headers/X-Request-Id"}
    assert document["components"]["headers"]["X-Request-Id"]["required"] is True


def test_request_bodies_accept_all_three_encodings(document):
    bodies = 0
    for method, path, operation in operations(document):
        if "requestBody" not in operation:
            assert method in ("GET", "DELETE"), (method, path)
            continue
        bodies += 1
        content = operation["requestBody"]["content"]
        if (method, path) in FILE_UPLOADS:
            assert set(content) == {"multipart/form-data"}
            continue
        assert set(content) == ENCODINGS, (method, path)
        assert len({str(media["schema"]) for media in content.values()}) == 1
    assert bodies >= 10


def test_money_is_documented_as_a_json_number(document):
    rate = document["components"]["schemas"]["CallRate"]["properties"]
    for name in ("connect_fee", "postcall_surcharge", "price_1", "price_n"):
        assert rate[name]["type"] == "number"


def test_swagger_ui_is_served(server):
    with server.client() as client:
        response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text and "/api/openapi.json" in response.text


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(server):
    """Every operation, positive and negative inputs, with an org's `*` token (limits high enough never to trip).

    Schemathesis may call DELETE /api/tokens/{id}: revoking the very token it uses would turn
    the rest of the run into 401s, so cases aimed at that token's id are dropped. It can still
    revoke every other token, and the generated ids almost never exist anyway.
    """
    org = new_org(server, rate_limit_get=10**6, rate_limit_other=10**6)
    own_token = org.client.get("/api/auth/me").json()["token_id"]
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", config=config)
    headers = {"Authorization": f"Bearer {org.token}"}
    failures: dict[str, str] = {}
    counts = {"operations": 0, "examples": 0}
    started = time.monotonic()

    for result in schema.get_all_operations():
        operation = result.ok()
        counts["operations"] += 1
        for mode, examples in EXAMPLES.items():

            @hypothesis.settings(
                max_examples=examples,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failing case
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                if operation.path == "/api/tokens/{id}" and (case.path_parameters or {}).get("id") == own_token:
                    hypothesis.reject()
                counts["examples"] += 1
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                pass  # negative mode on an operation with nothing to make invalid
            except Exception as exc:  # noqa: BLE001 - collected so one run reports every operation
                failures[f"{operation.label} [{mode.value}]"] = re.sub(r"\s+", " ", str(exc))[:2000]

    elapsed = time.monotonic() - started
    print(f"\nschemathesis [{server.backend}]: {counts['operations']} operations, {counts['examples']} examples, {elapsed:.1f}s")
    assert counts["operations"] == len(list(operations(schema.raw_schema)))
    assert not failures, "\n\n".join(f"{label}: {message}" for label, message in failures.items())
    assert org.client.get("/api/auth/me").status_code == 200  # the run did not lock itself out
