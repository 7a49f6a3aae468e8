"""The OpenAPI 3.1 document: every route, its scope, its error bodies and body encodings.

FastAPI generates the paths and models; `build()` adds what FastAPI cannot know: the
one error body for every error status (including 422, where FastAPI would put its own
validation schema), the headers every response carries, and the other encodings the
server reads (`x-also-accepts`) beside the one a generated client should send.
"""

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from trunkline.kit import scopes
from trunkline.kit.auth import credential_schemes, required_scopes
from trunkline.kit.resource_routes import api_routes
from trunkline.kit.schema import Input, Output


class InvalidInput(BaseModel):
    name: str
    reason: str


class ErrorBody(BaseModel):
    """The one error body every route shares."""

    model_config = ConfigDict(extra="allow")
    success: bool
    status: int
    code: int
    message: str
    errorCode: str
    errorDetail: str
    guid: str
    missingInputVars: list[str] | None = None
    invalidInputVars: list[InvalidInput] | None = None


_DESCRIPTIONS = {
    400: "Bad request: missing parameters (missingInputVars) or a malformed query",
    401: "No valid credential",
    403: "Valid credential without the scope, or from an address outside its allow-list",
    404: "No such object in this organization",
    409: "Conflicting parameters, or a duplicate",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid values (invalidInputVars)",
    429: "Rate limit exceeded; see Retry-After",
    500: "Server error; quote the guid",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _DESCRIPTIONS.items()
}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The one body encoding a request body documents, in order of preference: generators build a
# typed call from it. Every other encoding a route reads is named in `x-also-accepts`.
_DOCUMENTED = ("application/json", "multipart/form-data")
_MODEL_REF = "#/components/schemas/"
_ERROR_REF = {"$ref": _MODEL_REF + "ErrorBody"}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
SCOPE = "Scope"  # the component every list of scopes refers to
SERVERS = [{"url": "http://127.0.0.1:8887", "description": "`trunkline serve` on its defaults; use your server's own address"}]


