"""Identity policy: who may create, change or remove organizations, users and tokens.

Every rule lives here, not in the routes: no credential hands out scopes it does not hold,
only the operator manages organizations and their limits, and every change to a credential
drops its cached copies (`forget`) so it takes effect at once.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from trunkline.db.tables import organizations, tokens, users
from trunkline.identity import repository
from trunkline.kit import lookup, scopes
from trunkline.kit.auth import Principal
from trunkline.kit.clock import utcnow
from trunkline.kit.credentials import Passwords
from trunkline.kit.failures import Conflict, Forbidden, Invalid, NotFound
from trunkline.switches.repository import is_login


class Directory:
    """The credentials `kit.auth.Authenticator` looks up, read from identity's tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find_token(self, secret_hash: str):
        with self.engine.connect() as conn:
            return repository.find_token(conn, secret_hash)

    def find_user(self, email: str):
        with self.engine.connect() as conn:
            return repository.find_user(conn, email)

    def elsewhere(self, name: str) -> str | None:
        """Why a Basic user name is refused here: a switch endpoint's login works only on its own APIs."""
        if is_login(name):
            return "Endpoint credentials work only on the endpoint APIs (/api/endpoint/...); use a token here"
        return None


def visible(who: Principal) -> int | None:
    """The organization filter for `who`: operators see every organization."""
    return None if who.is_operator else who.org_id


def operator_only(who: Principal) -> None:
    if not who.is_operator:
        raise Forbidden("Only the operator's organization may do this")


def _no_escalation(who: Principal, wanted: list[str] | None, message: str) -> None:
    if wanted is not None and not scopes.covers(who.scopes, frozenset(wanted)):
        raise Forbidden(message)


def _duplicate_email(email: str) -> Conflict:
    return Conflict(f"A user with email {email} already exists", code="DUPLICATE_EMAIL")


class Identity:
    """The identity service the routes call (`app.state.identity`)."""

    def __init__(self, engine: Engine, passwords: Passwords, forget: Callable[..., None]) -> None:
        self.engine = engine
        self.passwords = passwords
        self.forget = forget

    # Organizations

    def create_organization(self, who: Principal, name: str, admin_email: str | None, admin_password: str | None, limits: dict):
        """A customer organization with a `*` token, and its first console user when an email
        and password come together; returns its row and the token's secret."""
        operator_only(who)
        if (admin_email is None) != (admin_password is None):
            raise Invalid("Send admin_email and admin_password together", problems=[{"name": "admin_password", "reason": "needs admin_email"}])
        password_hash = self.passwords.hash(admin_password) if admin_password else None
        with self.engine.begin() as conn:
            if admin_email and repository.email_taken(conn, admin_email):
                raise _duplicate_email(admin_email)
            org_id = repository.create_organization(conn, name, **limits)
            user_id = repository.create_user(conn, org_id, admin_email, password_hash, ["*"]) if admin_email else None
            _, secret = repository.create_token(conn, org_id, "admin", ["*"], user_id=user_id)
            return lookup.by_id(conn, organizations, org_id, org_id), secret

    def update_organization(self, who: Principal, org_id: int, values: dict):
        """Anyone may rename their own organization; rate limits are the operator's to set."""
        if values.keys() - {"name"}:
            operator_only(who)
        with self.engine.begin() as conn:
            if not lookup.change(conn, organizations, org_id if who.is_operator else who.org_id, org_id, values):
                raise NotFound("Organization")
            row = lookup.by_id(conn, organizations, org_id, org_id)
        self.forget(org_id=org_id)  # new limits apply at once
        return row

    def delete_organization(self, who: Principal, org_id: int) -> None:
        operator_only(who)
        if org_id == who.org_id:
            raise Conflict("The operator's own organization cannot be deleted")
        with self.engine.begin() as conn:
            if not lookup.remove(conn, organizations, org_id, org_id):
                raise NotFound("Organization")
        self.forget(org_id=org_id)

    # Console users

    def create_user(self, who: Principal, email: str, password: str, wanted: list[str]):
        _no_escalation(who, wanted, "A user cannot be given scopes the caller does not hold")
        password_hash = self.passwords.hash(password)
        with self.engine.begin() as conn:
            if repository.email_taken(conn, email):
                raise _duplicate_email(email)
            user_id = repository.create_user(conn, who.org_id, email, password_hash, wanted)
            return lookup.by_id(conn, users, who.org_id, user_id)

    def update_user(self, who: Principal, user_id: int, values: dict):
        """Change a user the caller may act for; the old password and scopes stop working at once."""
        _no_escalation(who, values.get("scopes"), "A user cannot be given scopes the caller does not hold")
        if "password" in values:
            values["password_hash"] = self.passwords.hash(values.pop("password"))
        with self.engine.begin() as conn:
            self._changeable_user(conn, who, user_id)
            lookup.change(conn, users, who.org_id, user_id, values)
            row = lookup.by_id(conn, users, who.org_id, user_id)
        self.forget(user_id=user_id)
        return row

    def delete_user(self, who: Principal, user_id: int) -> None:
        """Remove the user and revoke every token it created or was issued."""
        with self.engine.begin() as conn:
            self._changeable_user(conn, who, user_id)
            revoked = repository.revoke_user_tokens(conn, who.org_id, user_id)
            lookup.remove(conn, users, who.org_id, user_id)
        self.forget(user_id=user_id)
        for token_id in revoked:
            self.forget(token_id=token_id)

    @staticmethod
    def _changeable_user(conn, who: Principal, user_id: int) -> None:
        """A user holding more than the caller is off limits: setting its password would hand
        the caller its scopes."""
        row = lookup.by_id(conn, users, who.org_id, user_id)
        if row is None:
            raise NotFound("User")
        if not scopes.covers(who.scopes, frozenset(row.scopes)):
            raise Forbidden("This user holds scopes the caller does not")

    # API tokens

    def create_token(self, who: Principal, name: str, wanted: list[str], allowed_ips: list[str], expires_at: datetime | None):
        """A token holding no scope its creator lacks; returns its row and the secret."""
        _no_escalation(who, wanted, "A token cannot be given scopes its creator does not hold")
        if expires_at and expires_at <= utcnow():
            raise Invalid("expires_at is in the past", problems=[{"name": "expires_at", "reason": "in the past"}])
        with self.engine.begin() as conn:
            token_id, secret = repository.create_token(conn, who.org_id, name, wanted, user_id=who.user_id, allowed_ips=allowed_ips, expires_at=expires_at)
            return lookup.by_id(conn, tokens, who.org_id, token_id), secret

    def issue_oauth_token(self, user: Principal, wanted: frozenset[str], expires_at: datetime) -> str:
        """The secret of a token for a user who logged in with a password (the OAuth grant)."""
        with self.engine.begin() as conn:
            _, secret = repository.create_token(conn, user.org_id, "oauth", sorted(wanted), user_id=user.user_id, expires_at=expires_at)
        return secret

    def revoke_token(self, who: Principal, token_id: int) -> None:
        """Revoking takes every scope the token holds; it stops working at once."""
        with self.engine.begin() as conn:
            row = lookup.by_id(conn, tokens, who.org_id, token_id)
            if row is None:
                raise NotFound("Token")
            if not scopes.covers(who.scopes, frozenset(row.scopes)):
                raise Forbidden("Revoking a token needs every scope it holds")
            repository.revoke_token(conn, who.org_id, token_id)
        self.forget(token_id=token_id)
