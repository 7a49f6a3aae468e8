"""What the switches put on the wire, rebuilt from their C source, independently of Trunkline's
decoders, so that a decoding bug cannot cancel itself out.

FreeSWITCH `switch_url_encode_opt` (src/switch_utils.c): bytes below 0x20 or above 0x7E and
those in SWITCH_URL_UNSAFE become `%XX` with upper-case hex; unless `double_encode`, a `%`
followed by two upper-case hex digits is left as it is. mod_json_cdr calls it without double
encoding, mod_xml_cdr with it. Both POST `cdr=<text>`; base64 bodies use the standard alphabet
with padding, unescaped.
"""

import base64
import json

UNSAFE = b"\r\n #%&+:;<=>?@[\\]^`{|}\""
HEX = b"0123456789ABCDEF"


def switch_url_encode(text: str, double_encode: bool = False) -> str:
    data = text.encode("utf-8")
    out = bytearray()
    last = len(data) - 1
    for at, byte in enumerate(data):
        kept = not double_encode and byte == ord("%") and last - at > 1 and data[at + 1] in HEX and data[at + 2] in HEX
        if not kept and (byte < 0x20 or byte > 0x7E or byte in UNSAFE):
            out += b"%" + HEX[byte >> 4 : (byte >> 4) + 1] + HEX[byte & 15 : (byte & 15) + 1]
        else:
            out.append(byte)
    return out.decode("ascii")


def unformatted(document: str) -> str:
    """A JSON CDR as cJSON_PrintUnformatted writes it (mod_json_cdr sends that, not a file's layout)."""
    return json.dumps(json.loads(document), separators=(",", ":"), ensure_ascii=False)


def mod_json_cdr(document: str, encode: str) -> tuple[str, str]:
    """(Content-Type, body) that mod_json_cdr POSTs with `encode` = false, true or base64."""
    text = unformatted(document)
    if encode == "false":
        return "application/json", text
    if encode == "true":
        return "application/x-www-form-urlencoded", "cdr=" + switch_url_encode(text)
    return "application/x-www-form-base64-encoded", "cdr=" + base64.b64encode(text.encode()).decode()


def mod_xml_cdr(document: str, encode: str) -> tuple[str, str]:
    """(Content-Type, body) that mod_xml_cdr POSTs with `encode` = textxml, true, false or base64;
    "true-before-2015" is `true` before FS-7258 (commit 49778c34e5, June 2015), which encoded once."""
    if encode == "textxml":
        return "text/xml", document
    if encode == "true":
        return "application/x-www-form-urlencoded", "cdr=" + switch_url_encode(document, double_encode=True)
    if encode == "true-before-2015":
        return "application/x-www-form-urlencoded", "cdr=" + switch_url_encode(document)
    if encode == "false":
        return "application/x-www-form-plaintext", "cdr=" + document
    return "application/x-www-form-base64-encoded", "cdr=" + base64.b64encode(document.encode()).decode()


JSON_ENCODINGS = ("false", "true", "base64")
XML_ENCODINGS = ("textxml", "true", "true-before-2015", "false", "base64")
