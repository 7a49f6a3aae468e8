"""Organizations, console users and API tokens."""

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from trunkline.db.tables import organizations, tokens, users
from trunkline.kit import credentials, ids
from trunkline.kit.clock import utcnow
from trunkline.rate_plans import repository as rate_plans


def create_organization(
    conn: Connection,
    name: str,
    *,
    is_operator: bool = False,
    rate_limit_get: int | None = None,
    rate_limit_other: int | None = None,
) -> int:
    org_id = ids.new_id()
    conn.execute(
        insert(organizations).values(
            id=org_id,
            name=name,
            is_operator=is_operator,
            rate_limit_get=rate_limit_get,
            rate_limit_other=rate_limit_other,
            created_at=utcnow(),
        )
    )
    rate_plans.create_default(conn, org_id, utcnow())
    return org_id


def create_user(conn: Connection, org_id: int, email: str, password_hash: str, scopes: list[str]) -> int:
    user_id = ids.new_id()
    conn.execute(
        insert(users).values(
            id=user_id,
            org_id=org_id,
            email=email.lower(),
            password_hash=password_hash,
            scopes=sorted(scopes),
            created_at=utcnow(),
        )
    )
    return user_id


def create_token(
    conn: Connection,
    org_id: int,
    name: str,
    scopes: list[str],
    *,
    user_id: int | None = None,
    allowed_ips: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[int, str]:
    """A new token; returns its id and the secret, which is never stored."""
    token_id, secret = ids.new_id(), credentials.new_token()
    conn.execute(
        insert(tokens).values(
            id=token_id,
            org_id=org_id,
            user_id=user_id,
            name=name,
            secret_hash=credentials.token_hash(secret),
            hint=credentials.token_hint(secret),
            scopes=sorted(scopes),
            allowed_ips=allowed_ips or [],
            expires_at=expires_at,
            created_at=utcnow(),
        )
    )
    return token_id, secret


_CALLER_ORG = (
    organizations.c.is_operator,
    organizations.c.rate_limit_get,
    organizations.c.rate_limit_other,
)


def find_token(conn: Connection, secret_hash: str):
    return conn.execute(
        select(tokens, *_CALLER_ORG)
        .join(organizations, organizations.c.id == tokens.c.org_id)
        .where(tokens.c.secret_hash == secret_hash)
    ).first()


def find_user(conn: Connection, email: str):
    return conn.execute(
        select(users, *_CALLER_ORG)
        .join(organizations, organizations.c.id == users.c.org_id)
        .where(users.c.email == email.lower())
    ).first()


def revoke_token(conn: Connection, org_id: int, token_id: int) -> bool:
    result = conn.execute(
        update(tokens)
        .where(tokens.c.id == token_id, tokens.c.org_id == org_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount == 1


def email_taken(conn: Connection, email: str) -> bool:
    return conn.execute(select(users.c.id).where(users.c.email == email.lower())).first() is not None


def operator_org(conn: Connection) -> int | None:
    return conn.execute(select(organizations.c.id).where(organizations.c.is_operator).limit(1)).scalar()


def bootstrap(conn: Connection) -> str | None:
    """On first start: the operator's organization and a `*` token (returned once); None later."""
    if operator_org(conn) is not None:
        return None
    org_id = create_organization(conn, "Operator", is_operator=True)
    return create_token(conn, org_id, "admin", ["*"])[1]


def revoke_user_tokens(conn: Connection, org_id: int, user_id: int) -> list[int]:
    """Revoke every live token tied to a user (issued by OAuth or created by them); their ids."""
    live = (tokens.c.org_id == org_id, tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
    token_ids = list(conn.execute(select(tokens.c.id).where(*live)).scalars())
    conn.execute(update(tokens).where(*live).values(revoked_at=utcnow()))
    return token_ids
