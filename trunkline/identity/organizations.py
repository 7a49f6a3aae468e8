"""`/api/organizations`: the operator's organization creates and manages customer organizations.

Every other organization sees only itself and may rename itself; its rate limits
are the operator's to set.
"""

from typing import Annotated

from fastapi import Request

from trunkline.db.tables import organizations
from trunkline.identity.schemas import ORGANIZATION_FIELDS, Organization, OrganizationCreate, OrganizationCreated, OrganizationUpdate, present_organization
from trunkline.identity.service import visible
from trunkline.kit.auth import Principal, caller
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id
from trunkline.kit.responses import done, item, saved, secret_response
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, page_of

router = resource_router("/organizations", "organizations")
SCOPES = ("organizations",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("organizations.read")]


@router.get("", response_model=page_of(Organization), summary="List organizations")
def list_organizations(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, organizations, visible(who), ORGANIZATION_FIELDS, present_organization)


@router.post(
    "",
    response_model=OrganizationCreated,
    summary="Create a customer organization",
    description="Operator only. Returns a `*` token for the new organization, once; "
    "with admin_email and admin_password also creates its first console user.",
)
def create_organization(body: OrganizationCreate, request: Request, who: Annotated[Principal, caller("organizations.create")]):
    password = body.admin_password.get_secret_value() if body.admin_password else None
    limits = {"rate_limit_get": body.rate_limit_get, "rate_limit_other": body.rate_limit_other}
    row, secret = request.app.state.identity.create_organization(who, body.name, body.admin_email, password, limits)
    return secret_response(present_organization(row), admin_token=secret)


@router.get("/{id}", response_model=Organization, summary="Retrieve an organization")
async def get_organization(id: str, db: Database, who: Reader):
    """Any organization for the operator's credentials, otherwise only the caller's own."""
    owner = object_id(id, "Organization") if who.is_operator else who.org_id
    return item(present_organization(await fetch_one(db, organizations, owner, id, "Organization")))


def update_organization(id: str, body: OrganizationUpdate, request: Request, who: Annotated[Principal, caller("organizations.update")]):
    values = changes(body, nullable=frozenset({"rate_limit_get", "rate_limit_other"}))
    return saved(present_organization(request.app.state.identity.update_organization(who, object_id(id, "Organization"), values)))


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
def delete_organization(id: str, request: Request, who: Annotated[Principal, caller("organizations.delete")]):
    request.app.state.identity.delete_organization(who, object_id(id, "Organization"))
    return done()
