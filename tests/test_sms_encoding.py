"""SMS encoding and segments (`trunkline.messages.encoding`): worked examples, the counter checked
against a reference built on the independent `gsm0338` codec, round trips, and `decode` on hostile bytes."""

from dataclasses import astuple

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkline.messages.encoding import GSM7_BASIC, GSM7_EXTENSION, Decoded, Encoded, Measure, decode, encode, measure

EMOJI = "\U0001f600"  # 😀, beyond the BMP: a surrogate pair in UTF-16


def reference(text: str) -> tuple[str, int, int, int]:
    """(encoding, units, segments, per_segment), written apart from the module: the gsm0338 codec
    decides the alphabet and gives the septets, and the segments come from cutting the encoded
    bytes greedily, one unit shorter where a cut would end a part on ESC or a high surrogate."""
    encoding, data, width = alphabet(text)
    single, multi = (160, 153) if encoding == "GSM7" else (70, 67)
    if len(data) <= single * width:
        return encoding, len(data) // width, 1, single
    segments, start = 0, 0
    while start < len(data):
        end = min(start + multi * width, len(data))
        if end < len(data) and (data[end - 1] == 0x1B if width == 1 else 0xD8 <= data[end - 2] <= 0xDB):
            end -= width
        segments, start = segments + 1, end
    return encoding, len(data) // width, segments, multi


def alphabet(text: str) -> tuple[str, bytes, int]:
    """The encoding, the encoded bytes and the bytes per unit. The codec maps U+001B to the escape code
    itself; that is no character of the alphabet, so it makes the text UCS-2."""
    if "\x1b" not in text:
        try:
            return "GSM7", text.encode("gsm03.38"), 1
        except UnicodeEncodeError:
            pass
    return "UCS2", text.encode("utf-16-be"), 2


def extension_char(septet: int) -> str | None:
    try:
        return bytes((0x1B, septet)).decode("gsm03.38")
    except UnicodeDecodeError:
        return None


CODEC_BASIC = [bytes((septet,)).decode("gsm03.38") for septet in range(128) if septet != 0x1B]
CODEC_EXTENSION = [char for char in map(extension_char, range(128)) if char]
KINDS = {
    "basic": st.sampled_from(CODEC_BASIC),
    "extension": st.sampled_from(CODEC_EXTENSION),
    # Near misses among them: ç (only Ç is in the alphabet), á, U+001B.
    "bmp": st.one_of(
        st.characters(min_codepoint=0xA0, max_codepoint=0x17F),  # Latin-1 and Latin Extended-A
        st.characters(min_codepoint=0x400, max_codepoint=0x4FF),  # Cyrillic
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
        st.just("\x1b"),
    ),
    "astral": st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
}
BOUNDARIES = [0, 1, 66, 67, 68, 69, 70, 71, 133, 134, 135, 136, 152, 153, 154, 159, 160, 161, 200, 305, 306, 307, 458, 459, 460]


@st.composite
def texts(draw) -> str:
    """A mixture of the kinds above (a kind drawn more than once weighs more), its length near a boundary."""
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=6))
    length = draw(st.one_of(st.sampled_from(BOUNDARIES), st.integers(0, 480)))
    chars = st.one_of([KINDS[kind] for kind in kinds])
    return "".join(draw(st.lists(chars, min_size=length, max_size=length)))


def bodies(parts: list[bytes], udhi: bool) -> bytes:
    return b"".join(part[6:] if udhi else part for part in parts)


# --- the tables ----------------------------------------------------------------------------


def test_tables_agree_with_the_codec():
    assert len(GSM7_BASIC) == 128
    assert [bytes((septet,)).decode("gsm03.38") for septet in range(128) if septet != 0x1B] == [char for septet, char in enumerate(GSM7_BASIC) if septet != 0x1B]
    assert {char: septet for septet in range(128) if (char := extension_char(septet))} == GSM7_EXTENSION


# --- worked examples -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Measure("GSM7", 0, 1, 160)),
        ("a" * 160, Measure("GSM7", 160, 1, 160)),
        ("a" * 161, Measure("GSM7", 161, 2, 153)),
        ("a" * 153 * 2, Measure("GSM7", 306, 2, 153)),
        ("a" * (153 * 2 + 1), Measure("GSM7", 307, 3, 153)),
        ("€" + "a" * 158, Measure("GSM7", 160, 1, 160)),
        ("€" + "a" * 159, Measure("GSM7", 161, 2, 153)),
        ("Ç" * 160, Measure("GSM7", 160, 1, 160)),
        ("ç" + "a" * 69, Measure("UCS2", 70, 1, 70)),  # ç is not in the alphabet: the whole text is UCS-2
        ("ж" * 70, Measure("UCS2", 70, 1, 70)),
        ("ж" * 71, Measure("UCS2", 71, 2, 67)),
        (EMOJI, Measure("UCS2", 2, 1, 70)),
        (EMOJI * 35, Measure("UCS2", 70, 1, 70)),
        (EMOJI + "a" * 69, Measure("UCS2", 71, 2, 67)),
        # An escape pair that would take septets 153 and 154 goes whole to the next part: 306 septets, 3 parts.
        ("a" * 152 + "€" + "a" * 152, Measure("GSM7", 306, 3, 153)),
        # Likewise a surrogate pair at code units 67 and 68: 134 units, 3 parts.
        ("a" * 66 + EMOJI + "a" * 66, Measure("UCS2", 134, 3, 67)),
    ],
)
def test_measure(text, expected):
    assert measure(text) == expected


