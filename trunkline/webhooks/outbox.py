"""Publishing: an event and its deliveries are written in the caller's transaction, so an event
exists exactly when the change it reports was committed, and the dispatcher (a separate
transaction, later) delivers it at least once.

`publish` is called on hot paths (every message state, every rated call). Each organization's
subscriptions are kept in memory for `FRESH_FOR` seconds, so when no webhook takes the event
type, publishing is a dictionary lookup and no database round trip. Changes made in this
process are seen at once (`service.changing` forgets the organization when they commit);
changes made by another server process, within `FRESH_FOR` seconds.
"""

import time
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, insert, select

from trunkline.db.tables import webhook_deliveries, webhook_events, webhooks
from trunkline.kit import ids
from trunkline.webhooks.schemas import DeliveryStatus, covers

FRESH_FOR = 2.0  # seconds
w = webhooks.c
# Statements built once: building a Core statement costs more than running these on SQLite.
_ENABLED = select(w.id, w.event_types).where(w.org_id == bindparam("org_id"), w.enabled)
_LIVE = select(w.id).where(w.id.in_(bindparam("targets", expanding=True)), w.enabled).with_for_update(read=True, key_share=True)
_EVENT, _DELIVERIES = insert(webhook_events), insert(webhook_deliveries)
_encode = msgspec.json.Encoder(decimal_format="number").encode
# org id -> (time.monotonic() until which it holds, ((webhook id, its event type patterns), ...))
_subscriptions: dict[int, tuple[float, tuple[tuple[int, list[str]], ...]]] = {}


def forget(org_id: int) -> None:
    """Read the organization's subscriptions again at its next event."""
    _subscriptions.pop(org_id, None)


def _subscribers(conn: Connection, org_id: int, event_type: str) -> list[int]:
    now = time.monotonic()
    known = _subscriptions.get(org_id)
    if known is None or known[0] <= now:
        known = (now + FRESH_FOR, tuple((row.id, row.event_types) for row in conn.execute(_ENABLED, {"org_id": org_id})))
        _subscriptions[org_id] = known
    return [webhook_id for webhook_id, patterns in known[1] if covers(patterns, event_type)]


def subscribed(conn: Connection, org_id: int, event_type: str) -> bool:
    """Whether an enabled webhook of the organization takes `event_type`: a caller may skip
    building a payload nobody receives."""
    return bool(_subscribers(conn, org_id, event_type))


def publish(conn: Connection, org_id: int, event_type: str, payload: dict[str, Any], now: datetime, also: tuple[int, ...] = ()) -> int | None:
    """Record the event for every enabled webhook of the organization that subscribes to
    `event_type`, and for the webhooks `also` names (a message's callback_url) whatever they
    subscribe to, each once, in `conn`'s transaction; `payload` becomes the envelope's `data`
    (JSON-able: str, numbers, Decimal, datetime, lists, dicts). The event's id, or None when no
    webhook takes it."""
    targets = _subscribers(conn, org_id, event_type)
    targets += [webhook_id for webhook_id in also if webhook_id not in targets]
    if not targets:
        return None
    written = _write(conn, org_id, event_type, payload, now, targets)
    return written[0] if written else None


def publish_to(conn: Connection, org_id: int, webhook_id: int, event_type: str, payload: dict[str, Any], now: datetime) -> int | None:
    """Record an event for one webhook only, whatever it subscribes to (the test event); the
    delivery's id, or None when the webhook is not enabled."""
    written = _write(conn, org_id, event_type, payload, now, [webhook_id])
    return written[1][0] if written else None


def redeliver(conn: Connection, org_id: int, webhook_id: int, event_id: int, event_type: str, now: datetime) -> int:
    """A new delivery of a stored event, due now (a replay); its id."""
    delivery_id = ids.new_id()
    conn.execute(_DELIVERIES, [_delivery(delivery_id, org_id, webhook_id, event_id, event_type, now)])
    return delivery_id


def _write(conn: Connection, org_id: int, event_type: str, payload: dict[str, Any], now: datetime, targets: list[int]) -> tuple[int, list[int]] | None:
    """(event id, delivery ids) for those of `targets` still enabled, or None when none is.
    On PostgreSQL the webhooks are share-locked until commit, so one deleted meanwhile waits
    for this transaction instead of failing it."""
    live = conn.execute(_LIVE, {"targets": targets}).scalars().all()
    if not live:
        return None
    event_id = ids.new_id()
    body = _encode({"type": event_type, "timestamp": now, "data": payload}).decode()
    conn.execute(_EVENT, {"id": event_id, "org_id": org_id, "type": event_type, "body": body, "created_at": now})
    delivery_ids = ids.generator.many(len(live))
    conn.execute(_DELIVERIES, [_delivery(delivery_id, org_id, webhook_id, event_id, event_type, now) for delivery_id, webhook_id in zip(delivery_ids, live, strict=True)])
    return event_id, delivery_ids


def _delivery(delivery_id: int, org_id: int, webhook_id: int, event_id: int, event_type: str, now: datetime) -> dict[str, Any]:
    return {
        "id": delivery_id,
        "org_id": org_id,
        "webhook_id": webhook_id,
        "event_id": event_id,
        "event_type": event_type,
        "status": DeliveryStatus.pending.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
