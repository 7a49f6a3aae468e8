"""message.* webhook events: each state a message reaches, published in the transaction that
records it (see webhooks.outbox), with the message as the API shows it, to the organization's
webhooks that take the event and to the message's own callback_url."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select

from trunkline.messages import repository as store
from trunkline.messages.schemas import present
from trunkline.webhooks import outbox


def announce(conn: Connection, changes: Iterable[tuple[int, int, str]], now: datetime) -> None:
    """Publish `message.<status>` for each (organization id, message id, status). The messages
    are read once per organization and status: all of them when a webhook takes the event,
    else only those with a callback_url (usually none, found by their primary keys)."""
    grouped: dict[tuple[int, str], list[int]] = {}
    for org_id, message_id, status in changes:
        grouped.setdefault((org_id, status), []).append(message_id)
    for (org_id, status), message_ids in grouped.items():
        event_type = f"message.{status}"
        query = select(store.table).where(store.c.id.in_(message_ids)).order_by(store.c.id)
        if not outbox.subscribed(conn, org_id, event_type):
            query = query.where(store.c.callback_id.is_not(None))
        for row in conn.execute(query):
            outbox.publish(conn, org_id, event_type, present(row), now, also=() if row.callback_id is None else (row.callback_id,))
