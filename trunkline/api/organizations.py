"""`/api/organizations`: the operator's organization creates and manages customer organizations.

Every other organization sees only itself and may rename itself; its rate limits
are the operator's to set.
"""

from typing import Annotated

from fastapi import Request

from trunkline.platform.auth import Principal, caller
from trunkline.platform.errors import ApiError, not_found
from trunkline.platform.pagination import ListQuery, list_page
from trunkline.platform.resources import Database, changes, fetch_one, object_id
from trunkline.platform.responses import done, item, saved, secret_response
from trunkline.platform.routing import resource_router, update_routes
from trunkline.platform.schema import Done, page_of
from trunkline.schemas.identity import (
    Organization,
    OrganizationCreate,
    OrganizationCreated,
    OrganizationUpdate,
    present_organization,
)
from trunkline.store import identity, lookup
from trunkline.store.tables import organizations

router = resource_router("/organizations", "organizations")
Reader = Annotated[Principal, caller("organizations.read")]


def _visible(who: Principal) -> int | None:
    """The organization filter for `who`: operators see every organization."""
    return None if who.is_operator else who.org_id


def _operator_only(who: Principal) -> None:
    if not who.is_operator:
        raise ApiError(403, "Only the operator's organization may do this")


@router.get("", response_model=page_of(Organization), summary="List organizations")
def list_organizations(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, organizations, _visible(who), identity.ORGANIZATION_FIELDS, present_organization)


@router.post(
    "",
    response_model=OrganizationCreated,
    summary="Create a customer organization",
    description="Operator only. Returns a `*` token for the new organization, once; "
    "with admin_email and admin_password also creates its first console user.",
)
def create_organization(
    body: OrganizationCreate, request: Request, db: Database, who: Annotated[Principal, caller("organizations.create")]
):
    _operator_only(who)
    if (body.admin_email is None) != (body.admin_password is None):
        raise ApiError(422, "Send admin_email and admin_password together", invalidInputVars=[{"name": "admin_password", "reason": "needs admin_email"}])
    password_hash = request.app.state.passwords.hash(body.admin_password.get_secret_value()) if body.admin_password else None
    with db.begin() as conn:
        if body.admin_email and identity.email_taken(conn, body.admin_email):
            raise ApiError(409, f"A user with email {body.admin_email} already exists", code="DUPLICATE_EMAIL")
        org_id = identity.create_organization(
            conn, body.name, rate_limit_get=body.rate_limit_get, rate_limit_other=body.rate_limit_other
        )
        user_id = identity.create_user(conn, org_id, body.admin_email, password_hash, ["*"]) if body.admin_email else None
        _, secret = identity.create_token(conn, org_id, "admin", ["*"], user_id=user_id)
        row = lookup.by_id(conn, organizations, org_id, org_id)
    return secret_response(present_organization(row), admin_token=secret)


@router.get("/{id}", response_model=Organization, summary="Retrieve an organization")
async def get_organization(id: str, db: Database, who: Reader):
    """Any organization for the operator's credentials, otherwise only the caller's own."""
    owner = object_id(id, "Organization") if who.is_operator else who.org_id
    return item(present_organization(await fetch_one(db, organizations, owner, id, "Organization")))


def update_organization(
    id: str,
    body: OrganizationUpdate,
    request: Request,
    db: Database,
    who: Annotated[Principal, caller("organizations.update")],
):
    values = changes(body, nullable=frozenset({"rate_limit_get", "rate_limit_other"}))
    if values.keys() - {"name"}:
        _operator_only(who)
    org_id = object_id(id, "Organization")
    with db.begin() as conn:
        if not lookup.change(conn, organizations, org_id if who.is_operator else who.org_id, org_id, values):
            raise not_found("Organization")
        row = lookup.by_id(conn, organizations, org_id, org_id)
    request.app.state.authenticator.forget(org_id=org_id)  # new limits apply at once
    return saved(present_organization(row))


update_routes(
    router,
    "/{id}",
    update_organization,
    "Rename an organization or set its rate limits",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. Rate limits are the operator's to set; "
    "they apply at once.",
    Organization,
)


@router.delete("/{id}", response_model=Done, summary="Delete a customer organization and all its data")
def delete_organization(
    id: str, request: Request, db: Database, who: Annotated[Principal, caller("organizations.delete")]
):
    _operator_only(who)
    org_id = object_id(id, "Organization")
    if org_id == who.org_id:
        raise ApiError(409, "The operator's own organization cannot be deleted")
    with db.begin() as conn:
        if not lookup.remove(conn, organizations, org_id, org_id):
            raise not_found("Organization")
    request.app.state.authenticator.forget(org_id=org_id)
    return done()
