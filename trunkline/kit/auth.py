"""Who is calling, and may they? One dependency every route declares with its scope.

Credentials, in order: `Authorization: Bearer <token>`, the `access_token` query
parameter (for clients that cannot send headers), or
`Authorization: Basic email:password` of a console user (as `curl -u` sends it);
password checks are rate-limited per client address.
A verified credential is cached for a couple of seconds so the hot path makes no
database read; revoking a token, changing or deleting a user and changing or deleting
an organization drop the affected entries in this process at once.
After authentication the same dependency checks the IP allow-list, the route's
scope and the organization's rate limit.
"""

import hashlib
import ipaddress
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyQuery, HTTPBasic, OAuth2PasswordBearer, SecurityScopes
from starlette.concurrency import run_in_threadpool

from trunkline.kit import credentials, scopes
from trunkline.kit.body import has_body
from trunkline.kit.config import Settings
from trunkline.kit.errors import ApiError, error_response
from trunkline.kit.queryparams import known_query_parameters
from trunkline.kit.ratelimit import RateLimiter

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: int
    name: str
    scopes: frozenset[str]
    kind: str  # "token" | "user"
    token_id: int | None = None
    user_id: int | None = None
    is_operator: bool = False
    rate_limit_get: int = 1000
    rate_limit_other: int = 100
    allowed_ips: tuple[Network, ...] = ()
    expires_at: datetime | None = None
    revoked: bool = field(default=False, compare=False)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="trunkline", Basic realm="trunkline"'})


class Directory(Protocol):
    """Where credentials are looked up; the app wires in identity's (`identity.service.Directory`).
    Rows carry the credential's own columns and its organization's `is_operator` and limits."""

    def find_token(self, secret_hash: str) -> Any | None: ...

    def find_user(self, email: str) -> Any | None: ...

    def elsewhere(self, name: str) -> str | None:
        """Why a Basic user name may not log in here (it belongs to another API), or None."""


