"""Who is calling an endpoint API (`/api/endpoint/...`)? Only an endpoint's own Basic login:password.

Core API tokens are for the core API; each endpoint has its own credentials, and a core token
presented to an endpoint API is unauthorized. Endpoint requests are logged with their
organization like every other request, but counted in a limit class of their own, per
endpoint (`push_limit`, else `TRUNKLINE_ENDPOINT_PUSH_LIMIT`, 12,000 a minute): a switch posts
once per call leg and must not compete with the organization's API clients.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPBasic

from trunkline.kit.credentials import decode_basic
from trunkline.kit.errors import ApiError
from trunkline.kit.queryparams import known_query_parameters
from trunkline.kit.resources import read
from trunkline.switches import repository as store

CHALLENGE = {"WWW-Authenticate": 'Basic realm="trunkline-endpoint"'}
EXPECTED = "This API expects the endpoint's login and password as HTTP Basic credentials (curl -u login:password)"


@dataclass(frozen=True, slots=True)
class EndpointCaller:
    """What the request log and the rate limiter need (`org_id`, `token_id`), and the endpoint."""

    org_id: int
    endpoint_id: int
    login: str
    type: str
    per_minute: int
    timezone: str = "UTC"
    billed_leg: str = "a"
    token_id: None = None


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers=CHALLENGE)


def _credentials(request: Request) -> tuple[str, str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if request.query_params.get("access_token") or scheme.lower() == "bearer":
        raise _unauthorized(f"Core API tokens are not accepted here. {EXPECTED}")
    if scheme.lower() != "basic":
        raise _unauthorized(f"Authentication required. {EXPECTED}")
    decoded = decode_basic(value)
    if decoded is None:
        raise _unauthorized(f"Malformed Basic credentials. {EXPECTED}")
    if not store.is_login(decoded[0]):
        raise _unauthorized(f"Not an endpoint login. {EXPECTED}")
    return decoded


class _DocumentedBasic(HTTPBasic):
    """HTTPBasic in the OpenAPI document only: FastAPI's own parsing would answer malformed or
    non-ASCII credentials with its bare 401 before `_credentials` sees them."""

    async def __call__(self, request: Request) -> None:
        return None


_basic = _DocumentedBasic(scheme_name="EndpointBasic", auto_error=False, description="Endpoint login:password")


class EndpointGuard:
    """The dependency of an endpoint API route: the endpoint behind the Basic credentials, of `type`."""

    def __init__(self, type: str) -> None:
        self.type = type

    async def __call__(self, request: Request, _c: Annotated[Any, Depends(_basic)]) -> EndpointCaller:
        login, password = _credentials(request)
        settings = request.app.state.settings
        row = await read(request.app.state.engine, lambda conn: store.verify(conn, login, password))
        if row is None:
            raise _unauthorized("Invalid endpoint login or password")
        caller = EndpointCaller(
            org_id=row.org_id,
            endpoint_id=row.id,
            login=row.login,
            type=row.type,
            per_minute=row.push_limit or settings.endpoint_push_limit,
            timezone=row.timezone,
            billed_leg=row.billed_leg,
        )
        state = request.scope["state"]
        state["principal"] = caller
        await request.app.state.authenticator.limiter.check(state, f"endpoint:{caller.endpoint_id}", request.method, caller.per_minute)
        if caller.type != self.type:
            raise ApiError(403, f"This endpoint is of type {caller.type!r}; {request.url.path} needs a {self.type!r} endpoint")
        known_query_parameters(request)
        return caller


def endpoint_caller(type: str) -> Any:
    """The route's credential dependency: `who: Annotated[EndpointCaller, endpoint_caller("cdr_push")]`."""
    return Depends(EndpointGuard(type))
