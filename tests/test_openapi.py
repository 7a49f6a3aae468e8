"""The OpenAPI 3.1 document and a bounded schemathesis run against the live server.

The document is checked against the app's own routes, so a route added later without
its scope, parameters or error body fails here. The schemathesis run then holds the
server to that document: no 5xx, and every status, media type, body and header it
answers with is documented.
"""

import base64
import time
from collections import Counter
from unittest.mock import ANY

import hypothesis
import pytest
import requests
import schemathesis
from fastapi import params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.harness import CI, Server, new_org
from tests.helpers import assert_error
from trunkline.app import ROUTERS
from trunkline.kit import scopes
from trunkline.kit.routing import API

ERROR_STATUSES = ("400", "401", "403", "404", "409", "415", "422", "429", "500")
ENCODINGS = {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
ALTERNATIVES = ("OAuth2PasswordBearer", "APIKeyQuery", "HTTPBasic")
PUBLIC = {("POST", "/api/oauth/token")}  # the login itself takes no credential
ANY_SCOPE = {("GET", "/api/auth/me")}  # every valid credential may ask who it is
FILE_UPLOADS = {("POST", "/api/call_rates/import")}  # a file travels only in multipart/form-data
CDR_BATCHES = {("POST", "/api/calls")}  # JSON, NDJSON or CSV: a batch is no form
ENDPOINT_APIS = {("POST", "/api/endpoint/cdr")}  # endpoint Basic credentials only; switch formats

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Fuzzed examples per operation, on top of the deterministic coverage cases (which already hold
# the systematic invalid ones): enough to reach every parameter and body field, few enough for
# about a minute per backend; CI runs twice as many. Invalid inputs cost hypothesis far more to
# generate. The inputs fuzzing once found 500s on are replayed in tests/test_hostile_inputs.py.
BUDGET = 2 if CI else 1
MAX_EXAMPLES = {GenerationMode.POSITIVE: 25 * BUDGET, GenerationMode.NEGATIVE: 15 * BUDGET}


@pytest.fixture(scope="module")
def document(server: Server) -> dict:
    with server.client() as client:
        response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def api_routes() -> list[tuple[str, APIRoute]]:
    """Every route the app mounts, all under /api."""
    routes = [route for router in ROUTERS for route in router.routes]
    assert all(isinstance(route, APIRoute) and route.path.startswith(API + "/") for route in routes)
    return [(route.path, route) for route in routes]


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def scope_fits(method: str, path: str, scope: str) -> bool:
    """The scope convention: `<resource>.<action>`, read for GET, delete for DELETE, else create or update."""
    resource, _, action = scope.partition(".")
    actions = {"GET": {"read"}, "DELETE": {"delete"}}.get(method, {"create", "update"})
    return resource == path.split("/")[2] and action in actions


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


def refs(node) -> set[str]:
    if isinstance(node, dict):
        return ({node["$ref"]} if "$ref" in node else set()).union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(value) for value in node))
    return set()


def test_every_reference_resolves(document):
    for ref in refs(document):
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in document["components"][section], ref


def test_every_route_is_documented_with_its_parameters(document):
    documented = {(method, path): operation for method, path, operation in operations(document)}
    served = set()
    for path, route in api_routes():
        declared = {
            ("path" if isinstance(f.field_info, params.Path) else "query", f.alias)
            for f in get_flat_params(route.dependant)
        }
        for method in route.methods:
            served.add((method, path))
            operation = documented.get((method, path))
            assert operation is not None, f"{method} {path} is not documented"
            names = {(p["in"], p["name"]) for p in operation.get("parameters", ())}
            assert declared <= names, (method, path)
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
            assert operation["security"] == []  # stated: no credential, not "whatever the default is"
            continue
        requirements = operation["security"]
        if (method, path) in ENDPOINT_APIS:
            assert requirements == [{"EndpointBasic": []}], (method, path)
            continue
        assert [next(iter(r)) for r in requirements] == list(ALTERNATIVES), (method, path)
        wanted = list(requirements[0].values())[0]
        assert all(list(r.values())[0] == wanted for r in requirements), (method, path, requirements)
        if (method, path) in ANY_SCOPE:
            assert wanted == []
        else:
            assert len(wanted) == 1 and scopes.is_known(wanted[0]), (method, path, wanted)
            assert scope_fits(method, path, wanted[0]), (method, path, wanted)


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


