"""Delivery receipts: what a deliver_sm says became of a submitted message.

SMPP 3.4 carries a receipt two ways, and SMSCs send either or both:

- the `receipted_message_id` and `message_state` TLVs (5.3.2.12, 5.3.2.35), which win when present;
- the text of appendix B in `short_message` (or `message_payload`):
  `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...`.
  The appendix calls it an example, and SMSCs vary it: fields left out (no sub/dlvrd), `Text:`
  capitalised, err of 2 to 4 digits, dates with seconds or in the absolute-time form
  `YYMMDDhhmmsstnnp`. Each field is read by its name, so order and absence do not matter. Dates
  are kept as written: their zone is the SMSC's and unstated, so the arrival of the receipt is
  the clock to trust.

Every state maps to a fate: delivered, undeliverable, expired, rejected (final), or pending
(not final: ENROUTE, SCHEDLD, and ACCEPTD, which 3.4 calls final but Jasmin sends as soon as it
accepts a message and Kannel reads as "buffered", so a later receipt follows). DELETED, UNKNOWN
and SKIPPED (SMPP 5.0) are final and not delivered: undeliverable.

Message ids: `message_key` turns the id of a submit_sm_resp and the id of its receipt into one key,
whichever of the two forms an SMSC uses where (see there).
"""

import re
from dataclasses import dataclass
from enum import StrEnum


class Fate(StrEnum):
    delivered = "delivered"
    undeliverable = "undeliverable"
    expired = "expired"
    rejected = "rejected"
    pending = "pending"


# The stat words of appendix B, and the long forms and Kannel's "buffered" words some SMSCs send.
FATES = {
    "DELIVRD": Fate.delivered,
    "EXPIRED": Fate.expired,
    "DELETED": Fate.undeliverable,
    "UNDELIV": Fate.undeliverable,
    "ACCEPTD": Fate.pending,
    "UNKNOWN": Fate.undeliverable,
    "REJECTD": Fate.rejected,
    "ENROUTE": Fate.pending,
    "SCHEDLD": Fate.pending,
    "SKIPPED": Fate.undeliverable,
    "DELIVERED": Fate.delivered,
    "UNDELIVERABLE": Fate.undeliverable,
    "ACCEPTED": Fate.pending,
    "REJECTED": Fate.rejected,
    "BUFFRED": Fate.pending,
    "BUFFERD": Fate.pending,
    "ACKED": Fate.pending,
}

