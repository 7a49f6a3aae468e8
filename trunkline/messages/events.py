"""message.* webhook events: each state a message reaches, published in the transaction that
records it (see webhooks.outbox), with the message as the API shows it."""

from datetime import datetime

from sqlalchemy import Connection, select

from trunkline.messages import repository as store
from trunkline.messages.schemas import present
from trunkline.webhooks import outbox


def announce(conn: Connection, org_id: int, message_ids: list[int], status: str, now: datetime) -> None:
    """Publish `message.<status>` for each message; nothing is read when no webhook takes it."""
    event_type = f"message.{status}"
    if not message_ids or not outbox.subscribed(conn, org_id, event_type):
        return
    for row in conn.execute(select(store.table).where(store.c.id.in_(message_ids)).order_by(store.c.id)):
        outbox.publish(conn, org_id, event_type, present(row), now)
