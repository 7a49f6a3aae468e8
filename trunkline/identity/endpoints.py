"""`/api/auth/me` and `/api/oauth/token` (password grant, for clients that log in with a password)."""

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from trunkline.kit import ids, scopes
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.errors import ApiError
from trunkline.kit.queryparams import known_query_parameters
from trunkline.kit.responses import JSONResponse, item
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import ApiId, Input, Output

router = resource_router("", "auth")
SCOPES = ()  # guarded by credentials of their own, not by scopes
OAUTH_TOKEN_LIFETIME = timedelta(hours=1)


class Me(Output):
    organization_id: ApiId
    is_operator: bool
    credential: Literal["token", "user"]
    name: str
    token_id: ApiId | None
    user_id: ApiId | None
    scopes: list[str]
    expires_at: str | None
    rate_limits: dict[str, int] = Field(description="Requests per minute: get, other")


@router.get("/auth/me", response_model=Me, summary="Who am I")
async def me(who: Annotated[Principal, caller()]):
    return item(
        {
            "organization_id": ids.encode(who.org_id),
            "is_operator": who.is_operator,
            "credential": who.kind,
            "name": who.name,
            "token_id": ids.encode(who.token_id) if who.token_id else None,
            "user_id": ids.encode(who.user_id) if who.user_id else None,
            "scopes": sorted(who.scopes),
            "expires_at": who.expires_at.isoformat() if who.expires_at else None,
            "rate_limits": {"get": who.rate_limit_get, "other": who.rate_limit_other},
        }
    )


class PasswordGrant(Input):
    grant_type: Literal["password"]
    username: str = Field(max_length=320)
    password: str = Field(max_length=256)
    scope: str | None = Field(default=None, max_length=4000, description="Space-separated; default: all of the user's")
    # RFC 6749 clients often send their client credentials along; there are no OAuth clients to check.
    client_id: str | None = Field(default=None, max_length=200, description="Accepted and ignored")
    client_secret: str | None = Field(default=None, max_length=200, description="Accepted and ignored")


class IssuedToken(Output):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    scope: str


def _oauth_error(status: int, error: str, message: str) -> ApiError:
    # RFC 6749 §5.2 clients look for `error`; everyone else reads the usual body.
    return ApiError(status, message, error=error, error_description=message)


@router.post(
    "/oauth/token",
    response_model=IssuedToken,
    summary="Issue a bearer token (OAuth 2 password grant)",
    description="Form-encoded as RFC 6749 asks (JSON works too). The token expires in an hour.",
    dependencies=[Depends(known_query_parameters)],
)
async def oauth_token(body: PasswordGrant, request: Request):
    authenticator = request.app.state.authenticator
    await authenticator.limit_logins(request)
    user = await run_in_threadpool(authenticator.verify_user, body.username, body.password)
    if user is None:
        raise _oauth_error(401, "invalid_grant", "Invalid username or password")
    wanted = frozenset(body.scope.split()) if body.scope else user.scopes
    if not all(scopes.is_known(scope) for scope in wanted) or not scopes.covers(user.scopes, wanted):
        raise _oauth_error(400, "invalid_scope", "Requested scope is unknown or beyond the user's scopes")
    secret = await run_in_threadpool(request.app.state.identity.issue_oauth_token, user, wanted, utcnow() + OAUTH_TOKEN_LIFETIME)
    return JSONResponse(
        {
            "access_token": secret,
            "token_type": "bearer",
            "expires_in": int(OAUTH_TOKEN_LIFETIME.total_seconds()),
            "scope": " ".join(sorted(wanted)),
        },
        headers={"Cache-Control": "no-store"},
    )
