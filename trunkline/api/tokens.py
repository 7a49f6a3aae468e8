"""`/api/tokens`: the organization's API tokens. The secret is shown once, at creation."""

from typing import Annotated

from fastapi import Request

from trunkline.clock import utcnow
from trunkline.platform import scopes
from trunkline.platform.auth import Principal, caller
from trunkline.platform.errors import ApiError, not_found
from trunkline.platform.pagination import ListQuery, list_page
from trunkline.platform.resources import Database, fetch_one, object_id
from trunkline.platform.responses import done, item, secret_response
from trunkline.platform.routing import resource_router
from trunkline.platform.schema import Done, page_of
from trunkline.schemas.identity import Token, TokenCreate, TokenCreated, present_token
from trunkline.store import identity, lookup
from trunkline.store.tables import tokens

router = resource_router("/tokens", "tokens")
Reader = Annotated[Principal, caller("tokens.read")]


@router.get("", response_model=page_of(Token), summary="List API tokens")
def list_tokens(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, tokens, who.org_id, identity.TOKEN_FIELDS, present_token)


@router.post(
    "",
    response_model=TokenCreated,
    summary="Create an API token",
    description="A token can hold no scope its creator lacks. The secret is in the response and nowhere else.",
)
def create_token(body: TokenCreate, db: Database, who: Annotated[Principal, caller("tokens.create")]):
    if not scopes.covers(who.scopes, frozenset(body.scopes)):
        raise ApiError(403, "A token cannot be given scopes its creator does not hold")
    if body.expires_at and body.expires_at <= utcnow():
        raise ApiError(422, "expires_at is in the past", invalidInputVars=[{"name": "expires_at", "reason": "in the past"}])
    with db.begin() as conn:
        token_id, secret = identity.create_token(
            conn, who.org_id, body.name, body.scopes, user_id=who.user_id, allowed_ips=body.allowed_ips, expires_at=body.expires_at
        )
        row = lookup.by_id(conn, tokens, who.org_id, token_id)
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
def revoke_token(id: str, request: Request, db: Database, who: Annotated[Principal, caller("tokens.delete")]):
    token_id = object_id(id, "Token")
    with db.begin() as conn:
        row = lookup.by_id(conn, tokens, who.org_id, token_id)
        if row is None:
            raise not_found("Token")
        if not scopes.covers(who.scopes, frozenset(row.scopes)):
            raise ApiError(403, "Revoking a token needs every scope it holds")
        identity.revoke_token(conn, who.org_id, token_id)
    request.app.state.authenticator.forget(token_id=token_id)
    return done()