class Authenticator:
    def __init__(self, directory: Directory, settings: Settings, passwords: credentials.Passwords, limiter: RateLimiter):
        self.directory = directory
        self.settings = settings
        self.passwords = passwords
        self.limiter = limiter
        self._cache: dict[str, tuple[float, Principal]] = {}

    def forget(self, *, token_id: int | None = None, user_id: int | None = None, org_id: int | None = None) -> None:
        """Drop cached credentials of a token, a user (and the tokens it made) or a whole organization."""
        for key, (_, principal) in list(self._cache.items()):
            if (
                (token_id is not None and principal.token_id == token_id)
                or (user_id is not None and principal.user_id == user_id)
                or (org_id is not None and principal.org_id == org_id)
            ):
                self._cache.pop(key, None)

    async def authenticate(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        query_token = request.query_params.get("access_token")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if header and query_token:
            raise ApiError(400, "Send the credential either in the Authorization header or as access_token, not both")
        if scheme == "bearer" or query_token:
            principal = await self._token(value.strip() if scheme == "bearer" else query_token)
        elif scheme == "basic":
            principal = await self._basic(value.strip(), request)
        elif header:
            raise _unauthorized(f"Unsupported authorization scheme {scheme!r}; use Bearer or Basic")
        else:
            raise _unauthorized("Authentication required: send Authorization: Bearer <token>")
        request.scope["state"]["principal"] = principal  # a refusal below is logged with the organization
        if principal.revoked:
            raise _unauthorized("This token has been revoked")
        if principal.expires_at and principal.expires_at <= datetime.now(UTC):
            raise _unauthorized("This token has expired")
        if principal.allowed_ips:
            client = ipaddress.ip_address(request.client.host) if request.client else None
            if client is None or not any(client in network for network in principal.allowed_ips):
                raise ApiError(403, f"This token may not be used from {client}")
        return principal

    async def _token(self, secret: str) -> Principal:
        key = credentials.token_hash(secret)
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        if not credentials.looks_valid(secret):  # a made-up token costs no database read
            raise _unauthorized("Invalid token")
        row = await run_in_threadpool(self.directory.find_token, key)
        if row is None:
            raise _unauthorized("Invalid token")
        principal = Principal(
            org_id=row.org_id,
            name=row.name,
            scopes=frozenset(row.scopes),
            kind="token",
            token_id=row.id,
            user_id=row.user_id,
            is_operator=row.is_operator,
            rate_limit_get=row.rate_limit_get or self.settings.rate_limit_get,
            rate_limit_other=row.rate_limit_other or self.settings.rate_limit_other,
            allowed_ips=tuple(ipaddress.ip_network(cidr) for cidr in row.allowed_ips),
            expires_at=row.expires_at,
            revoked=row.revoked_at is not None,
        )
        self._cache[key] = (time.monotonic() + self.settings.token_cache_seconds, principal)
        return principal

    async def _basic(self, encoded: str, request: Request) -> Principal:
        decoded = credentials.decode_basic(encoded)
        if decoded is None:
            raise _unauthorized("Malformed Basic credentials")
        email, password = decoded
        refusal = self.directory.elsewhere(email)
        if refusal:
            raise _unauthorized(refusal)
        key = "basic:" + hashlib.sha256(f"{email.lower()}\0{password}".encode()).hexdigest()
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        await self.limit_logins(request)
        principal = await run_in_threadpool(self.verify_user, email, password)
        if principal is None:
            raise _unauthorized("Invalid email or password")
        self._cache[key] = (time.monotonic() + self.settings.token_cache_seconds, principal)
        return principal

    async def limit_logins(self, request: Request) -> None:
        """Count a password check (Basic auth, OAuth password grant) against the client address,
        so guessing passwords is 429 after `login_attempts_per_minute`. Verified credentials
        are cached, so a client that knows its password is checked rarely."""
        client = request.client.host if request.client else "unknown"
        await self.limiter.check(request.scope["state"], f"login:{client}", "POST", self.settings.login_attempts_per_minute)

    def verify_user(self, email: str, password: str) -> Principal | None:
        """The console user behind email:password, or None (argon2 check; runs in a thread)."""
        row = self.directory.find_user(email)
        if row is None:
            return self.passwords.verify_nobody(password) or None
        if not self.passwords.verify(row.password_hash, password):
            return None
        return Principal(
            org_id=row.org_id,
            name=row.email,
            scopes=frozenset(row.scopes),
            kind="user",
            user_id=row.id,
            is_operator=row.is_operator,
            rate_limit_get=row.rate_limit_get or self.settings.rate_limit_get,
            rate_limit_other=row.rate_limit_other or self.settings.rate_limit_other,
        )


def credential_schemes() -> tuple:
    """The three ways to present a credential, for the OpenAPI document (see `openapi.build`),
    with the scopes the application has declared. They are not dependencies of `authorize`:
    FastAPI would resolve all three on every request only to document them;
    extraction is `Authenticator`'s own."""
    return (
        OAuth2PasswordBearer(tokenUrl="/api/oauth/token", scopes=scopes.DESCRIPTIONS),
        APIKeyQuery(name="access_token", description="Token for clients that cannot send headers"),
        HTTPBasic(description="Console user email:password"),
    )


class AuthenticateFirstMiddleware:
    """Authenticate a request that carries a body before anything reads it: an unauthenticated
    client must not make the server read (and hold) a large body only to be told 401. The
    principal is kept for the route's `authorize`, which checks scopes and rate limits as
    usual. Routes whose body is itself the credential (`public`) are left to the route."""

    def __init__(self, app, prefix: str, public: frozenset[str]) -> None:
        self.app = app
        self.prefix = prefix
        self.public = public

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix) and scope["path"] not in self.public and has_body(dict(scope["headers"])):
            request = Request(scope)
            state = scope.setdefault("state", {})
            try:
                state["authenticated"] = await request.app.state.authenticator.authenticate(request)
            except ApiError as error:
                await error_response(error, state)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def authorize(request: Request, security_scopes: SecurityScopes) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    state = request.scope["state"]
    principal = state.get("authenticated") or await authenticator.authenticate(request)
    state["principal"] = principal
    await authenticator.limiter.check(state, f"org:{principal.org_id}", request.method, principal.rate_limit_get, principal.rate_limit_other)
    for wanted in security_scopes.scopes:
        if not scopes.grants(principal.scopes, wanted):
            raise ApiError(403, f"This credential lacks the scope {wanted!r}", required_scope=wanted)
    known_query_parameters(request)
    return principal


def required_scopes(dependant: Dependant) -> list[str] | None:
    """The scopes a route's `caller` demands ([] for any credential), or None on a public route."""
    for dependency in dependant.dependencies:
        if dependency.call is authorize:
            return list(dependency.own_oauth_scopes or ())
        found = required_scopes(dependency)
        if found is not None:
            return found
    return None


def caller(scope: str | None = None) -> Any:
    """The route's credential dependency: `caller: Annotated[Principal, caller("call_rates.read")]`."""
    return Security(authorize, scopes=[scope] if scope else [])
