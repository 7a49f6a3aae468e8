"""SMPP 3.4 PDUs, written and read by smpplib's codec (see `session` for why smpplib).

smpplib truncates a string longer than its field without a word, so the API bounds system_id,
password and system_type first (schemas). Its TLV reader assumes every string TLV ends in NUL and
drops the last character of one that does not (a receipted_message_id some SMSCs send bare), so
the TLVs of a deliver_sm are read here from the bytes instead.
"""

import logging
import struct

from smpplib import consts, smpp
from smpplib.client import SimpleSequenceGenerator

# smpplib warns of every vendor TLV it skips, once per PDU; SMSCs send them in every receipt
# (SMPP 3.4 allows 0x1400-0x3FFF), and `tlvs` reads them anyway.
logging.getLogger("smpplib.command").setLevel(logging.ERROR)

HEADER = struct.Struct(">LLLL")
SMALLEST = HEADER.size
LARGEST = 70_000  # a deliver_sm with a 64 KiB message_payload, and its header and fields

BIND_TRANSCEIVER = 0x00000009
BIND_TRANSMITTER = 0x00000002
BIND_RECEIVER = 0x00000001
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
ENQUIRE_LINK = 0x00000015
GENERIC_NACK = 0x80000000
RESPONSE = 0x80000000

ROK = consts.SMPP_ESME_ROK
THROTTLED = consts.SMPP_ESME_RTHROTTLED
QUEUE_FULL = consts.SMPP_ESME_RMSGQFUL
APP_TEMPORARY = consts.SMPP_ESME_RX_T_APPN  # deliver_sm_resp: "not now", the SMSC delivers it again
INVALID_COMMAND = consts.SMPP_ESME_RINVCMDID

RECEIPTED_MESSAGE_ID = 0x001E
MESSAGE_STATE = 0x0427
MESSAGE_PAYLOAD = 0x0424

BINDS = {BIND_TRANSCEIVER: "bind_transceiver", BIND_TRANSMITTER: "bind_transmitter", BIND_RECEIVER: "bind_receiver"}
RESPONSES = {DELIVER_SM: "deliver_sm_resp", ENQUIRE_LINK: "enquire_link_resp", UNBIND: "unbind_resp"}


class Sequence(SimpleSequenceGenerator):
    """One link's sequence numbers, 1 to 2³¹-1 and round again (5.1.4); smpplib's PDUs draw from it."""


_READING = Sequence()


def header(raw: bytes) -> tuple[int, int, int]:
    """(command_id, command_status, sequence_number)."""
    _, command_id, status, sequence = HEADER.unpack_from(raw)
    return command_id, status, sequence


def _written(pdu) -> tuple[int, bytes]:
    raw = pdu.generate()
    return pdu.sequence, raw


def bind(command_id: int, sequence: Sequence, system_id: str, password: str, system_type: str) -> tuple[int, bytes]:
    return _written(smpp.make_pdu(BINDS[command_id], client=sequence, system_id=system_id, password=password, system_type=system_type, addr_ton=0, addr_npi=0, address_range=""))


def submit_sm(sequence: Sequence, source: str, source_type: tuple[int, int], destination: str, dest_type: tuple[int, int],
              short_message: bytes, data_coding: int, esm_class: int, registered_delivery: int, validity_period: str = "") -> tuple[int, bytes]:
    return _written(smpp.make_pdu(
        "submit_sm", client=sequence, service_type="", source_addr_ton=source_type[0], source_addr_npi=source_type[1], source_addr=source,
        dest_addr_ton=dest_type[0], dest_addr_npi=dest_type[1], destination_addr=destination, esm_class=esm_class, protocol_id=0,
        priority_flag=0, schedule_delivery_time="", validity_period=validity_period, registered_delivery=registered_delivery,
        replace_if_present_flag=0, data_coding=data_coding, sm_default_msg_id=0, short_message=short_message,
    ))


def relative_time(seconds: int) -> str:
    """SMPP 3.4's relative time format (7.1.1), YYMMDDhhmmss000R, for a span of `seconds` (at
    least one); relative, so that the SMSC's clock and ours need not agree."""
    minutes, second = divmod(max(seconds, 1), 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    return f"0000{min(days, 99):02d}{hour:02d}{minute:02d}{second:02d}000R"


def request(command: str, sequence: Sequence) -> tuple[int, bytes]:
    """A request without a body: enquire_link, unbind."""
    return _written(smpp.make_pdu(command, client=sequence))


def response(command_id: int, sequence_number: int, status: int = ROK) -> bytes:
    """The answer to a request of ours to answer (deliver_sm, enquire_link, unbind), or a
    generic_nack for any other."""
    pdu = smpp.make_pdu(RESPONSES.get(command_id, "generic_nack"), status=status)
    pdu.sequence = sequence_number
    return pdu.generate()


def message_id(raw: bytes) -> str | None:
    """The message_id of a submit_sm_resp (a C-Octet string), None when it has none."""
    found = raw[SMALLEST:].split(b"\x00", 1)[0]
    return found.decode("latin-1") or None


def deliver_sm(raw: bytes):
    """smpplib's deliver_sm (ValueError and the like when it cannot be read). smpplib draws a
    sequence number for every PDU it makes, even one it reads, so reading draws from its own."""
    return smpp.parse_pdu(raw, client=_READING, allow_unknown_opt_params=True)


def tlvs(pdu, raw: bytes) -> dict[int, bytes]:
    """The TLVs of a read deliver_sm, tag to value, from the bytes after its mandatory fields."""
    strings = (pdu.service_type, pdu.source_addr, pdu.destination_addr, pdu.schedule_delivery_time, pdu.validity_period)
    position = SMALLEST + sum(len(text or b"") + 1 for text in strings) + 12 + (pdu.sm_length or 0)
    found = {}
    while position + 4 <= len(raw):
        tag, length = struct.unpack_from(">HH", raw, position)
        found.setdefault(tag, raw[position + 4:position + 4 + length])
        position += 4 + length
    return found
