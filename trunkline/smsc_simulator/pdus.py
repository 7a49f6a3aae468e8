"""SMPP 3.4 PDUs through smpp.pdu (Jasmin's codec): decoding what an ESME sends, answering
it, and building deliver_sm. Statuses and one-octet fields are plain numbers outside this
module, the codec's enums stay inside it."""

from enum import Enum
from io import BytesIO

from smpp.pdu import constants, operations, smpp_time
from smpp.pdu import pdu_types as types
from smpp.pdu.error import PDUParseError
from smpp.pdu.pdu_encoding import MessageStateEncoder, PDUEncoder

from trunkline.smsc_simulator import texts

smpp_time.print = lambda *_: None  # smpp.pdu3 0.6 prints the last character of every SMPP time it parses, a debug line left in
CODEC = PDUEncoder()
FIELDS = PDUEncoder.DefaultRequiredParamEncoders
HEADER = 16
LONGEST = 70_000  # a 64 KiB message_payload and the rest; a longer command_length is noise
Command = types.CommandId
STATUS = {code: getattr(types.CommandStatus, entry["name"]) for code, entry in constants.command_status_value_map.items() if code >= 0}
CODE = {status: code for code, status in STATUS.items()}
INVALID_LENGTH, INVALID_COMMAND, UNKNOWN_ERROR = 0x02, 0x03, 0xFF
INTERFACE_VERSION = 0x34
UDHI = 0x40  # esm_class: the short message opens with a user data header


class Undecodable(Exception):
    """A PDU the codec refused; `answer` is the reply SMPP 3.4 prescribes: the command's own
    response for a bind or submit_sm whose body is wrong, generic_nack for the rest."""

    def __init__(self, command: Command | None, status: int, sequence: int):
        super().__init__(f"{command and command.name}: status {status:#x}")
        self.command = command
        ack = getattr(operations.PDUS.get(command), "requireAck", None)
        self.answer = encode((ack if ack and ack.noBodyOnError else operations.GenericNack)(sequence or None, STATUS[status]))


def sequence_of(raw: bytes) -> int:
    return int.from_bytes(raw[12:16]) if len(raw) >= HEADER else 0


def decode(raw: bytes) -> types.PDU:
    """A request in full; of a response only the header (command, status, sequence), since
    nothing else in it matters here and an oddity in it must not earn a generic_nack."""
    command = None
    try:
        header = CODEC.decodeHeader(BytesIO(raw))
        command = header["command_id"]
        kind = operations.getPDUClass(command)
        if issubclass(kind, types.PDUResponse):
            return kind(header["sequence_number"], header["command_status"])
        return CODEC.decode(BytesIO(raw))
    except PDUParseError as error:
        raise Undecodable(command, CODE.get(error.status, UNKNOWN_ERROR), sequence_of(raw)) from error
    except Exception as error:  # the codec fails on hostile bytes in ways of its own (ValueError, KeyError, struct.error...)
        raise Undecodable(command, UNKNOWN_ERROR, sequence_of(raw)) from error


def encode(pdu: types.PDU) -> bytes:
    return CODEC.encode(pdu)


def generic_nack(sequence: int, status: int) -> bytes:
    return encode(operations.GenericNack(sequence or None, STATUS[status]))


def answer(request: types.PDU, status: int = 0, **params) -> bytes:
    """The request's response; the codec leaves out the body of an error where SMPP says to."""
    return encode(request.requireAck(request.seqNum, STATUS[status], **params))


def bind_answer(request: types.PDU, status: int, system_id: str) -> bytes:
    return answer(request, status, system_id=system_id, sc_interface_version=INTERFACE_VERSION)


def number(field: str, value) -> int:
    """A one-octet field's value (TON, NPI, esm_class, data_coding...) as the number sent."""
    return FIELDS[field].encode(value)[0]


def _value(encoder, code: int):
    return encoder.decode(BytesIO(bytes([code])))


def deliver_sm(source: str, source_ton: int, source_npi: int, destination: str, dest_ton: int, dest_npi: int, esm_class: int, data_coding: int, short_message: bytes, **options) -> types.PDU:
    """A deliver_sm with no sequence number yet: the session that sends it gives one."""
    return operations.DeliverSM(
        service_type="",
        source_addr_ton=_value(FIELDS["source_addr_ton"], source_ton),
        source_addr_npi=_value(FIELDS["source_addr_npi"], source_npi),
        source_addr=source,
        dest_addr_ton=_value(FIELDS["dest_addr_ton"], dest_ton),
        dest_addr_npi=_value(FIELDS["dest_addr_npi"], dest_npi),
        destination_addr=destination,
        esm_class=_value(FIELDS["esm_class"], esm_class),
        protocol_id=0,
        priority_flag=types.PriorityFlag.LEVEL_0,
        schedule_delivery_time=None,
        validity_period=None,
        registered_delivery=types.RegisteredDelivery(types.RegisteredDeliveryReceipt.NO_SMSC_DELIVERY_RECEIPT_REQUESTED),
        replace_if_present_flag=types.ReplaceIfPresentFlag.DO_NOT_REPLACE,
        data_coding=_value(FIELDS["data_coding"], data_coding),
        sm_default_msg_id=0,
        short_message=short_message,
        **options,
    )


def message_state(code: int):
    return _value(MessageStateEncoder(), code)


def submit_fields(pdu: types.PDU) -> dict:
    """A submit_sm's fields as JSON-ready values: one-octet fields as numbers, octet strings
    as hex, addresses as text, times as SMPP writes them (or None); optional parameters besides
    message_payload by name."""
    params = pdu.params
    plain = {name: params[name].decode("latin-1") for name in ("service_type", "source_addr", "destination_addr")}
    times = {name: params[name] and smpp_time.unparse(params[name]).decode() for name in ("schedule_delivery_time", "validity_period")}
    octets = {name: number(name, params[name]) for name in ("source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi")}
    octets |= {name: number(name, params[name]) for name in ("esm_class", "priority_flag", "registered_delivery", "data_coding")}
    payload = params.get("message_payload")
    short_message = params["short_message"] or b""
    options = {name: _plain(value) for name, value in params.items() if name not in pdu.mandatoryParams and name != "message_payload"}
    return {
        "sequence_number": pdu.seqNum,
        **plain,
        **octets,
        **times,
        "protocol_id": params["protocol_id"],
        "short_message": short_message.hex(),
        "text": text_of(pdu),
        "message_payload": payload.hex() if payload is not None else None,
        "options": options,
    }


def text_of(pdu: types.PDU) -> str | None:
    """The text a submit carries, from message_payload when it has one."""
    params = pdu.params
    payload = params.get("message_payload")
    body = payload if payload is not None else params["short_message"] or b""
    return texts.read(number("data_coding", params["data_coding"]), bool(number("esm_class", params["esm_class"]) & UDHI), body)


def _plain(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Enum):
        return value.name
    return value if isinstance(value, int) else str(value)
