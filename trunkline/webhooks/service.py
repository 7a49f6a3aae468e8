"""Webhook policy: URLs reach public addresses only (unless the operator allows others), the
signing secret is sealed at rest and shown once, re-enabling clears the reason a webhook was
disabled, and test events and replays go to enabled webhooks."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from trunkline.kit import ids
from trunkline.kit.failures import Conflict, Invalid, NotFound
from trunkline.kit.secretbox import SecretBox
from trunkline.webhooks import addresses, outbox, signing
from trunkline.webhooks import repository as store
from trunkline.webhooks.schemas import EventType

CALLBACK_DESCRIPTION = "Made for messages' callback_url: hears only their message.* events; rotate the secret to verify signatures"


@contextmanager
def changing(db: Engine, org_id: int) -> Iterator[Connection]:
    """A transaction that changes the organization's webhooks; this process publishes by the
    change as soon as it commits."""
    with db.begin() as conn:
        yield conn
    outbox.forget(org_id)


def create(conn: Connection, org_id: int, values: dict[str, Any], box: SecretBox, allow_private: bool, now: datetime, field: str = "url") -> tuple[int, str]:
    """The new webhook's id and its signing secret (to show once); a refused URL is named as `field`."""
    addresses.check(values["url"], allow_private, field)
    secret = signing.new_secret()
    return store.create(conn, org_id, values, box.seal(secret), now), secret


def callback(conn: Connection, org_id: int, url: str, box: SecretBox, allow_private: bool, now: datetime) -> int:
    """The webhook that delivers the events of messages sent with `url` as their callback_url:
    the organization's webhook with that URL, whose secret signs them (a client that verifies
    signatures registers it first, with no event types), or else a new one with no event types,
    whose secret is learnt by rotating it."""
    found = store.by_url(conn, org_id, url)
    if found is not None:
        return found
    values = {"url": url, "event_types": [], "description": CALLBACK_DESCRIPTION, "enabled": True}
    return create(conn, org_id, values, box, allow_private, now, field="callback_url")[0]


def change(conn: Connection, org_id: int, webhook_id: int, values: dict[str, Any], allow_private: bool, now: datetime) -> None:
    find(conn, org_id, webhook_id)
    if "url" in values:
        addresses.check(values["url"], allow_private)
    if values.get("enabled"):
        values = {**values, "disabled_reason": None}
    store.change(conn, org_id, webhook_id, values, now)


def rotate(conn: Connection, org_id: int, webhook_id: int, box: SecretBox, now: datetime) -> str:
    """A new signing secret (to show once); the current one keeps signing beside it for a day."""
    current = find(conn, org_id, webhook_id)
    secret = signing.new_secret()
    store.change(conn, org_id, webhook_id, {"secret": box.seal(secret), "previous_secret": current.secret, "previous_until": now + signing.ROTATION_OVERLAP}, now)
    return secret


def remove(conn: Connection, org_id: int, webhook_id: int) -> None:
    if not store.remove(conn, org_id, webhook_id):
        raise NotFound("Webhook")


def send_test(conn: Connection, org_id: int, webhook_id: int, message: str, now: datetime) -> int:
    """A `webhook.test` event for this webhook alone; its delivery's id."""
    _enabled(find(conn, org_id, webhook_id))
    return outbox.publish_to(conn, org_id, webhook_id, EventType.webhook_test.value, {"webhook_id": ids.encode(webhook_id), "message": message}, now)


def replay(conn: Connection, org_id: int, webhook_id: int, event_api_id: str, now: datetime) -> int:
    """A new delivery of an event the webhook was sent before (the same event id, so the same
    webhook-id); its id."""
    _enabled(find(conn, org_id, webhook_id))
    sent = store.sent_event(conn, org_id, webhook_id, ids.decode(event_api_id) or -1)
    if sent is None:
        raise Invalid.fields({"name": "event_id", "reason": "this webhook was never sent such an event"})
    return outbox.redeliver(conn, org_id, webhook_id, sent.event_id, sent.event_type, now)


def find(conn: Connection, org_id: int, webhook_id: int):
    row = store.find(conn, org_id, webhook_id)
    if row is None:
        raise NotFound("Webhook")
    return row


def _enabled(row) -> None:
    if not row.enabled:
        raise Conflict("The webhook is disabled: enable it (enabled: true) first", code="WEBHOOK_DISABLED")
