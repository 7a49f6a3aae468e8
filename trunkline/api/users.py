"""`/api/users`: console users of the organization (email and argon2-hashed password)."""

from typing import Annotated

from fastapi import Request

from trunkline.platform import scopes
from trunkline.platform.auth import Principal, caller
from trunkline.platform.errors import ApiError, not_found
from trunkline.platform.pagination import ListQuery, list_page
from trunkline.platform.resources import Database, changes, fetch_one, object_id
from trunkline.platform.responses import done, item, saved
from trunkline.platform.routing import resource_router, update_routes
from trunkline.platform.schema import Done, page_of, saved_of
from trunkline.schemas.identity import User, UserCreate, UserUpdate, present_user
from trunkline.store import identity, lookup
from trunkline.store.tables import users

router = resource_router("/users", "users")
Reader = Annotated[Principal, caller("users.read")]


def _no_escalation(who: Principal, wanted: list[str] | None) -> None:
    if wanted is not None and not scopes.covers(who.scopes, frozenset(wanted)):
        raise ApiError(403, "A user cannot be given scopes the caller does not hold")


def _target(conn, who: Principal, id: str):
    """The user to change or delete; one holding more than the caller is off limits,
    or setting its password would hand the caller its scopes."""
    row = lookup.by_id(conn, users, who.org_id, object_id(id, "User"))
    if row is None:
        raise not_found("User")
    if not scopes.covers(who.scopes, frozenset(row.scopes)):
        raise ApiError(403, "This user holds scopes the caller does not")
    return row


@router.get("", response_model=page_of(User), summary="List console users")
def list_users(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, users, who.org_id, identity.USER_FIELDS, present_user)


@router.post("", response_model=saved_of(User), summary="Create a console user")
def create_user(body: UserCreate, request: Request, db: Database, who: Annotated[Principal, caller("users.create")]):
    _no_escalation(who, body.scopes)
    password_hash = request.app.state.passwords.hash(body.password.get_secret_value())
    with db.begin() as conn:
        if identity.email_taken(conn, body.email):
            raise ApiError(409, f"A user with email {body.email} already exists", code="DUPLICATE_EMAIL")
        user_id = identity.create_user(conn, who.org_id, body.email, password_hash, body.scopes)
        row = lookup.by_id(conn, users, who.org_id, user_id)
    return saved(present_user(row))


@router.get("/{id}", response_model=User, summary="Retrieve a console user")
async def get_user(id: str, db: Database, who: Reader):
    return item(present_user(await fetch_one(db, users, who.org_id, id, "User")))


def update_user(id: str, body: UserUpdate, request: Request, db: Database, who: Annotated[Principal, caller("users.update")]):
    values = changes(body)
    _no_escalation(who, values.get("scopes"))
    if "password" in values:
        values["password_hash"] = request.app.state.passwords.hash(body.password.get_secret_value())
        del values["password"]
    with db.begin() as conn:
        user_id = _target(conn, who, id).id
        lookup.change(conn, users, who.org_id, user_id, values)
        row = lookup.by_id(conn, users, who.org_id, user_id)
    request.app.state.authenticator.forget(user_id=user_id)  # old password and scopes stop working at once
    return saved(present_user(row))


update_routes(
    router,
    "/{id}",
    update_user,
    "Change a user's password or scopes",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. The old password and scopes stop working at once.",
    User,
)


@router.delete("/{id}", response_model=Done, summary="Delete a console user", description="Also revokes every token the user created or was issued.")
def delete_user(id: str, request: Request, db: Database, who: Annotated[Principal, caller("users.delete")]):
    with db.begin() as conn:
        user_id = _target(conn, who, id).id
        revoked = identity.revoke_user_tokens(conn, who.org_id, user_id)
        lookup.remove(conn, users, who.org_id, user_id)
    request.app.state.authenticator.forget(user_id=user_id)
    for token_id in revoked:
        request.app.state.authenticator.forget(token_id=token_id)
    return done()