def test_request_bodies_document_one_encoding_and_name_the_others(document):
    """Generators send what is documented: one encoding each (JSON, or multipart for a file), with
    every other encoding the server reads named in `x-also-accepts` and the description."""
    bodies = 0
    for method, path, operation in operations(document):
        if "requestBody" not in operation:
            assert method in ("GET", "DELETE") or path.endswith("/rotate"), (method, path)  # rotate: an action, no body
            continue
        bodies += 1
        body = operation["requestBody"]
        [documented] = body["content"]
        also = set(body["x-also-accepts"])
        assert all(media_type in body["description"] for media_type in also), (method, path)
        if (method, path) in FILE_UPLOADS:
            assert (documented, also) == ("multipart/form-data", {"text/csv"})  # the file, or the CSV as the body
        elif (method, path) in ENDPOINT_APIS:
            assert documented == "application/json" and {"application/xml", "text/csv"} <= also  # switch formats
        elif (method, path) in CDR_BATCHES:
            assert (documented, also) == ("application/json", {"application/x-ndjson", "text/csv"})
        else:
            assert documented == "application/json" and ENCODINGS - {documented} <= also, (method, path)  # CDRs take more
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
    assert "/api/docs/oauth2-redirect" in response.text
    with server.client() as client:
        assert client.get("/api/docs/oauth2-redirect").status_code == 200


def test_nul_characters_are_a_client_error_on_every_backend(org):
    """Found by schemathesis: PostgreSQL text cannot hold NUL, so these were 500s there (and lost request-log batches)."""
    client = org.client
    assert_error(client.get("/api/call_rates", params={"search": "a\x00"}), 400)
    assert_error(client.get("/api/requests/a%00b"), 400)
    assert_error(client.request("DELETE", "/api/call_rates/abc", data={"note": "a\x00"}), 400)
    body = assert_error(client.post("/api/tokens", json={"name": "a\x00", "scopes": ["*"]}), 422)
    assert body["invalidInputVars"][0]["name"] == "name"
    login = {"grant_type": "password", "username": "a\x00", "password": "x"}
    assert_error(org.server.client().post("/api/oauth/token", data=login), 422)
    basic = base64.b64encode(b"a\x00b:password").decode()
    assert_error(org.server.client().get("/api/auth/me", headers={"Authorization": f"Basic {basic}"}), 401)
    assert client.get(f"/api/requests/{body['guid']}").status_code == 200  # the request log kept it


