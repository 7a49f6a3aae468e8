"""`/api/users`: console users of the organization (email and argon2-hashed password)."""

from typing import Annotated

from fastapi import Request

from trunkline.db.tables import users
from trunkline.identity.schemas import USER_FIELDS, User, UserCreate, UserUpdate, present_user
from trunkline.kit.auth import Principal, caller
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id
from trunkline.kit.responses import done, item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, page_of, saved_of

router = resource_router("/users", "users")
SCOPES = ("users",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("users.read")]


@router.get("", response_model=page_of(User), summary="List console users")
def list_users(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, users, who.org_id, USER_FIELDS, present_user)


@router.post("", response_model=saved_of(User), summary="Create a console user")
def create_user(body: UserCreate, request: Request, who: Annotated[Principal, caller("users.create")]):
    row = request.app.state.identity.create_user(who, body.email, body.password.get_secret_value(), body.scopes)
    return saved(present_user(row))


@router.get("/{id}", response_model=User, summary="Retrieve a console user")
async def get_user(id: str, db: Database, who: Reader):
    return item(present_user(await fetch_one(db, users, who.org_id, id, "User")))


def update_user(id: str, body: UserUpdate, request: Request, who: Annotated[Principal, caller("users.update")]):
    values = changes(body)
    if "password" in values:
        values["password"] = body.password.get_secret_value()
    return saved(present_user(request.app.state.identity.update_user(who, object_id(id, "User"), values)))


update_routes(
    router,
    "/{id}",
    update_user,
    "Change a user's password or scopes",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. The old password and scopes stop working at once.",
    User,
)


@router.delete("/{id}", response_model=Done, summary="Delete a console user", description="Also revokes every token the user created or was issued.")
def delete_user(id: str, request: Request, who: Annotated[Principal, caller("users.delete")]):
    request.app.state.identity.delete_user(who, object_id(id, "User"))
    return done()
