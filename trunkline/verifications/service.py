"""Passcode policy: a code is drawn from the operating system's CSPRNG, sent in an SMS whose
stored text masks it, and kept only as a keyed digest (the server key: a stolen table does not
give six digits up to brute force). A check spends one of `MAX_ATTEMPTS` attempts before the
code is compared, in constant time; the answer says only the verification's status and whether
this check approved it, so a wrong code and an expired one differ by status alone."""

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection

from trunkline.call_rates.deck_cache import PricedDeck
from trunkline.kit import ids
from trunkline.kit.failures import NotFound
from trunkline.kit.secretbox import SecretBox
from trunkline.messages import service as messages
from trunkline.messages.schemas import MessageCreate
from trunkline.verifications import repository as store
from trunkline.verifications.schemas import MAX_ATTEMPTS, PLACEHOLDER, VerificationCreate, VerificationStatus, present
from trunkline.webhooks import outbox

MIN_VALIDITY = 60  # seconds: the shortest an SMS may wait (messages' validity)


def _digest_input(verification_id: int, code: str) -> str:
    return f"{verification_id}:{code}"  # the id binds the digest to one verification: equal codes differ


def start(conn: Connection, org_id: int, body: VerificationCreate, decks: Callable[[int], PricedDeck], box: SecretBox, now: datetime):
    """Store a pending verification and accept the SMS carrying its code (refused, and nothing
    stored, as `messages.service.accept` refuses)."""
    code = f"{secrets.randbelow(10**body.code_length):0{body.code_length}d}"
    text = body.text.replace(PLACEHOLDER, code)
    request = MessageCreate(product=body.product.value, sender=body.sender, to=body.to, text=text, validity=max(body.ttl, MIN_VALIDITY), account_id=body.account_id)
    concealed = messages.Concealed(shown=body.text.replace(PLACEHOLDER, "*" * body.code_length), sealed=box.seal(text))
    [message] = messages.accept(conn, org_id, [request], decks, now, concealed)
    verification_id = ids.new_id()
    row = store.create(conn, {
        "id": verification_id, "org_id": org_id, "recipient": message["recipient"], "product": body.product.value, "sender": body.sender,
        "account_id": body.account_id, "message_id": message["id"], "code_digest": box.digest(_digest_input(verification_id, code)),
        "code_length": body.code_length, "status": VerificationStatus.pending.value, "attempts": 0, "max_attempts": MAX_ATTEMPTS,
        "expires_at": now + timedelta(seconds=body.ttl), "created_at": now, "updated_at": now,
    })
    _announce(conn, row, "created", now)
    return row


def check(conn: Connection, org_id: int, verification_id: int, code: str, box: SecretBox, now: datetime):
    """(the verification after this check, whether this check approved it)."""
    row = store.spend_attempt(conn, org_id, verification_id, now)
    if row is None:
        return _unchecked(conn, org_id, verification_id, now), False
    valid = box.matches(_digest_input(row.id, code), row.code_digest)
    if valid:
        row = _end(conn, row, VerificationStatus.approved, now)
    elif row.attempts >= row.max_attempts:
        row = _end(conn, row, VerificationStatus.failed, now)
    return row, valid


def _unchecked(conn: Connection, org_id: int, verification_id: int, now: datetime):
    """A verification that took no check: as it is, or expired now if its time ran out."""
    row = store.find(conn, org_id, verification_id)
    if row is None:
        raise NotFound("Verification")
    if row.status == VerificationStatus.pending and row.expires_at <= now:
        row = _end(conn, row, VerificationStatus.expired, now)
    return row


def _end(conn: Connection, row, status: VerificationStatus, now: datetime):
    ended = store.end(conn, row.id, status.value, now)
    if ended is None:  # ended meanwhile (the expirer): that stands
        return store.find(conn, row.org_id, row.id)
    _announce(conn, ended, status.value, now)
    return ended


def expire_due(conn: Connection, now: datetime, limit: int = 500) -> int:
    """Expire what ran out of time, each with its `verification.expired` event; how many."""
    rows = store.expire_due(conn, now, limit)
    for row in rows:
        _announce(conn, row, VerificationStatus.expired.value, now)
    return len(rows)


def _announce(conn: Connection, row, what: str, now: datetime) -> None:
    outbox.publish(conn, row.org_id, f"verification.{what}", present(row), now)
