"""What the SMSC tells us, applied to messages: segments acknowledged, receipts, inbound texts.

A message is submitted when the SMSC acknowledged every segment, and final when every segment
has a final receipt: delivered if all were delivered, else the state of the first that was not.
A receipt may come before its submit_sm_resp (some SMSCs send both at once, and the receipt
wins the race): it is kept in `early_receipts` and applied when the segment's id is known.
"""

from datetime import datetime

from sqlalchemy import Connection

from trunkline.kit import ids
from trunkline.messages import events
from trunkline.messages import repository as store
from trunkline.messages import service
from trunkline.messages.schemas import MessageStatus
from trunkline.smsc.receipts import Receipt, alternative_key, message_key

PART_FINAL = frozenset({"delivered", "undeliverable", "expired", "rejected"})


def submitted(conn: Connection, message, connection_id: int, smsc_ids: list[str], now: datetime) -> None:
    """Every segment of `message` acknowledged, with the SMSC's ids as it gave them, in order."""
    keys = [(message_key(smsc_id), alternative_key(smsc_id)) for smsc_id in smsc_ids]
    store.add_parts(conn, message.id, connection_id, keys, "submitted", now)
    store.set_status(conn, message.id, {"status": MessageStatus.submitted.value, "next_attempt_at": None, "claimed_until": None, "error_code": None, "error": None, "sealed_text": None}, now)
    store.add_events(conn, [(message.id, MessageStatus.submitted.value, None, f"SMSC id {', '.join(smsc_ids)}")], now)
    events.announce(conn, message.org_id, [message.id], MessageStatus.submitted.value, now)
    early = {row.smsc_id: row for row in store.take_early_receipts(conn, connection_id, [key for pair in keys for key in pair if key])}
    for seq, (key, alt) in enumerate(keys, 1):
        row = early.get(key) or early.get(alt)
        if row is not None:
            store.set_part(conn, message.id, seq, row.status, row.error_code, now)
    if early:
        _settle(conn, message.id, now)


def receipt(conn: Connection, connection_id: int, found: Receipt, now: datetime) -> None:
    """A delivery receipt on the connection: a final one settles its segment (and the message
    once every segment is settled); one on the way is kept on the segment only."""
    part = store.part_by_smsc_id(conn, connection_id, found.key)
    if part is None:
        store.keep_early_receipt(conn, connection_id, found.key, found.fate.value, found.error_code, now)
        return
    if part.status in PART_FINAL:  # settled: a late or repeated receipt changes nothing
        return
    store.set_part(conn, part.message_id, part.seq, found.fate.value, found.error_code, now)
    _settle(conn, part.message_id, now)


def _settle(conn: Connection, message_id: int, now: datetime) -> None:
    parts = store.parts_of(conn, message_id)
    if not all(part.status in PART_FINAL for part in parts):
        return
    worst = next((part for part in parts if part.status != "delivered"), None)
    message = conn.execute(store.table.select().where(store.c.id == message_id)).first()
    status = MessageStatus(worst.status) if worst else MessageStatus.delivered
    service.finish(conn, message, status, worst and worst.error_code, None, now)


def inbound(conn: Connection, org_id: int, sender: str, recipient: str, text: str, encoding: str, segments: int, now: datetime) -> int:
    """An inbound (MO) text to one of the organization's numbers, stored `received`; a STOP-like
    word puts the sender on the organization's opt-out list. Its id."""
    message_id = ids.new_id()
    store.create(conn, [{
        "id": message_id, "org_id": org_id, "direction": "in", "product": "GMS", "sender": sender, "recipient": recipient, "text": text,
        "encoding": encoding, "segments": segments, "status": MessageStatus.received.value, "attempts": 0, "created_at": now, "updated_at": now, "done_at": now,
    }], now)
    events.announce(conn, org_id, [message_id], MessageStatus.received.value, now)
    word = service.opt_out_word(text)
    if word is not None:
        store.opt_out(conn, org_id, sender, word, now)
    return message_id
