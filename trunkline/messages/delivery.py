"""What the SMSC tells us, applied to messages: segments acknowledged, receipts, inbound texts.

A message is submitted when the SMSC acknowledged every segment, and final when every segment
has a final receipt: delivered if all were delivered, else the state of the first that was not.
A receipt may come before its submit_sm_resp (some SMSCs send both at once, and the receipt
wins the race): it is kept in `early_receipts` and applied when the segment's id is known.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from trunkline.kit import ids
from trunkline.messages import events, service
from trunkline.messages import repository as store
from trunkline.messages.schemas import MessageStatus
from trunkline.smsc.receipts import Receipt, alternative_key, message_key

PART_FINAL = frozenset({"delivered", "undeliverable", "expired", "rejected"})


@dataclass(frozen=True)
class Acknowledged:
    """Every segment of `message` acknowledged on the connection, with the SMSC's ids as it gave them, in order."""

    message: object
    connection_id: int
    smsc_ids: list[str]


def submitted(conn: Connection, acknowledged: list[Acknowledged], now: datetime) -> None:
    """Messages submitted, their segments kept by the keys of the SMSC's ids; receipts that came
    before the acknowledgement are applied now."""
    parts = [
        {"message_id": ack.message.id, "seq": seq, "connection_id": ack.connection_id, "smsc_id": message_key(smsc_id), "smsc_alt_id": alternative_key(smsc_id),
         "status": "submitted", "updated_at": now}
        for ack in acknowledged for seq, smsc_id in enumerate(ack.smsc_ids, 1)
    ]
    store.add_parts(conn, parts)
    store.mark_submitted(conn, [ack.message.id for ack in acknowledged], now)
    store.add_events(conn, [(ack.message.id, MessageStatus.submitted.value, None, f"SMSC id {', '.join(ack.smsc_ids)}") for ack in acknowledged], now)
    events.announce(conn, [(ack.message.org_id, ack.message.id, MessageStatus.submitted.value) for ack in acknowledged], now)
    _apply_early(conn, parts, now)


def _apply_early(conn: Connection, parts: list[dict], now: datetime) -> None:
    by_connection: dict[int, list[dict]] = {}
    for part in parts:
        by_connection.setdefault(part["connection_id"], []).append(part)
    changes = []
    for connection_id, held in by_connection.items():
        early = {row.smsc_id: row for row in store.take_early_receipts(conn, connection_id, [key for part in held for key in (part["smsc_id"], part["smsc_alt_id"]) if key])}
        for part in held if early else ():
            row = early.get(part["smsc_id"]) or early.get(part["smsc_alt_id"])
            if row is not None:
                changes.append({"message_id": part["message_id"], "seq": part["seq"], "status": row.status, "error_code": row.error_code})
    if changes:
        store.set_parts(conn, changes, now)
        _settle(conn, {change["message_id"] for change in changes}, now)


def receipts(conn: Connection, found: list[tuple[int, Receipt]], now: datetime) -> None:
    """Delivery receipts, each with the connection it came on, in arrival order: a final one
    settles its segment (and its message once every segment is settled), one on the way is
    kept on the segment only, and a late or repeated one changes nothing. A receipt for an id
    no segment has yet is kept for its acknowledgement (`submitted`)."""
    by_connection: dict[int, list[Receipt]] = {}
    for connection_id, receipt in found:
        by_connection.setdefault(connection_id, []).append(receipt)
    changes: dict[tuple[int, int], dict] = {}
    for connection_id, arrived in by_connection.items():
        parts = store.parts_by_smsc_id(conn, connection_id, list({receipt.key for receipt in arrived}))
        for receipt in arrived:
            part = parts.get(receipt.key)
            if part is None:
                store.keep_early_receipt(conn, connection_id, receipt.key, receipt.fate.value, receipt.error_code, now)
                continue
            spot = (part.message_id, part.seq)
            if changes.get(spot, {"status": part.status})["status"] in PART_FINAL:
                continue
            changes[spot] = {"message_id": part.message_id, "seq": part.seq, "status": receipt.fate.value, "error_code": receipt.error_code}
    if changes:
        store.set_parts(conn, list(changes.values()), now)
        _settle(conn, {message_id for message_id, _ in changes}, now)


def _settle(conn: Connection, message_ids: set[int], now: datetime) -> None:
    """End the messages whose segments are all settled: delivered if every one was, else the
    state of the first that was not."""
    ready = {message_id: parts for message_id, parts in store.parts_of(conn, message_ids).items() if all(part.status in PART_FINAL for part in parts)}
    if not ready:
        return
    endings = []
    for message in store.by_ids(conn, ready):
        worst = next((part for part in ready[message.id] if part.status != "delivered"), None)
        endings.append(service.Ending(message, MessageStatus(worst.status) if worst else MessageStatus.delivered, worst and worst.error_code))
    service.finish(conn, endings, now)


def inbound(conn: Connection, org_id: int, sender: str, recipient: str, text: str, encoding: str, segments: int, now: datetime) -> int:
    """An inbound (MO) text to one of the organization's numbers, stored `received`; a STOP-like
    word puts the sender on the organization's opt-out list. Its id."""
    message_id = ids.new_id()
    store.create(conn, [{
        "id": message_id, "org_id": org_id, "direction": "in", "product": "GMS", "sender": sender, "recipient": recipient, "text": text,
        "encoding": encoding, "segments": segments, "status": MessageStatus.received.value, "attempts": 0, "created_at": now, "updated_at": now, "done_at": now,
    }], now)
    events.announce(conn, [(org_id, message_id, MessageStatus.received.value)], now)
    word = service.opt_out_word(text)
    if word is not None:
        store.opt_out(conn, org_id, sender, word, now)
    return message_id
