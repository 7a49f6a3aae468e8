"""`/api/tokens`: the organization's API tokens. The secret is shown once, at creation."""

from typing import Annotated

from fastapi import Request

from trunkline.db.tables import tokens
from trunkline.identity.schemas import TOKEN_FIELDS, Token, TokenCreate, TokenCreated, present_token
from trunkline.kit.auth import Principal, caller
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, fetch_one, object_id
from trunkline.kit.responses import done, item, secret_response
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import Done, page_of

router = resource_router("/tokens", "tokens")
SCOPES = ("tokens",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("tokens.read")]


@router.get("", response_model=page_of(Token), summary="List API tokens")
def list_tokens(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, tokens, who.org_id, TOKEN_FIELDS, present_token)


@router.post(
    "",
    response_model=TokenCreated,
    summary="Create an API token",
    description="A token can hold no scope its creator lacks. The secret is in the response and nowhere else.",
)
def create_token(body: TokenCreate, request: Request, who: Annotated[Principal, caller("tokens.create")]):
    row, secret = request.app.state.identity.create_token(who, body.name, body.scopes, body.allowed_ips, body.expires_at)
    return secret_response(present_token(row), token=secret)


@router.get("/{id}", response_model=Token, summary="Retrieve an API token")
async def get_token(id: str, db: Database, who: Reader):
    return item(present_token(await fetch_one(db, tokens, who.org_id, id, "Token")))


@router.delete(
    "/{id}",
    response_model=Done,
    summary="Revoke an API token",
    description="Takes effect at once. The revoking credential must hold every scope of the token it revokes.",
)
def revoke_token(id: str, request: Request, who: Annotated[Principal, caller("tokens.delete")]):
    request.app.state.identity.revoke_token(who, object_id(id, "Token"))
    return done()
