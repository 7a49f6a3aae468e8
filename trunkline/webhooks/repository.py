"""Webhook rows, and a webhook's deliveries."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from trunkline.db.tables import webhook_deliveries, webhook_events
from trunkline.db.tables import webhooks as table
from trunkline.kit import ids, lookup

c, d = table.c, webhook_deliveries.c


def create(conn: Connection, org_id: int, values: dict[str, Any], sealed_secret: str, now: datetime) -> int:
    webhook_id = ids.new_id()
    conn.execute(insert(table).values(id=webhook_id, org_id=org_id, secret=sealed_secret, created_at=now, updated_at=now, **values))
    return webhook_id


def change(conn: Connection, org_id: int, webhook_id: int, values: dict[str, Any], now: datetime) -> None:
    conn.execute(update(table).where(c.id == webhook_id, c.org_id == org_id).values(updated_at=now, **values))


def remove(conn: Connection, org_id: int, webhook_id: int) -> bool:
    """Delete the webhook with its deliveries and their attempts (the foreign keys cascade)."""
    return lookup.remove(conn, table, org_id, webhook_id)


def by_url(conn: Connection, org_id: int, url: str) -> int | None:
    """The id of the organization's oldest webhook with this URL."""
    return conn.execute(select(c.id).where(c.org_id == org_id, c.url == url).order_by(c.id).limit(1)).scalar()


def find(conn: Connection, org_id: int, webhook_id: int):
    return lookup.by_id(conn, table, org_id, webhook_id)


def delivery(conn: Connection, org_id: int, webhook_id: int, delivery_id: int):
    """The webhook's delivery with its event's body, or None."""
    return conn.execute(
        select(webhook_deliveries, webhook_events.c.body)
        .join(webhook_events, webhook_events.c.id == d.event_id)
        .where(d.id == delivery_id, d.webhook_id == webhook_id, d.org_id == org_id)
    ).first()


def sent_event(conn: Connection, org_id: int, webhook_id: int, event_id: int):
    """(event_id, event_type) of an event the webhook had a delivery of, or None."""
    return conn.execute(
        select(d.event_id, d.event_type).where(d.event_id == event_id, d.webhook_id == webhook_id, d.org_id == org_id).limit(1)
    ).first()
