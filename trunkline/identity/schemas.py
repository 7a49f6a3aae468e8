"""Organizations, console users and API tokens: bodies and output."""

import ipaddress
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, SecretStr

from trunkline.db.tables import organizations, tokens, users
from trunkline.kit import ids, query, scopes
from trunkline.kit.clock import to_utc
from trunkline.kit.schema import ApiId, Input, Output


def _known_scopes(values: list[str]) -> list[str]:
    unknown = [scope for scope in values if not scopes.is_known(scope)]
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    return sorted(set(values))


def _networks(values: list[str]) -> list[str]:
    try:
        return [str(ipaddress.ip_network(value.strip(), strict=False)) for value in values]
    except ValueError as exc:
        raise ValueError(f"not an IP network: {exc}") from None


def _scope_choices(schema: dict) -> None:
    """Each item is one of the scopes the app declares, listed once in the document (`openapi.SCOPE`)."""
    schema["items"] = {"$ref": "#/components/schemas/Scope"}


Scopes = Annotated[
    list[str],
    Field(min_length=1, max_length=100, json_schema_extra=_scope_choices),
    AfterValidator(_known_scopes),
]
Networks = Annotated[list[str], Field(max_length=100), AfterValidator(_networks)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Password = Annotated[SecretStr, Field(min_length=8, max_length=256)]


class TokenCreate(Input):
    name: Name
    scopes: Scopes = Field(description="e.g. ['call_rates.read'], ['call_rates.*'] or ['*']")
    allowed_ips: Networks = Field(default_factory=list, description="CIDRs the token may be used from; empty: anywhere")
    expires_at: Annotated[datetime, AfterValidator(to_utc)] | None = Field(
        default=None, description="ISO 8601, UTC when no offset is given; empty: never"
    )


class Token(Output):
    id: ApiId
    name: str
    hint: str = Field(description="First and last characters of the secret")
    scopes: list[str]
    allowed_ips: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    user_id: ApiId | None


class TokenCreated(Token):
    success: bool
    guid: str
    token: str = Field(description="The secret: shown this once, stored only as a hash")


class UserCreate(Input):
    email: EmailStr
    password: Password
    scopes: Scopes = Field(default_factory=lambda: ["*"])


class UserUpdate(Input):
    password: Password | None = None
    scopes: Scopes | None = None


class User(Output):
    id: ApiId
    email: str
    scopes: list[str]
    created_at: datetime


class OrganizationCreate(Input):
    name: Name
    rate_limit_get: int | None = Field(default=None, ge=1, le=10**7, description="GET requests per minute")
    rate_limit_other: int | None = Field(default=None, ge=1, le=10**7, description="Other requests per minute")
    admin_email: EmailStr | None = None
    admin_password: Password | None = None


class OrganizationUpdate(Input):
    name: Name | None = None
    rate_limit_get: int | None = Field(default=None, ge=1, le=10**7)
    rate_limit_other: int | None = Field(default=None, ge=1, le=10**7)


class Organization(Output):
    id: ApiId
    name: str
    is_operator: bool
    rate_limit_get: int | None
    rate_limit_other: int | None
    created_at: datetime


class OrganizationCreated(Organization):
    success: bool
    guid: str
    admin_token: str = Field(description="A token with scope * for the new organization, shown once")


def present_token(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "name": row.name,
        "hint": row.hint,
        "scopes": row.scopes,
        "allowed_ips": row.allowed_ips,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "created_at": row.created_at,
        "user_id": ids.encode(row.user_id) if row.user_id else None,
    }


def present_user(row) -> dict:
    return {"id": ids.encode(row.id), "email": row.email, "scopes": row.scopes, "created_at": row.created_at}


def present_organization(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "name": row.name,
        "is_operator": row.is_operator,
        "rate_limit_get": row.rate_limit_get,
        "rate_limit_other": row.rate_limit_other,
        "created_at": row.created_at,
    }


ORGANIZATION_FIELDS = query.Fields(
    fields={
        "id": query.Field(organizations.c.id, "id"),
        "name": query.Field(organizations.c.name, "str"),
        "is_operator": query.Field(organizations.c.is_operator, "bool"),
        "rate_limit_get": query.Field(organizations.c.rate_limit_get, "int"),
        "rate_limit_other": query.Field(organizations.c.rate_limit_other, "int"),
        "created_at": query.Field(organizations.c.created_at, "datetime"),
    },
    search=(organizations.c.name,),
)

USER_FIELDS = query.Fields(
    fields={
        "id": query.Field(users.c.id, "id"),
        "email": query.Field(users.c.email, "str"),
        "created_at": query.Field(users.c.created_at, "datetime"),
    },
    search=(users.c.email,),
)

TOKEN_FIELDS = query.Fields(
    fields={
        "id": query.Field(tokens.c.id, "id"),
        "name": query.Field(tokens.c.name, "str"),
        "hint": query.Field(tokens.c.hint, "str"),
        "user_id": query.Field(tokens.c.user_id, "id"),
        "expires_at": query.Field(tokens.c.expires_at, "datetime"),
        "revoked_at": query.Field(tokens.c.revoked_at, "datetime"),
        "created_at": query.Field(tokens.c.created_at, "datetime"),
    },
    search=(tokens.c.name,),
)
