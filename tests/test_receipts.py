"""Delivery receipts as real SMSCs wrote them (tests/fixtures/smsc, sources in tests/fixtures/README.md):
the text, the TLVs, what each state means, and one key for an id in decimal or in hex."""

import struct
from pathlib import Path

import pytest

from trunkline.smsc import pdus
from trunkline.smsc.receipts import FATES, MESSAGE_STATES, Fate, ReceiptError, alternative_key, is_receipt, message_key, parse

REAL = Path(__file__).parent / "fixtures" / "smsc"

# file: (id, state, fate, err, sub, dlvrd, submit date, done date, text)
TEXTS = {
    "php_smpp_70_delivrd_gsm_escape.txt": ("117062714244798261", "DELIVRD", Fate.delivered, "0000", 1, 1, "1706271624", "1706271624", "H\x1bello world"),
    "smppex_46_undeliv_absolute_time.txt": ("rdwjwxns18krxr9936ey96ymcw", "UNDELIV", Fate.undeliverable, "000", 0, 0, "180711070003912+", "180711070000012+", None),
    "node_smpp_77_undeliv_ussd.txt": ("45013692", "UNDELIV", Fate.undeliverable, "21", 0, 28, "1908121157", "1908121158", "*100#"),
    "jasmin_760_delivrd_no_counts.txt": ("fa9542be-3c16-44bb-9a8c-d277ea1851ef", "DELIVRD", Fate.delivered, "002", None, None, "1911211739", "1911211741", None),
    "node_smpp_215_rejectd.txt": ("8XXXXXXXXXXXXX", "REJECTD", Fate.rejected, "954", 1, 0, "220704105916", "220704105941", ""),
    "notif3gen_expired.txt": ("543CD34E00AA33", "EXPIRED", Fate.expired, "027", 0, 0, "1410140739", "1410160739", "Abdus invi"),
    "notif3gen_zain_delivrd.txt": ("86", "DELIVRD", Fate.delivered, None, None, None, "1410160730", "1410160730", None),
    "aggregator_expired_hex_id.txt": ("DA86D4610CE0C0D23B0165A278EC0C43", "EXPIRED", Fate.expired, "001", 1, 0, "260608095640", "260608155641", "Received Rs.648.00 f"),
    "kannel_log_deleted_trailing_nul.txt": ("17391000167162", "DELETED", Fate.undeliverable, "000", 1, 0, "1504301653", "1504301659", "same message to all"),
    "bulatnig_acceptd.txt": ("c449ab9744f47b6af1879e49e75e4f40", "ACCEPTD", Fate.pending, "0", 1, 0, "0610191018", "0610191018", "This is an Acti"),
    "bulatnig_rejectd.txt": ("b756c4f97aa2e1e67377dffc5e2f7d9b", "REJECTD", Fate.rejected, "1", 1, 0, "0610191211", "0610191211", "This is an Acti"),
    "goip_enroute.txt": ("4791967", "ENROUTE", Fate.pending, "0", 0, 1, "2302281329", "2302281329", "Hello World from out"),
    "acceptd_trailing_spaces.txt": ("881444543", "ACCEPTD", Fate.pending, "000", 1, 0, "1512201521", "1512201521", "ACK/OK      "),
}


@pytest.mark.parametrize("name", TEXTS)
def test_real_receipt_texts_are_read_field_by_field(name):
    text = (REAL / name).read_bytes()
    assert is_receipt(0x04, text, None) and is_receipt(0x00, text, None)  # also from SMSCs that leave esm_class 0
    receipt = parse(text)
    got = (receipt.message_id, receipt.state, receipt.fate, receipt.error, receipt.submitted, receipt.delivered, receipt.submit_date, receipt.done_date, receipt.text)
    assert got == TEXTS[name]
    assert receipt.final is (receipt.fate is not Fate.pending)


def read(raw: bytes):
    """What the session reads of a deliver_sm: the PDU, its text (short_message or message_payload) and TLVs."""
    pdu = pdus.deliver_sm(raw)
    tlvs = pdus.tlvs(pdu, raw)
    return pdu, pdu.short_message or tlvs.get(pdus.MESSAGE_PAYLOAD, b""), tlvs


def test_a_receipt_with_the_id_in_hex_in_its_tlv_and_in_decimal_in_its_text_gives_one_key():
    """A real deliver_sm (python-smpplib's test data): receipted_message_id 1d305b4c, message_state 2,
    and the text in message_payload with id:0489708364, the same number in decimal."""
    pdu, text, tlvs = read((REAL / "smpplib_deliver_sm_hex_tlv_decimal_text.bin").read_bytes())
    assert (pdu.sm_length, pdu.esm_class) == (0, 4)
    receipted = tlvs[pdus.RECEIPTED_MESSAGE_ID].rstrip(b"\x00").decode()
    receipt = parse(text, receipted, tlvs[pdus.MESSAGE_STATE][0])
    assert (receipt.message_id, receipt.state, receipt.fate, receipt.submitted, receipt.delivered) == ("1d305b4c", "DELIVRD", Fate.delivered, 1, 1)
    assert receipt.text == "\x04\x1f\x04@\x048\x042\x045\x04B"  # UCS-2 "Привет", as bytes
    assert receipt.key == message_key(parse(text).message_id) == "489708364"


