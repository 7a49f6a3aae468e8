"""The SMPP side: a Session per TCP connection, and the Simulator state the sessions share
with the control API (binds, accepted submits, counters, deliveries waiting for a receiver).

Everything runs on one event loop, so a session answers its PDUs in the order they came
without locks, and the control API's changes apply between two PDUs."""

import asyncio
import itertools
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from smpp.pdu import pdu_types as types

from trunkline.smsc_simulator import deliveries, pdus
from trunkline.smsc_simulator.behaviour import QUEUE_FULL, THROTTLED, Behaviour, Gate

SMSC_ID = "trunkline-sim"  # the system_id of the SMSC, in bind responses
Command = pdus.Command
MODES = {Command.bind_transmitter: "transmitter", Command.bind_receiver: "receiver", Command.bind_transceiver: "transceiver"}
SENDS, RECEIVES = {"transmitter", "transceiver"}, {"receiver", "transceiver"}
INVALID_BIND_STATUS, ALREADY_BOUND, INVALID_PASSWORD, INVALID_SYSTEM_ID = 0x04, 0x05, 0x0E, 0x0F
REFUSALS = {THROTTLED: "throttled", QUEUE_FULL: "queue_full"}  # their counters; other refusals count as "rejected"


@dataclass(slots=True)
class Submit:
    """An accepted submit_sm, as the control API lists it."""

    index: int
    message_id: int
    bind: int
    received_at: datetime
    pdu: types.PDU

    def as_json(self) -> dict:
        return {"index": self.index, "message_id": hex_id(self.message_id), "bind": self.bind, "received_at": self.received_at.isoformat(), **pdus.submit_fields(self.pdu)}


def hex_id(number: int) -> str:
    return f"{number:X}"


class Simulator:
    def __init__(self, system_id: str, password: str, behaviour: Behaviour):
        self.system_id, self.password = system_id, password
        self.initial = behaviour
        self.gate = Gate(behaviour)
        self.sessions: dict[int, Session] = {}
        self.submits: list[Submit] = []
        self.counters: Counter[str] = Counter()
        self.pending: deque[types.PDU] = deque()  # receipts and MO parts that found no receiver bind
        self.held: list[tuple[types.PDU, Session]] = []  # receipts kept back (Behaviour.hold_receipts)
        self.epoch = 0  # a reset forgets the receipts still on their delay
        self.connections = itertools.count(1)
        self._message_ids = itertools.count(0xA0000000 + secrets.randbelow(0x10000000))  # hex that opens with a letter, never mistaken for decimal
        self._references = itertools.count(1)  # of concatenated MO messages

    @property
    def behaviour(self) -> Behaviour:
        return self.gate.behaviour

    @behaviour.setter
    def behaviour(self, behaviour: Behaviour) -> None:
        self.gate.behaviour = behaviour
        if not behaviour.hold_receipts:
            held, self.held = self.held, []
            for receipt, session in held:
                self.deliver([receipt], session)

    def accept(self, session: "Session", pdu: types.PDU) -> None:
        """Keeps the submit, answers it with a fresh message id, and sends the receipt it asked
        for: after the delay, or at once and before the answer when that quirk is on."""
        behaviour = self.behaviour
        submit = Submit(len(self.submits), next(self._message_ids), session.number, datetime.now(UTC), pdu)
        self.submits.append(submit)
        self.counters["accepted"] += 1
        answer = pdus.answer(pdu, message_id=hex_id(submit.message_id))
        receipt_id = str(submit.message_id) if behaviour.decimal_receipt_ids else hex_id(submit.message_id)
        first = behaviour.receipt_before_response
        delay = 0 if first else behaviour.receipt_delay
        receipt = deliveries.receipt(pdu, receipt_id, submit.received_at, submit.received_at + timedelta(seconds=delay), behaviour)
        if receipt is not None:
            self.counters["receipts"] += 1
            if behaviour.hold_receipts:
                self.held.append((receipt, session))
            elif first:
                self.deliver([receipt], session)
            else:
                asyncio.get_running_loop().call_later(delay, self._deliver_in, self.epoch, receipt, session)
        session.send(answer)

    def inject(self, message: deliveries.MO) -> dict:
        coding, parts = deliveries.mo(message, next(self._references))
        self.counters["mo"] += 1
        return {"parts": len(parts), "data_coding": coding, "delivered": self.deliver(parts)}

    def deliver(self, parts: list[types.PDU], preferred: "Session | None" = None) -> bool:
        """Sends on `preferred` when it can receive, else on another receiver bind, all parts on
        the same one; with none bound they wait for the next (False)."""
        session = preferred if preferred is not None and preferred.receives else next((s for s in self.sessions.values() if s.receives), None)
        if session is None:
            self.pending.extend(parts)
            return False
        for pdu in parts:
            session.request(pdu)
        return True

    def _deliver_in(self, epoch: int, receipt: types.PDU, session: "Session") -> None:
        if epoch == self.epoch:
            self.deliver([receipt], session)

    def bound(self, session: "Session") -> None:
        if session.receives:
            while self.pending:
                session.request(self.pending.popleft())

    def drop_all(self) -> int:
        sessions = list(self.sessions.values())
        for session in sessions:
            session.transport.abort()
        self.counters["dropped"] += len(sessions)
        return len(sessions)

    def reset(self) -> None:
        """Back to the settings it started with: faults disarmed, counters at zero, no receipt or
        MO left to send. The submits stay, so that an index a client holds keeps its meaning."""
        self.gate = Gate(self.initial)
        self.counters.clear()
        self.pending.clear()
        self.held.clear()
        self.epoch += 1

    def stats(self) -> dict:
        gate = self.gate
        return {
            "binds": [session.describe() for session in self.sessions.values() if session.mode],
            "connections": len(self.sessions),
            "submits": len(self.submits),
            "pending_deliveries": len(self.pending),
            "armed": {"fail_status": gate.fail_status if gate.fail_count else None, "fail_count": gate.fail_count, "disconnect_after": gate.disconnect_after},
            "counters": dict(self.counters),
        }


