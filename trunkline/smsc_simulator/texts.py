"""Texts as a handset network carries them: MO texts split into concatenated parts, the
text of a submit read back for the control API, and the receipt's standard text."""

from datetime import datetime

from trunkline.smsc_simulator import alphabet

GSM, UCS2 = 0, 8  # data_coding values
SINGLE = {GSM: 160, UCS2: 140}  # what one message holds: septets, or octets of UCS-2
CONCATENATED = {GSM: 153, UCS2: 134}  # the same less the 6-octet UDH (7 septets once padded)
MAX_PARTS = 255


class TooLong(ValueError):
    """More parts than an 8-bit concatenation header can number."""


def parts(text: str, reference: int) -> tuple[int, list[bytes]]:
    """(data_coding, short_message of each part): the GSM alphabet when every character is in
    it, else UCS-2; several parts each open with a UDH (concatenation, 8-bit reference)."""
    units = alphabet.septets(text)
    coding = GSM
    if units is None:
        coding = UCS2
        units = [char.encode("utf-16-be") for char in text]  # a surrogate pair stays in one part
    if sum(map(len, units)) <= SINGLE[coding]:
        return coding, [b"".join(units)]
    chunks = _fill(units, CONCATENATED[coding])
    if len(chunks) > MAX_PARTS:
        raise TooLong(f"{len(chunks)} parts; at most {MAX_PARTS}")
    header = bytes([5, 0, 3, reference & 0xFF, len(chunks)])
    return coding, [header + bytes([number]) + chunk for number, chunk in enumerate(chunks, 1)]


def _fill(units: list[bytes], size: int) -> list[bytes]:
    chunks, current = [], b""
    for unit in units:
        if len(current) + len(unit) > size:
            chunks.append(current)
            current = b""
        current += unit
    return [*chunks, current]


def read(data_coding: int, udh: bool, body: bytes) -> str | None:
    """The text a submit carries (its UDH left out), or None for binary data codings."""
    if udh and body:
        body = body[body[0] + 1 :]
    if data_coding == GSM:
        return alphabet.decode(body)
    if data_coding == 1:
        return body.decode("ascii", "replace")
    if data_coding == 3:
        return body.decode("latin-1")
    if data_coding == UCS2:
        return body.decode("utf-16-be", "replace")
    return None


def receipt(message_id: str, submitted: datetime, done: datetime, stat: str, err: int, text: str) -> bytes:
    """The de facto receipt text (SMPP 3.4 appendix B), in ASCII as SMSCs send it."""
    dlvrd = "001" if stat == "DELIVRD" else "000"
    line = f"id:{message_id} sub:001 dlvrd:{dlvrd} submit date:{submitted:%y%m%d%H%M} done date:{done:%y%m%d%H%M} stat:{stat} err:{err:03d} text:{text[:20]}"
    return line.encode("ascii", "replace")
