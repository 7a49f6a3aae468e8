"""message.* webhook events: each state a message reaches, published in the transaction that
records it (see webhooks.outbox), with the message as the API shows it."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select

from trunkline.messages import repository as store
from trunkline.messages.schemas import present
from trunkline.webhooks import outbox


def announce(conn: Connection, changes: Iterable[tuple[int, int, str]], now: datetime) -> None:
    """Publish `message.<status>` for each (organization id, message id, status); the messages
    are read once per organization and status that a webhook takes, and not at all otherwise."""
    grouped: dict[tuple[int, str], list[int]] = {}
    for org_id, message_id, status in changes:
        grouped.setdefault((org_id, status), []).append(message_id)
    for (org_id, status), message_ids in grouped.items():
        event_type = f"message.{status}"
        if not outbox.subscribed(conn, org_id, event_type):
            continue
        for row in conn.execute(select(store.table).where(store.c.id.in_(message_ids)).order_by(store.c.id)):
            outbox.publish(conn, org_id, event_type, present(row), now)