def test_encode_single_part_has_no_udh():
    assert encode("Hi €[", 9) == Encoded(0, False, [b"Hi \x1be\x1b<"])
    assert encode("Hé " + EMOJI, 9) == Encoded(8, False, ["Hé ".encode("utf-16-be") + b"\xd8\x3d\xde\x00"])


def test_encode_concatenated_parts_carry_the_8bit_reference_udh():
    encoded = encode("a" * 152 + "€" + "a" * 152, 0x1234)
    assert encoded.data_coding == 0 and encoded.esm_class_udhi
    assert encoded.parts == [
        b"\x05\x00\x03\x34\x03\x01" + b"a" * 152,
        b"\x05\x00\x03\x34\x03\x02" + b"\x1be" + b"a" * 151,
        b"\x05\x00\x03\x34\x03\x03" + b"a",
    ]
    encoded = encode("ж" * 71, 7)
    assert encoded.data_coding == 8 and [part[:6] for part in encoded.parts] == [b"\x05\x00\x03\x07\x02\x01", b"\x05\x00\x03\x07\x02\x02"]
    assert [len(part) for part in encoded.parts] == [6 + 134, 6 + 8]


def test_encode_refuses_more_parts_than_a_udh_can_count():
    assert len(encode("a" * 153 * 255, 1).parts) == 255
    with pytest.raises(ValueError, match="256 segments"):
        encode("a" * (153 * 255 + 1), 1)


@pytest.mark.parametrize(
    ("data_coding", "payload", "udhi", "expected"),
    [
        (0, b"Hi \x1be\x1b<", False, Decoded("Hi €[", None)),
        (0, b"\x1bA\x1b\x1bB", False, Decoded("A B", None)),  # ESC before an unknown code: the basic character; ESC ESC: a space
        (0, b"a\x80\x1b", False, Decoded("a\ufffd\ufffd", None)),  # not a septet; a trailing ESC
        (1, b"Hi\xff", False, Decoded("Hi\ufffd", None)),
        (3, b"caf\xe9", False, Decoded("café", None)),
        (8, b"\x00H\xd8\x3d\xde\x00", False, Decoded("H" + EMOJI, None)),
        (8, b"\xd8\x3d\x00H\x00", False, Decoded("\ufffdH\ufffd", None)),  # a lone surrogate; an odd octet
        (4, b"ok\x80", False, Decoded("ok\ufffd", None)),
        (0, b"\x05\x00\x03\x2a\x02\x01Hi", True, Decoded("Hi", (42, 2, 1))),
        (8, b"\x06\x08\x04\x12\x34\x03\x03\x00H", True, Decoded("H", (0x1234, 3, 3))),
        # Other IEs are passed over (here a port-addressing IE before the concatenation IE).
        (0, b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x2a\x02\x02Hi", True, Decoded("Hi", (42, 2, 2))),
        (0, b"\x05\x00\x03\x2a\x02\x00Hi", True, Decoded("Hi", None)),  # sequence 0: the IE is ignored
        (0, b"\x09\x00\x03\x2a", True, Decoded("", None)),  # a header longer than the payload
        (0, b"", True, Decoded("", None)),
    ],
)
def test_decode(data_coding, payload, udhi, expected):
    assert decode(data_coding, payload, udhi) == expected


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(texts())
def test_measure_matches_the_reference(text):
    assert astuple(measure(text)) == reference(text)


@settings(max_examples=300, deadline=None)
@given(texts(), st.integers(0, 2**16 - 1))
def test_encode_gives_the_codec_bytes_in_parts_that_fit(text, reference_number):
    encoding, data, width = alphabet(text)
    encoded, counted = encode(text, reference_number), measure(text)
    total = len(encoded.parts)
    assert encoded.data_coding == (0 if encoding == "GSM7" else 8)
    assert total == counted.segments and encoded.esm_class_udhi == (total > 1)
    assert bodies(encoded.parts, encoded.esm_class_udhi) == data
    assert all(len(part) <= counted.per_segment * width + (6 if total > 1 else 0) for part in encoded.parts)
    if total > 1:
        assert [part[:6] for part in encoded.parts] == [bytes((5, 0, 3, reference_number % 256, total, sequence)) for sequence in range(1, total + 1)]


@settings(max_examples=300, deadline=None)
@given(texts(), st.integers(0, 255))
def test_decode_reads_back_what_encode_sends(text, reference_number):
    encoded = encode(text, reference_number)
    assert decode(encoded.data_coding, bodies(encoded.parts, encoded.esm_class_udhi), False).text == text
    # Each part alone decodes to whole characters, and carries where it belongs.
    decoded = [decode(encoded.data_coding, part, encoded.esm_class_udhi) for part in encoded.parts]
    assert "".join(part.text for part in decoded) == text
    total = len(encoded.parts)
    assert [part.concat for part in decoded] == ([(reference_number, total, sequence) for sequence in range(1, total + 1)] if total > 1 else [None])


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 255), st.binary(max_size=300), st.booleans())
def test_decode_never_raises(data_coding, payload, udhi):
    decoded = decode(data_coding, payload, udhi)
    decoded.text.encode("utf-8")  # storable: no lone surrogates
    assert decoded.concat is None or 1 <= decoded.concat[2] <= decoded.concat[1]
