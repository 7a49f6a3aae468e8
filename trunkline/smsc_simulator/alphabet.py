"""The GSM 03.38 default alphabet as SMPP carries it: one unpacked septet per byte, the
extension table behind the escape 0x1B. smpp.pdu has no such codec, and borrowing the
client's would let a shared mistake go unseen."""

ESCAPE = 0x1B
BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€"}

_CODES = {char: bytes([code]) for code, char in enumerate(BASIC) if code != ESCAPE}
_CODES.update({char: bytes([ESCAPE, code]) for code, char in EXTENSION.items()})


def septets(text: str) -> list[bytes] | None:
    """Each character's code (one byte, or two for the extension table), so that a text is
    split between messages without cutting an escape off its character; None when a
    character is not in the alphabet."""
    codes = [_CODES.get(char) for char in text]
    return None if None in codes else codes


def decode(data: bytes) -> str:
    """Text from unpacked septets; what is not a septet becomes '?'."""
    chars, escaped = [], False
    for byte in data:
        if escaped:
            chars.append(EXTENSION.get(byte) or (BASIC[byte] if byte < 0x80 else "?"))  # 03.38: an unknown extension shows as the basic character
            escaped = False
        elif byte == ESCAPE:
            escaped = True
        else:
            chars.append(BASIC[byte] if byte < 0x80 else "?")
    return "".join(chars)
