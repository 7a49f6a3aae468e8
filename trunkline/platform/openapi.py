"""The OpenAPI 3.1 document: every route, its scope, its error bodies, all three body encodings."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict


class InvalidInput(BaseModel):
    name: str
    reason: str


class ErrorBody(BaseModel):
    """SPEC §4: the union of seeds 001 and 002."""

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


def build(app: FastAPI) -> dict[str, Any]:
    """Generate once; advertise the form encodings wherever a JSON body is accepted."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes, openapi_version="3.1.0"
    )
    for path in schema["paths"].values():
        for operation in path.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                for media_type in _FORM_TYPES:
                    content.setdefault(media_type, content["application/json"])
    app.openapi_schema = schema
    return schema
