"""Endpoints: named Basic-auth credentials (login + password) for the `/api/endpoint/...` APIs.

The password is random and high-entropy, so a plain sha256 at rest is enough (as for tokens) and
lets every endpoint request be verified with one indexed read and no slow hash.
"""

import hashlib
import hmac
import secrets

from sqlalchemy import Connection, bindparam, insert, select, update

from trunkline.db.tables import endpoints
from trunkline.kit import ids, lookup
from trunkline.kit.clock import utcnow

LOGIN_PREFIX = "ep_"

def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def is_login(name: str) -> bool:
    """Whether a Basic user name is shaped like an endpoint login (no console email is)."""
    return name.startswith(LOGIN_PREFIX) and "@" not in name


def create(conn: Connection, org_id: int, fields: dict) -> tuple[int, str, str]:
    """A new endpoint from its settable `fields`; returns its id, login and password (the
    password is never stored)."""
    endpoint_id, login, password = ids.new_id(), LOGIN_PREFIX + secrets.token_hex(12), secrets.token_urlsafe(32)
    moment = utcnow()
    conn.execute(
        insert(endpoints).values(
            id=endpoint_id, org_id=org_id, login=login, password_hash=password_hash(password),
            created_at=moment, rotated_at=moment, **fields,
        )
    )
    return endpoint_id, login, password


def change(conn: Connection, org_id: int, endpoint_id: int, fields: dict) -> bool:
    """Update the settable fields sent; False when there is no such endpoint."""
    changed = conn.execute(update(endpoints).where(endpoints.c.id == endpoint_id, endpoints.c.org_id == org_id).values(**fields))
    return changed.rowcount == 1


def get(conn: Connection, org_id: int, object_id: int):
    return lookup.by_id(conn, endpoints, org_id, object_id)


def of(conn: Connection, org_id: int, endpoint_ids: set[int | None]) -> list:
    """The organization's endpoints among `endpoint_ids`."""
    wanted = [endpoint_id for endpoint_id in endpoint_ids if endpoint_id is not None]
    if not wanted:
        return []
    return conn.execute(select(endpoints).where(endpoints.c.org_id == org_id, endpoints.c.id.in_(wanted))).all()


def rotate(conn: Connection, org_id: int, endpoint_id: int) -> str | None:
    """A new password replacing the old one; None when there is no such endpoint."""
    password = secrets.token_urlsafe(32)
    changed = conn.execute(
        update(endpoints)
        .where(endpoints.c.id == endpoint_id, endpoints.c.org_id == org_id)
        .values(password_hash=password_hash(password), rotated_at=utcnow())
    ).rowcount
    return password if changed == 1 else None


def remove(conn: Connection, org_id: int, endpoint_id: int) -> bool:
    return lookup.remove(conn, endpoints, org_id, endpoint_id)


_BY_LOGIN = select(endpoints).where(endpoints.c.login == bindparam("login"))  # built once: a push is verified per call leg


def verify(conn: Connection, login: str, password: str):
    """The endpoint with these credentials, or None."""
    row = conn.execute(_BY_LOGIN, {"login": login}).first()
    if row is None or not hmac.compare_digest(row.password_hash, password_hash(password)):
        return None
    return row