def test_vendor_tlvs_are_skipped_and_the_text_gives_the_receipt():
    _, text, tlvs = read((REAL / "smpplib_deliver_sm_vendor_tlvs.bin").read_bytes())
    assert tlvs == {0x1403: b"(null)\x00", 0x1402: b"612\x00"}
    receipt = parse(text)
    assert (receipt.message_id, receipt.state, receipt.submit_date, receipt.error_code, receipt.text) == ("795920026", "DELIVRD", "200319131913", 0, "")


def deliver_sm(short_message: bytes, tlvs: bytes = b"", esm_class: int = 0x04) -> bytes:
    body = b"\x00\x01\x01447700900123\x00\x05\x00Trunk\x00" + bytes([esm_class]) + b"\x00" * 8 + bytes([len(short_message)]) + short_message + tlvs
    return struct.pack(">LLLL", 16 + len(body), pdus.DELIVER_SM, 0, 7) + body


def test_a_published_pdu_rebuilt_around_its_real_text_and_tlvs():
    """onlinecity/php-smpp #70 published a receipt whose mandatory fields are one byte short; its
    short_message and TLVs (network_error_code and two vendor tags) are used as published."""
    _, text, tlvs = read(deliver_sm((REAL / "php_smpp_70_delivrd_gsm_escape.txt").read_bytes(), (REAL / "php_smpp_70_tlvs.bin").read_bytes()))
    assert tlvs[0x0423] == b"\x03\x00\x00" and pdus.RECEIPTED_MESSAGE_ID not in tlvs
    assert parse(text).message_id == "117062714244798261"


def test_a_receipted_message_id_without_its_nul_is_read_whole():
    """smpplib's own TLV reader drops the last character of a string TLV that does not end in NUL."""
    tlv = struct.pack(">HH", pdus.RECEIPTED_MESSAGE_ID, 8) + b"33E95179" + struct.pack(">HHB", pdus.MESSAGE_STATE, 1, 2)
    pdu, text, tlvs = read(deliver_sm(b"", tlv))
    assert pdu.receipted_message_id == b"33E9517"  # what smpplib makes of it
    assert tlvs[pdus.RECEIPTED_MESSAGE_ID] == b"33E95179"
    assert parse(text, tlvs[pdus.RECEIPTED_MESSAGE_ID].decode(), tlvs[pdus.MESSAGE_STATE][0]).message_id == "33E95179"


def test_every_state_has_a_fate():
    assert {state: FATES[state] for state in ("DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "ENROUTE")} == {
        "DELIVRD": Fate.delivered, "EXPIRED": Fate.expired, "DELETED": Fate.undeliverable, "UNDELIV": Fate.undeliverable,
        "ACCEPTD": Fate.pending, "UNKNOWN": Fate.undeliverable, "REJECTD": Fate.rejected, "ENROUTE": Fate.pending,
    }
    by_tlv = {state: parse(b"", "abc", state).fate for state in range(1, 10)}
    assert by_tlv == {
        1: Fate.pending, 2: Fate.delivered, 3: Fate.expired, 4: Fate.undeliverable, 5: Fate.undeliverable,
        6: Fate.pending, 7: Fate.undeliverable, 8: Fate.rejected, 9: Fate.undeliverable,
    }
    assert set(MESSAGE_STATES.values()) <= set(FATES)
    assert parse(b"id:1 stat:delivrd").fate is Fate.delivered  # written in lower case


def test_the_tlvs_win_over_the_text():
    text = b"id:0000029095 sub:001 dlvrd:001 submit date:211125034959 done date:211125035001 stat:DELIVRD err:000 text:"
    receipt = parse(text, "0000029095", 5)
    assert (receipt.message_id, receipt.state, receipt.fate, receipt.error) == ("0000029095", "UNDELIV", Fate.undeliverable, "000")
    assert parse(text, None, 42).state == "DELIVRD"  # a message_state no SMPP version defines: the text's


def test_what_is_not_a_receipt_and_what_is_a_broken_one():
    assert not is_receipt(0x00, b"Hello, my id: 42 is stat: fine", None)  # an MO
    assert not is_receipt(0x08, b"ack", None)  # an SME delivery acknowledgement
    assert is_receipt(0x20, b"", "abc")  # an intermediate notification
    assert is_receipt(0x00, b"", "abc")  # a receipted_message_id makes it one
    with pytest.raises(ReceiptError, match="without a message id"):
        parse(b"stat:DELIVRD err:000")
    with pytest.raises(ReceiptError, match="without a state"):
        parse(b"id:123 sub:001 dlvrd:001")
    with pytest.raises(ReceiptError, match="unknown receipt state"):
        parse(b"id:123 stat:SENT")


def test_one_key_for_an_id_in_decimal_or_in_hex():
    # jsmpp #56: the SMSC answered 33E95179 and Kannel found id<870928761> in the receipt.
    assert message_key("33E95179") == message_key("870928761") == message_key("33e95179") == "870928761"
    assert message_key("0000029095") == message_key("29095")  # leading zeros
    assert message_key("1d305b4c\x00") == message_key("0489708364")
    assert message_key("fa9542be-3c16-44bb-9a8c-d277ea1851ef") == "fa9542be-3c16-44bb-9a8c-d277ea1851ef"  # not a number: as written
    # The ambiguity: hex written without a letter reads as decimal; the hex reading is the second guess.
    assert message_key("12345678") != message_key("305419896")
    assert alternative_key("12345678") == message_key("305419896")
    assert alternative_key("33E95179") is None