class Run:
    """One schemathesis run against a live server with an org's `*` token; collects instead of stopping."""

    def __init__(self, server: Server) -> None:
        org = new_org(server, rate_limit_get=10**6, rate_limit_other=10**6)
        self.client = org.client
        self.session = requests.Session()  # one keep-alive connection for the whole run
        self.session.headers["Authorization"] = f"Bearer {org.token}"
        self.token_id = org.client.get("/api/auth/me").json()["token_id"]
        config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
        self.schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", config=config)
        self.operations = 0
        self.examples = 0
        self.statuses: Counter[int] = Counter()
        self.unauthorized: set[str] = set()
        self.failures: dict[str, str] = {}

    def call(self, case) -> None:
        # Revoking the very token the run uses would turn the rest of it into 401s.
        if case.method == "DELETE" and case.path == "/api/tokens/{id}" and case.path_parameters.get("id") == self.token_id:
            return
        self.examples += 1
        response = case.call_and_validate(session=self.session, checks=CHECKS)
        self.statuses[response.status_code] += 1
        if response.status_code == 401:
            self.unauthorized.add(case.operation.label)

    def record(self, label: str, exc: BaseException) -> None:
        self.failures.setdefault(label, " ".join(str(exc).split())[:3000])

    def coverage(self, operation) -> None:
        """Schemathesis's deterministic coverage cases: boundaries, wrong types, missing and odd media types."""
        generation = self.schema.config.generation_for(operation=operation, phase="coverage")
        cases = self.schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode), generation_config=generation)
        for case in cases:
            try:
                self.call(case)
            except schemathesis.errors.SerializationNotPossible:
                pass  # a body schemathesis cannot write in that media type
            except (Exception, schemathesis.errors.FailureGroup) as exc:
                self.record(f"{operation.label} [coverage]", exc)

    def fuzz(self, operation, mode: GenerationMode) -> None:
        @hypothesis.settings(
            max_examples=MAX_EXAMPLES[mode],
            deadline=None,
            phases=[Phase.generate],  # no shrinking: the first failing case is reported as found
            database=None,
            derandomize=True,  # the same cases every run, so a failure reproduces
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            self.call(case)

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            pass  # nothing about this operation can be made invalid
        except (Exception, schemathesis.errors.FailureGroup) as exc:
            self.record(f"{operation.label} [{mode.value}]", exc)


@pytest.mark.schemathesis
def test_schemathesis_finds_no_server_error_and_no_undocumented_response(server: Server):
    """Every operation, nothing excluded: coverage cases, then valid and invalid fuzzed inputs.

    The one request not sent is DELETE /api/tokens/<the run's own token id>; every other token,
    user or rate the run creates or guesses may be changed or deleted.
    """
    started = time.monotonic()
    run = Run(server)
    try:
        for result in run.schema.get_all_operations():
            operation = result.ok()
            run.operations += 1
            run.coverage(operation)
            run.fuzz(operation, GenerationMode.POSITIVE)
            # Any string is a valid path id, so an operation with nothing but an id has no invalid
            # input for hypothesis to find (it would give up, slowly); coverage sent its odd ids.
            if len(operation.query) or len(operation.body):
                run.fuzz(operation, GenerationMode.NEGATIVE)
        print(
            f"\nschemathesis [{server.backend}]: {run.operations} operations, {run.examples} examples, "
            f"{time.monotonic() - started:.1f}s, statuses {dict(sorted(run.statuses.items()))}"
        )
        assert run.operations == len(list(operations(run.schema.raw_schema)))
        assert not run.failures, "\n\n".join(f"{label}: {message}" for label, message in run.failures.items())
        # The run was authenticated throughout (only a failed login is 401) and reached the routes' logic.
        assert run.unauthorized <= {"POST /api/oauth/token"} | {f"{m} {p}" for m, p in ENDPOINT_APIS}, run.unauthorized
        assert run.statuses[200] > run.operations, run.statuses
        assert run.client.get("/api/auth/me").status_code == 200
    finally:
        run.client.close()
        run.session.close()


def test_the_document_tells_generated_clients_what_the_server_does(document):
    """What generators read literally: required parameters, CSV answers, fixed shapes, enums,
    exact money, the server to call."""
    models = document["components"]["schemas"]
    paths = document["paths"]
    report = {p["name"]: p for p in paths["/api/reports/call-data"]["get"]["parameters"]}
    assert report["start_date"]["required"] and report["end_date"]["required"]
    for path in ("/api/reports/call-data.csv", "/api/call_rates/export"):
        assert paths[path]["get"]["responses"]["200"]["content"] == {"text/csv": {"schema": {"type": "string", **({"description": ANY} if "reports" in path else {})}}}
    nullable_ref = lambda field: [option.get("$ref") for option in field["anyOf"] if option != {"type": "null"}]  # noqa: E731
    assert nullable_ref(models["Quote"]["properties"]["rate"]) == ["#/components/schemas/MatchedRate"]
    assert nullable_ref(models["Authorization"]["properties"]["rate"]) == ["#/components/schemas/MatchedRate"]
    for model in ("Quote", "CallDetail"):
        assert nullable_ref(models[model]["properties"]["breakdown"]) == ["#/components/schemas/Breakdown"]
    for model, field in (("Call", "rate_type"), ("ReportRow", "type"), ("MatchedRate", "type")):
        assert "#/components/schemas/RateType" in str(models[model]["properties"][field]), (model, field)
    scope_lists = [name for name, model in models.items() if "#/components/schemas/Scope" in str(model)]
    assert {"TokenCreate", "UserCreate", "UserUpdate"} <= set(scope_lists)
    assert models["Scope"]["enum"] == list(scopes.DESCRIPTIONS) and "enum" not in str([models[name] for name in scope_lists])
    for model, field in (("CallRateCreate", "price_1"), ("Credit", "amount"), ("AccountCreate", "credit_limit")):
        kinds = [option["type"] for option in models[model]["properties"][field]["anyOf"]]
        assert kinds == ["string", "number"], (model, field)  # a decimal string keeps money exact
    assert models["AccountCreate"]["properties"]["credit_limit"]["default"] == 0
    assert "duration` or `end`" in models["CallIn"]["description"]
    assert document["servers"] and document["info"]["license"]["identifier"]