class Session(asyncio.Protocol):
    """One ESME connection: frames PDUs out of the byte stream and answers each in turn."""

    def __init__(self, simulator: Simulator):
        self.simulator = simulator
        self.number = next(simulator.connections)
        self.mode: str | None = None
        self.since: datetime | None = None
        self.transport: asyncio.Transport
        self.peer = ""
        self.sequence = 0
        self.buffer = bytearray()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.peer = ":".join(map(str, transport.get_extra_info("peername")[:2]))
        self.simulator.sessions[self.number] = self

    def connection_lost(self, exc) -> None:
        self.simulator.sessions.pop(self.number, None)
        self.mode = None

    def pause_writing(self) -> None:
        self.transport.pause_reading()  # an ESME that does not read its answers is not read from either

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    @property
    def receives(self) -> bool:
        return self.mode in RECEIVES and not self.transport.is_closing()

    def describe(self) -> dict:
        return {"bind": self.number, "mode": self.mode, "system_id": self.simulator.system_id, "peer": self.peer, "since": self.since and self.since.isoformat()}

    def send(self, raw: bytes) -> None:
        self.transport.write(raw)

    def request(self, pdu: types.PDU) -> None:
        self.sequence = self.sequence % 0x7FFFFFFF + 1
        pdu.seqNum = self.sequence
        self.simulator.counters["deliver_sm"] += 1
        self.send(pdus.encode(pdu))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        start = 0
        while len(buffer) - start >= 4 and not self.transport.is_closing():
            length = int.from_bytes(buffer[start : start + 4])
            if not pdus.HEADER <= length <= pdus.LONGEST:
                self.simulator.counters["undecodable"] += 1
                self.send(pdus.generic_nack(pdus.sequence_of(buffer[start : start + pdus.HEADER]), pdus.INVALID_LENGTH))
                self.transport.close()  # no telling where the next PDU would start
                start = len(buffer)
                break
            if len(buffer) - start < length:
                break
            self.handle(bytes(buffer[start : start + length]))
            start += length
        del buffer[:start]

    def handle(self, raw: bytes) -> None:
        try:
            pdu = pdus.decode(raw)
        except pdus.Undecodable as error:
            self.simulator.counters["undecodable"] += 1
            self.send(error.answer)
            if error.command in MODES:
                self.transport.close()
            return
        handler = HANDLERS.get(pdu.id)
        if handler is not None:
            handler(self, pdu)
        elif not isinstance(pdu, types.PDUResponse):
            self.send(pdus.generic_nack(pdu.seqNum, pdus.INVALID_COMMAND))  # query_sm, data_sm and the like: not simulated

    def _bind(self, pdu: types.PDU) -> None:
        simulator = self.simulator
        if self.mode:
            self.send(pdus.bind_answer(pdu, ALREADY_BOUND, SMSC_ID))
            return
        status = 0
        if pdu.params["system_id"].decode("latin-1") != simulator.system_id:
            status = INVALID_SYSTEM_ID
        elif pdu.params["password"].decode("latin-1") != simulator.password:
            status = INVALID_PASSWORD
        self.send(pdus.bind_answer(pdu, status, SMSC_ID))
        if status:
            simulator.counters["bind_failures"] += 1
            self.transport.close()
            return
        self.mode, self.since = MODES[pdu.id], datetime.now(UTC)
        simulator.counters["binds"] += 1
        simulator.bound(self)

    def _unbind(self, pdu: types.PDU) -> None:
        self.simulator.counters["unbinds"] += 1
        self.send(pdus.answer(pdu))
        self.mode = None
        self.transport.close()

    def _enquire_link(self, pdu: types.PDU) -> None:
        self.simulator.counters["enquire_link"] += 1
        self.send(pdus.answer(pdu))

    def _submit(self, pdu: types.PDU) -> None:
        simulator = self.simulator
        simulator.counters["submit_sm"] += 1
        if self.mode not in SENDS:
            self.send(pdus.answer(pdu, INVALID_BIND_STATUS))
            return
        verdict = simulator.gate.admit(pdu.params["destination_addr"].decode("latin-1"), time.monotonic())
        if verdict.status is None:
            simulator.counters["unanswered"] += 1
            if verdict.drop:
                simulator.drop_all()
        elif verdict.status:
            simulator.counters[REFUSALS.get(verdict.status, "rejected")] += 1
            self.send(pdus.answer(pdu, verdict.status))
        else:
            simulator.accept(self, pdu)

    def _deliver_sm_resp(self, pdu: types.PDU) -> None:
        counters = self.simulator.counters
        counters["deliver_sm_resp"] += 1
        if pdu.status != pdus.STATUS[0]:
            counters["deliver_sm_resp_errors"] += 1


HANDLERS = {
    **dict.fromkeys(MODES, Session._bind),
    Command.unbind: Session._unbind,
    Command.enquire_link: Session._enquire_link,
    Command.submit_sm: Session._submit,
    Command.deliver_sm_resp: Session._deliver_sm_resp,
}
