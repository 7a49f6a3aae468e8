"""The one error body and the handlers that produce it."""

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from trunkline.kit import failures
from trunkline.kit.responses import JSONResponse, current_guid

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}


class ApiError(Exception):
    """Raise anywhere during a request to answer with the standard error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "ERROR")
        self.detail = detail or message
        self.headers = headers
        self.extra = extra


def not_found(what: str = "Resource") -> ApiError:
    return ApiError(404, f"{what} not found")


def missing(names: Iterable[str]) -> ApiError:
    names = list(dict.fromkeys(names))
    return ApiError(
        400,
        f"Missing required parameters: {', '.join(names)}",
        code="MISSING_REQUIRED_PARAMS",
        detail="One or more required input parameters were missing",
        missingInputVars=names,
    )


def is_busy(error: Exception) -> bool:
    """Whether a database error means another writer held the lock too long (SQLite's
    "database is locked", PostgreSQL's lock timeout): the write may succeed if tried again."""
    text = str(getattr(error, "orig", error)).lower()
    return "database is locked" in text or "lock timeout" in text or "could not obtain lock" in text


MAX_LISTED = 100  # an error names at most this many things, and counts the rest
# Pydantic's wording where it is not plain language: a regex, a Python type name.
_PLAIN = {
    "string_pattern_mismatch": "has characters that are not allowed here",
    "missing": "required",
    "extra_forbidden": "unknown field",
    "url_parsing": "not a valid URL",
}


def reason(err: dict) -> str:
    """One pydantic error in plain words: a validator's own message without "Value error, ",
    no regexes, no Python type names."""
    if err["type"] in _PLAIN:
        return _PLAIN[err["type"]]
    if err["type"] in ("value_error", "assertion_error") and "error" in err.get("ctx", {}):
        return str(err["ctx"]["error"])
    return err["msg"].removeprefix("Value error, ")


def some(names: list[str]) -> str:
    """Names for a message, at most MAX_LISTED of them, and how many more there are."""
    shown = ", ".join(names[:MAX_LISTED])
    return shown if len(names) <= MAX_LISTED else f"{shown} and {len(names) - MAX_LISTED:,} more"


def listed(problems: list[dict[str, str]]) -> dict:
    """`invalidInputVars` for an error body: the first MAX_LISTED problems, and their count."""
    return {"invalidInputVars": problems[:MAX_LISTED], "invalidInputCount": len(problems)}


def problems(exc: Exception, where: str = "") -> list[dict[str, str | None]]:
    """A pydantic ValidationError as the API lists problems: `name`, the field's path after
    `where` (None for the record as a whole), and `reason` in plain words."""
    found = []
    for err in exc.errors():
        path = ".".join(str(part) for part in err["loc"])
        found.append({"name": ".".join(part for part in (where, path) if part) or None, "reason": reason(err)})
    return found


def bad_query(problems: list[dict[str, str]]) -> ApiError:
    """Bad query parameters: 400, whichever parameter it is (bodies are 422)."""
    error = invalid(problems)
    error.status, error.code = 400, "INVALID_PARAMETERS"
    return error


def invalid(problems: list[dict[str, str]]) -> ApiError:
    return ApiError(422, failures.Invalid.fields(*problems).message, invalidInputVars=problems)


def error_response(error: ApiError, request_state: dict | None = None) -> JSONResponse:
    body = {
        "success": False,
        "status": error.status,
        "code": error.status,
        "message": error.message,
        "errorCode": error.code,
        "errorDetail": error.detail,
        "guid": current_guid(),
        **error.extra,
    }
    if request_state is not None:
        request_state["error_code"] = error.code
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def _validation_error(exc: RequestValidationError) -> ApiError:
    """Pydantic's errors in the one error body: 400 for missing or bad query parameters, 422 for bodies."""
    missing_names, found = [], []
    in_body = False
    for err in exc.errors():
        if err["type"] == "json_invalid":  # JSON bodies pass the body middleware unparsed
            return ApiError(400, f"Malformed JSON body: {err.get('ctx', {}).get('error', err['msg'])}")
        where, *path = err["loc"]
        in_body = in_body or where == "body"
        name = ".".join(str(part) for part in path) or str(where)
        if err["type"] == "missing":
            missing_names.append(name)
        elif err["type"] == "read_only":
            found += [{"name": field, "reason": "read-only field"} for field in err["ctx"]["fields"]]
        else:
            found.append({"name": name, "reason": reason(err)})
    if missing_names:
        error = missing(missing_names)
        if found:
            error.extra["invalidInputVars"] = found
        return error
    return invalid(found) if in_body else bad_query(found)


def _allowed(request: Request) -> list[str]:
    """The verbs some route serves at this path (probed: routes nest inside included routers)."""
    verbs = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    routes = request.app.router.routes
    return [
        verb for verb in verbs
        if any(route.matches({**request.scope, "method": verb})[0] is Match.FULL for route in routes)
    ]


STATUS_OF = {failures.Malformed: 400, failures.PaymentRequired: 402, failures.Forbidden: 403, failures.NotFound: 404, failures.Conflict: 409, failures.UnsupportedMedia: 415, failures.Invalid: 422}


def from_failure(failure: failures.Failure) -> ApiError:
    """A domain's refusal as the API answers it."""
    status = next(code for kind, code in STATUS_OF.items() if isinstance(failure, kind))
    extra = listed(failure.problems) if failure.problems else {}
    return ApiError(status, failure.message, code=failure.code, **extra)


def install(app: FastAPI) -> None:
    """Route every error FastAPI and Starlette raise through the one body."""

    async def on_api_error(request: Request, exc: ApiError):
        return error_response(exc, request.scope.setdefault("state", {}))

    async def on_http_error(request: Request, exc: HTTPException):
        message = {404: "No such route", 405: "Method not allowed on this route"}.get(
            exc.status_code, str(exc.detail)
        )
        headers = exc.headers
        if exc.status_code == 405:  # Starlette names only the first route's methods; a path has one route per verb
            headers = {**(headers or {}), "Allow": ", ".join(_allowed(request))}
        return await on_api_error(request, ApiError(exc.status_code, message, headers=headers))

    async def on_validation_error(request: Request, exc: RequestValidationError):
        return await on_api_error(request, _validation_error(exc))

    async def on_failure(request: Request, exc: failures.Failure):
        return await on_api_error(request, from_failure(exc))

    async def on_busy_database(request: Request, exc: OperationalError):
        if not is_busy(exc):
            raise exc
        return await on_api_error(request, ApiError(503, "The database is busy; try again shortly", headers={"Retry-After": "1"}, code="BUSY"))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(failures.Failure, on_failure)
    app.add_exception_handler(OperationalError, on_busy_database)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
