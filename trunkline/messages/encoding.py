"""SMS text as SMPP 3.4 carries it: the GSM 7-bit default alphabet or UCS-2 (3GPP TS 23.038),
concatenated with a user data header (3GPP TS 23.040 §9.2.3.24).

`measure` (what the API shows before sending) and `encode` (what the SMPP sender submits) split
the text with the same function, so the segment count shown is the count sent and billed.
`decode` reads what an SMSC delivers and never raises: its input is whatever arrives on the wire.
"""

from dataclasses import dataclass

# The GSM 7-bit default alphabet (TS 23.038 §6.2.1), indexed by septet: one line per column of
# the standard's table. 0x1B is the escape to the extension table, not a character; it holds its
# place here only so that the index of every other character is its septet.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
ESC = 0x1B
# The default alphabet extension table (TS 23.038 §6.2.1.1): each is sent as ESC then its septet.
GSM7_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}

GSM7_SINGLE, GSM7_CONCATENATED = 160, 153  # septets: 140 octets, less 7 septets for a 6-octet UDH
UCS2_SINGLE, UCS2_CONCATENATED = 70, 67  # UTF-16 code units: 140 octets, less the 6-octet UDH
MAX_SEGMENTS = 255  # the concatenation IE counts parts in one octet

REPLACEMENT = "\ufffd"
_SEPTETS = {char: septet for septet, char in enumerate(GSM7_BASIC) if septet != ESC}
_EXTENDED = {septet: char for char, septet in GSM7_EXTENSION.items()}


@dataclass(frozen=True)
class Measure:
    encoding: str  # "GSM7" or "UCS2"
    units: int  # septets (an extension character is 2) or UTF-16 code units (beyond the BMP is 2)
    segments: int
    per_segment: int  # the units one segment holds: 160/153 for GSM7, 70/67 for UCS2


@dataclass(frozen=True)
class Encoded:
    data_coding: int  # SMPP data_coding: 0 the GSM default alphabet, 8 UCS-2
    esm_class_udhi: bool  # each part starts with a UDH
    parts: list[bytes]  # one submit_sm short_message each, in order


@dataclass(frozen=True)
class Decoded:
    text: str
    concat: tuple[int, int, int] | None  # (reference, total, sequence) when the message is one part of several


def _cost(char: str, gsm7: bool) -> int:
    if gsm7:
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def _split(text: str) -> tuple[bool, int, list[str]]:
    """Whether the text is GSM7, its units, and its segments. Splitting between characters, never
    inside one, keeps an escape pair or a surrogate pair whole, at the price of a part one unit short
    (which is why the count can exceed the units divided by 153 or 67)."""
    gsm7 = all(char in _SEPTETS or char in GSM7_EXTENSION for char in text)
    units = sum(_cost(char, gsm7) for char in text)
    if units <= (GSM7_SINGLE if gsm7 else UCS2_SINGLE):
        return gsm7, units, [text]
    room = GSM7_CONCATENATED if gsm7 else UCS2_CONCATENATED
    parts, start, filled = [], 0, 0
    for index, char in enumerate(text):
        cost = _cost(char, gsm7)
        if filled + cost > room:
            parts.append(text[start:index])
            start, filled = index, 0
        filled += cost
    parts.append(text[start:])
    return gsm7, units, parts


def measure(text: str) -> Measure:
    """Encoding, size and segment count, as `encode` would send it: what the customer is shown and billed."""
    gsm7, units, parts = _split(text)
    if gsm7:
        return Measure("GSM7", units, len(parts), GSM7_SINGLE if len(parts) == 1 else GSM7_CONCATENATED)
    return Measure("UCS2", units, len(parts), UCS2_SINGLE if len(parts) == 1 else UCS2_CONCATENATED)


def _gsm7_bytes(text: str) -> bytes:
    """One septet per octet, unpacked: what SMPP data_coding 0 carries (the SMSC packs)."""
    return b"".join(bytes((ESC, GSM7_EXTENSION[char])) if char in GSM7_EXTENSION else bytes((_SEPTETS[char],)) for char in text)


def encode(text: str, reference: int) -> Encoded:
    """The submit_sm payloads for `text`. `reference` ties the parts together on the handset (only its
    low octet is sent), so concurrent long messages to one number need different references.
    Raises ValueError past MAX_SEGMENTS parts, or on a lone surrogate (not text; JSON bodies refuse it)."""
    gsm7, _, parts = _split(text)
    if len(parts) > MAX_SEGMENTS:
        raise ValueError(f"the text needs {len(parts)} segments; at most {MAX_SEGMENTS} can be concatenated")
    payloads = [_gsm7_bytes(part) if gsm7 else part.encode("utf-16-be") for part in parts]
    if len(payloads) > 1:
        payloads = [bytes((5, 0x00, 3, reference & 0xFF, len(payloads), sequence)) + payload for sequence, payload in enumerate(payloads, 1)]
    return Encoded(0 if gsm7 else 8, len(payloads) > 1, payloads)


def _split_udh(payload: bytes) -> tuple[bytes, tuple[int, int, int] | None]:
    """The user data after the header, and the concatenation IE (8- or 16-bit reference) if the header
    has a valid one. Other IEs, and a header cut short, are passed over."""
    if not payload:
        return payload, None
    header, body = payload[1 : 1 + payload[0]], payload[1 + payload[0] :]
    concat, at = None, 0
    while at + 2 <= len(header):
        identifier, length = header[at], header[at + 1]
        data = header[at + 2 : at + 2 + length]
        if len(data) < length:
            break
        if (identifier, length) in ((0x00, 3), (0x08, 4)):
            reference, total, sequence = int.from_bytes(data[:-2], "big"), data[-2], data[-1]
            if 1 <= sequence <= total:  # TS 23.040 says to ignore the IE otherwise
                concat = (reference, total, sequence)
        at += 2 + length
    return body, concat


def _basic(septet: int) -> str:
    return GSM7_BASIC[septet] if septet < 0x80 else REPLACEMENT


def _gsm7_text(payload: bytes) -> str:
    """Unpacked septets. ESC before a septet the extension table lacks gives the basic character, and
    ESC ESC a space, as TS 23.038 tells a receiver to show them."""
    chars, escaped = [], False
    for septet in payload:
        if escaped:
            chars.append(" " if septet == ESC else _EXTENDED.get(septet) or _basic(septet))
            escaped = False
        elif septet == ESC:
            escaped = True
        else:
            chars.append(_basic(septet))
    if escaped:
        chars.append(REPLACEMENT)
    return "".join(chars)


def decode(data_coding: int, payload: bytes, udhi: bool) -> Decoded:
    """The text of a deliver_sm. Never raises: bytes that do not decode become U+FFFD, so a hostile or
    broken SMSC cannot stop the receiver. data_coding 0 is the GSM default alphabet unpacked, 1 IA5
    (ASCII), 3 Latin-1, 8 UTF-16-BE (surrogate pairs give characters beyond the BMP); any other is
    read as ASCII, which keeps what is legible of an unexpected coding."""
    body, concat = _split_udh(payload) if udhi else (payload, None)
    if data_coding == 0:
        text = _gsm7_text(body)
    elif data_coding == 3:
        text = body.decode("latin-1")
    elif data_coding == 8:
        text = body.decode("utf-16-be", errors="replace")
    else:
        text = body.decode("ascii", errors="replace")
    return Decoded(text, concat)