# message_state TLV values (SMPP 3.4 5.2.28; 0 and 9 from SMPP 5.0) as their stat words.
MESSAGE_STATES = {0: "SCHEDLD", 1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD", 9: "SKIPPED"}

# esm_class bits 2-5: an SMSC delivery receipt, or an intermediate delivery notification.
RECEIPT_TYPES = (0x04, 0x20)
MESSAGE_TYPE = 0x3C

_FIELD = re.compile(r"(?i)(?:^|(?<=\s))(id|sub|dlvrd|submit date|done date|stat|err|text):\s*")
_LOOKS_LIKE_RECEIPT = re.compile(r"(?is)^id:\s*\S+\s.*\bstat:\s*[A-Z]+")


class ReceiptError(ValueError):
    """A deliver_sm that is a receipt by its esm_class or TLVs, but says no id or no state."""


@dataclass(frozen=True)
class Receipt:
    message_id: str  # as the SMSC wrote it: the TLV's, else the text's
    state: str  # the stat word, DELIVRD …
    fate: Fate
    error: str | None = None  # err:, as written
    submitted: int | None = None  # sub:
    delivered: int | None = None  # dlvrd:
    submit_date: str | None = None
    done_date: str | None = None
    text: str | None = None

    @property
    def key(self) -> str:
        return message_key(self.message_id)

    @property
    def final(self) -> bool:
        return self.fate is not Fate.pending

    @property
    def error_code(self) -> int | None:
        return int(self.error) if self.error and self.error.isdigit() else None


def message_key(message_id: str) -> str:
    """One key for an SMSC's message id, whether written in decimal or in hexadecimal.

    Some SMSCs answer submit_sm with a hex id (`33E95179`) and put the same number in decimal
    into the receipt (`870928761`), others use one form in both. The key is the number in decimal
    without leading zeros: digits only are read as decimal, digits with the letters a-f as hex,
    and anything else (UUIDs, other alphabets) is kept as written.

    The ambiguity: a hex id without a letter (`12345678`, about one in 40 random 8-digit hex ids)
    cannot be told from a decimal one, and is read as decimal, so its decimal receipt
    (`305419896`) gets another key. The session's own correlation also tries the hex reading of
    such ids (`alternative_key`); a store keyed on `message_key` alone misses them. Conversely two
    different ids of an SMSC that writes hex in both places could share a key (`ab` and `171`),
    which takes ids of different lengths; SMSCs give ids of one length.
    """
    cleaned = message_id.strip().strip("\x00")
    if cleaned.isascii() and cleaned.isdigit():
        return str(int(cleaned))
    if cleaned and all(char in "0123456789abcdefABCDEF" for char in cleaned):
        return str(int(cleaned, 16))
    return cleaned


def alternative_key(message_id: str) -> str | None:
    """The key of a digits-only id read as hexadecimal: the second guess for an id that
    `message_key` read as decimal."""
    cleaned = message_id.strip().strip("\x00")
    return str(int(cleaned, 16)) if cleaned.isascii() and cleaned.isdigit() else None


def fate_of(state: str) -> Fate:
    """The fate of a stat word; ReceiptError for a word no SMSC is known to send."""
    try:
        return FATES[state.upper()]
    except KeyError:
        raise ReceiptError(f"unknown receipt state {state!r}") from None


def _fields(text: str) -> dict[str, str]:
    """The named fields of a receipt text: each runs to the next name; `text:` runs to the end."""
    found: dict[str, str] = {}
    marks = list(_FIELD.finditer(text))
    for number, mark in enumerate(marks):
        name = mark.group(1).lower()
        if name in found:
            continue
        if name == "text":
            found[name] = text[mark.end():]
            break
        end = marks[number + 1].start() if number + 1 < len(marks) else len(text)
        found[name] = text[mark.end():end].strip()
    return found


def _count(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def is_receipt(esm_class: int, text: bytes, receipted_message_id: str | None) -> bool:
    """Whether a deliver_sm is a receipt: its esm_class says so, it has a receipted_message_id,
    or (SMSCs that send receipts with esm_class 0) its text is one."""
    if (esm_class & MESSAGE_TYPE) in RECEIPT_TYPES or receipted_message_id:
        return True
    return bool(_LOOKS_LIKE_RECEIPT.match(text.decode("latin-1")))


def parse(text: bytes, receipted_message_id: str | None = None, message_state: int | None = None) -> Receipt:
    """The receipt of a deliver_sm from its text (short_message, or message_payload) and TLVs.
    ReceiptError when neither gives the id or a known state."""
    fields = _fields(text.rstrip(b"\x00").decode("latin-1"))  # some SMSCs end short_message with a C string's NUL
    message_id = receipted_message_id or fields.get("id") or None
    if not message_id:
        raise ReceiptError("receipt without a message id (no receipted_message_id, no id:)")
    state = MESSAGE_STATES.get(message_state) if message_state is not None else None
    state = state or fields.get("stat", "").split(" ")[0].upper() or None
    if state is None:
        raise ReceiptError(f"receipt for {message_id} without a state (no message_state, no stat:)")
    return Receipt(
        message_id=message_id,
        state=state,
        fate=fate_of(state),
        error=fields.get("err") or None,
        submitted=_count(fields.get("sub")),
        delivered=_count(fields.get("dlvrd")),
        submit_date=fields.get("submit date") or None,
        done_date=fields.get("done date") or None,
        text=fields.get("text"),
    )
