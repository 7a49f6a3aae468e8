"""The deliver_sm the SMSC originates: a receipt for an accepted submit, and MO messages."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from smpp.pdu import pdu_types as types

from trunkline.smsc_simulator import pdus, texts
from trunkline.smsc_simulator.behaviour import MESSAGE_STATES, Behaviour

RECEIPT = 0x04  # esm_class: SMSC delivery receipt
RECEIPT_ALWAYS, RECEIPT_ON_FAILURE = 1, 2  # registered_delivery, its two low bits

Address = Field(min_length=1, max_length=20, pattern=r"^[ -~]+$")
Ton = Literal[0, 1, 2, 3, 4, 5, 6]
Npi = Literal[0, 1, 3, 4, 6, 8, 9, 10, 14, 18]


class MO(BaseModel):
    """A mobile-originated message to inject: from a handset number to the ESME's number."""

    model_config = ConfigDict(extra="forbid")
    source_addr: str = Address
    destination_addr: str = Address
    text: str
    source_addr_ton: Ton = 1
    source_addr_npi: Npi = 1
    dest_addr_ton: Ton = 1
    dest_addr_npi: Npi = 1


def receipt(submit: types.PDU, message_id: str, submitted: datetime, done: datetime, behaviour: Behaviour) -> types.PDU | None:
    """The receipt the submit asked for, with the outcome the rules give its destination; None
    when it asked for none, or only for a failure and the outcome is DELIVRD."""
    params = submit.params
    wanted = pdus.number("registered_delivery", params["registered_delivery"]) & 0x03
    rule = behaviour.outcome(params["destination_addr"].decode("latin-1"))
    if wanted not in (RECEIPT_ALWAYS, RECEIPT_ON_FAILURE) or (wanted == RECEIPT_ON_FAILURE and rule.stat == "DELIVRD"):
        return None
    text = texts.receipt(message_id, submitted, done, rule.stat, rule.err, pdus.text_of(submit) or "")
    return pdus.deliver_sm(
        params["destination_addr"],
        pdus.number("dest_addr_ton", params["dest_addr_ton"]),
        pdus.number("dest_addr_npi", params["dest_addr_npi"]),
        params["source_addr"],
        pdus.number("source_addr_ton", params["source_addr_ton"]),
        pdus.number("source_addr_npi", params["source_addr_npi"]),
        RECEIPT,
        texts.GSM,
        text,
        receipted_message_id=message_id,
        message_state=pdus.message_state(MESSAGE_STATES[rule.stat]),
    )


def mo(message: MO, reference: int) -> tuple[int, list[types.PDU]]:
    """(data_coding, the deliver_sm of each part): concatenated parts carry a UDH."""
    coding, bodies = texts.parts(message.text, reference)
    esm_class = pdus.UDHI if len(bodies) > 1 else 0
    return coding, [
        pdus.deliver_sm(
            message.source_addr,
            message.source_addr_ton,
            message.source_addr_npi,
            message.destination_addr,
            message.dest_addr_ton,
            message.dest_addr_npi,
            esm_class,
            coding,
            body,
        )
        for body in bodies
    ]