def _header(description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


HEADERS = {
    "X-Request-Id": _header("The request's guid; look it up at /api/requests/{guid}", {"type": "string"}, True),
    "X-RateLimit-Limit": _header("Requests allowed per minute in this bucket (GET or other)", {"type": "integer"}),
    "X-RateLimit-Remaining": _header("Requests left in the current window", {"type": "integer"}),
    "X-RateLimit-Reset": _header("When the window resets, Unix seconds", {"type": "integer"}),
    "RateLimit-Policy": _header("IETF draft: the bucket's quota and window", {"type": "string"}),
    "RateLimit": _header("IETF draft: remaining requests and seconds to reset", {"type": "string"}),
}
_STATUS_HEADERS = {
    "429": {"Retry-After": _header("Seconds to wait before retrying", {"type": "integer"}, True)},
    "401": {"WWW-Authenticate": _header("The accepted schemes: Bearer and Basic", {"type": "string"})},
}
_LINK = {"Link": _header('Next and previous pages: <url>; rel="next"', {"type": "string"})}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string, never JSON null: drop the null branch FastAPI adds."""
    options = [option for option in schema.get("anyOf", ()) if option != {"type": "null"}]
    if len(options) == 1 and len(options) < len(schema["anyOf"]):
        rest = {key: value for key, value in schema.items() if key != "anyOf"}
        return {**rest, **options[0]}
    return schema


def _referenced(node: Any) -> set[str]:
    """Names of the component schemas `node` refers to."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        own = {ref.removeprefix(_MODEL_REF)} if ref.startswith(_MODEL_REF) else set()
        return own.union(*(_referenced(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_referenced(value) for value in node))
    return set()


def _add_referenced_models(document: dict[str, Any], models: dict[str, Any]) -> None:
    """A route may refer to a body model by name (e.g. in openapi_extra) that FastAPI never saw: add it."""
    known: dict[str, tuple[type[BaseModel], str]] = {}
    for base, mode in ((Input, "validation"), (Output, "serialization")):
        queue = [base]
        while queue:
            model = queue.pop()
            known.setdefault(model.__name__, (model, mode))
            queue.extend(model.__subclasses__())
    wanted = [known[name] for name in sorted(_referenced(document) - set(models)) if name in known]
    if wanted:
        _, definitions = models_json_schema(wanted, ref_template=_MODEL_REF + "{model}")
        for name, definition in definitions.get("$defs", {}).items():
            models.setdefault(name, definition)


def _one_encoding(body: dict[str, Any]) -> None:
    """Document one encoding of a request body, so generated clients send it (given several,
    they pick the first or all at once), and name the others the server reads too: every JSON
    body also arrives form-encoded (the body middleware), and some routes read raw formats."""
    content = body["content"]
    documented = next(media_type for media_type in (*_DOCUMENTED, *content) if media_type in content)
    also = [media_type for media_type in content if media_type != documented]
    schema = content[documented]["schema"]
    if documented == "application/json" and any("$ref" in option for option in (schema, *schema.get("anyOf", ()))):  # one model
        also += [media_type for media_type in _FORM_TYPES if media_type not in also]
    body["content"] = {documented: content[documented]}
    if also:
        body["x-also-accepts"] = also
        body["description"] = " ".join(filter(None, (body.get("description"), f"Also accepted as {', '.join(also)}.")))


def _fix_operation(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", ()):
        if parameter["in"] == "query":
            parameter["schema"] = _without_null(parameter["schema"])
    if "requestBody" in operation:
        _one_encoding(operation["requestBody"])
    is_list = any(parameter["name"] == "top" for parameter in operation.get("parameters", ()))
    for status, response in operation["responses"].items():
        if status.startswith(("4", "5")):  # one error body, whatever FastAPI or a route put there
            if response.get("description") in (None, "", "Validation Error"):
                response["description"] = _DESCRIPTIONS.get(int(status), "Error")
            response["content"] = {"application/json": {"schema": dict(_ERROR_REF)}}
        headers = response.setdefault("headers", {})
        headers.update({name: {"$ref": f"#/components/headers/{name}"} for name in HEADERS})
        headers.update(_STATUS_HEADERS.get(status, {}))
        if is_list and status == "200":
            headers.update(_LINK)


def _add_security(schema: dict[str, Any], app: FastAPI) -> None:
    """Each authenticated operation accepts any of the credential schemes, with the route's scope."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    credentials = credential_schemes()
    for scheme in credentials:
        schemes[scheme.scheme_name] = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
    for route in api_routes(app):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        wanted = required_scopes(route.dependant)
        for method in route.methods:
            operation = schema["paths"][route.path_format][method.lower()]
            if wanted is not None:
                operation["security"] = [{scheme.scheme_name: wanted} for scheme in credentials]
            else:  # a public route, or one that documents credentials of its own
                operation.setdefault("security", [])


def build(app: FastAPI) -> dict[str, Any]:
    """Generate once, then apply the platform conventions every route shares."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=list(api_routes(app)), openapi_version="3.1.0", servers=SERVERS,
        license_info=app.license_info,
    )
    _add_security(schema, app)
    for path in schema["paths"].values():
        for operation in path.values():
            _fix_operation(operation)
    components = schema.setdefault("components", {})
    components["headers"] = HEADERS
    models = components.setdefault("schemas", {})
    models[SCOPE] = {"type": "string", "enum": list(scopes.DESCRIPTIONS), "description": "`<resource>.<action>`, `<resource>.*` or `*`"}
    _add_referenced_models(schema, models)
    others = {name: model for name, model in models.items() if name not in _FASTAPI_VALIDATION}
    if not _referenced([schema["paths"], others]) & set(_FASTAPI_VALIDATION):
        for name in _FASTAPI_VALIDATION:
            models.pop(name, None)
    app.openapi_schema = schema
    return schema


def install_docs(app: FastAPI, path: str) -> None:
    """Swagger UI at `path`, its script and stylesheet served from the installed package
    (fastapi-offline ships Swagger UI 5, which reads OpenAPI 3.1), so the page works offline."""
    assets = f"{path}/assets"
    app.mount(assets, StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets")

    async def swagger_ui(request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - API docs",
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
        )

    async def oauth2_redirect(request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route(path, swagger_ui, include_in_schema=False)
    app.add_route(app.swagger_ui_oauth2_redirect_url, oauth2_redirect, include_in_schema=False)
