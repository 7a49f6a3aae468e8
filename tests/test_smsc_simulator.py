"""`trunkline smsc-simulator` run as its own process, spoken to with PDUs built here with
struct: a third SMPP implementation beside the simulator's (smpp.pdu) and the client's, so
that what these tests accept is what SMPP 3.4 says, not what either codec believes."""

import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from trunkline.cli import app

GENERIC_NACK, BIND_RECEIVER, BIND_TRANSMITTER, SUBMIT_SM, DELIVER_SM, UNBIND, BIND_TRANSCEIVER, ENQUIRE_LINK = (
    0x80000000, 0x01, 0x02, 0x04, 0x05, 0x06, 0x09, 0x15,
)  # fmt: skip
RESP = 0x80000000
RECEIPTED_MESSAGE_ID, MESSAGE_STATE, MESSAGE_PAYLOAD = 0x001E, 0x0427, 0x0424
READY = re.compile(r"SMPP on [\d.]+:(\d+) .*control API on (http://[\d.:]+)")
RECEIPT = re.compile(r"id:(\w+) sub:001 dlvrd:(\d{3}) submit date:(\d{10}) done date:(\d{10}) stat:(\w+) err:(\d{3}) text:(.*)", re.DOTALL)


@dataclass
class Simulator:
    port: int
    control: httpx.Client
    log: list[str]
    process: subprocess.Popen | None = None

    def post(self, path: str, body: dict | None = None) -> dict:
        response = self.control.post(path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path: str, **params) -> dict:
        response = self.control.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


def fresh(simulator: Simulator) -> Simulator:
    """The simulator reset for a test, `since` marking where its submits begin (it keeps every
    test's submits)."""
    simulator.post("/reset")
    simulator.since = simulator.get("/stats")["submits"]
    return simulator


@contextmanager
def started(*flags: str) -> Iterator[Simulator]:
    """The simulator running as its own process (flags after `--port 0` win, so `--port N` pins it)."""
    command = [str(Path(sys.executable).parent / "trunkline"), "smsc-simulator", "--port", "0", "--control-port", "0", *flags]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    deadline = time.monotonic() + 30
    ready = None
    while ready is None and time.monotonic() < deadline:
        if not select.select([process.stdout], [], [], 1)[0]:
            continue
        line = process.stdout.readline()
        if not line:
            break
        log.append(line)
        ready = READY.search(line)
    assert ready, f"the simulator did not start: {''.join(log)}"
    drain = threading.Thread(target=lambda: log.extend(process.stdout), daemon=True)  # keeps the pipe from filling up
    drain.start()
    try:
        with httpx.Client(base_url=ready[2], timeout=10) as control:
            yield Simulator(int(ready[1]), control, log, process)
    finally:
        process.terminate()
        process.wait(10)
        drain.join(10)
    assert len(log) == 1, "".join(log)  # its start line, and not a word more, whatever it was sent


@pytest.fixture(scope="module")
def smsc() -> Iterator[Simulator]:
    with started("--system-id", "acme", "--password", "s3cret", "--receipt-delay", "0.1") as simulator:
        yield simulator


@pytest.fixture
def sim(smsc: Simulator) -> Simulator:
    smsc.post("/reset")
    return smsc


@dataclass
class Pdu:
    command: int
    status: int
    sequence: int
    body: bytes


class Esme:
    """A minimal SMPP 3.4 ESME over a blocking socket."""

    def __init__(self, port: int):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sequence = 0

    def close(self) -> None:
        self.socket.close()

    def send(self, command: int, body: bytes = b"", status: int = 0, sequence: int | None = None) -> int:
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        self.socket.sendall(struct.pack(">IIII", 16 + len(body), command, status, sequence) + body)
        return sequence

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.socket.recv(size - len(data))
            if not chunk:
                raise EOFError(f"closed after {len(data)} of {size} bytes")
            data += chunk
        return data

    def read(self) -> Pdu:
        length, command, status, sequence = struct.unpack(">IIII", self._exactly(16))
        return Pdu(command, status, sequence, self._exactly(length - 16))

    def expect(self, command: int, sequence: int | None = None) -> Pdu:
        pdu = self.read()
        assert pdu.command == command, f"{pdu.command:#x} {pdu.status:#x}, not {command:#x}"
        if sequence is not None:
            assert pdu.sequence == sequence
        return pdu

    def closed(self) -> bool:
        try:
            return self.socket.recv(1) == b""
        except ConnectionResetError:
            return True

    def bind(self, command: int = BIND_TRANSCEIVER, system_id: str = "acme", password: str = "s3cret") -> Pdu:
        body = cstring(system_id) + cstring(password) + cstring("") + bytes([0x34, 0, 0]) + cstring("")
        return self.expect(command | RESP, self.send(command, body))

    def submit(self, destination: str, text: bytes = b"Hello", registered_delivery: int = 1, data_coding: int = 0, esm_class: int = 0, tlvs: bytes = b"", validity: str = "") -> int:
        body = (
            cstring("")
            + bytes([1, 1]) + cstring("447700900001")
            + bytes([1, 1]) + cstring(destination)
            + bytes([esm_class, 0, 0]) + cstring("") + cstring(validity)
            + bytes([registered_delivery, 0, data_coding, 0, len(text)]) + text
            + tlvs
        )  # fmt: skip
        return self.send(SUBMIT_SM, body)

    def accepted(self, sequence: int) -> str:
        answer = self.expect(SUBMIT_SM | RESP, sequence)
        assert answer.status == 0, hex(answer.status)
        return answer.body.rstrip(b"\0").decode()

    def delivered(self) -> "Deliver":
        pdu = self.expect(DELIVER_SM)
        self.send(DELIVER_SM | RESP, b"\0", sequence=pdu.sequence)
        return Deliver.parse(pdu.body)


def cstring(text: str) -> bytes:
    return text.encode() + b"\0"


@dataclass
class Deliver:
    source: str
    source_ton: int
    destination: str
    esm_class: int
    data_coding: int
    short_message: bytes
    tlvs: dict[int, bytes]

    @classmethod
    def parse(cls, body: bytes) -> "Deliver":
        at = 0

        def text() -> str:
            nonlocal at
            end = body.index(b"\0", at)
            value, at = body[at:end].decode(), end + 1
            return value

        def octets(count: int) -> bytes:
            nonlocal at
            value, at = body[at : at + count], at + count
            return value

        text()  # service_type
        source_ton, _ = octets(2)
        source = text()
        octets(2)
        destination = text()
        esm_class, _, _ = octets(3)
        assert text() == "" and text() == ""  # schedule_delivery_time, validity_period: null in a deliver_sm
        _, _, data_coding, _, length = octets(5)
        short_message = octets(length)
        tlvs = {}
        while at < len(body):
            tag, size = struct.unpack(">HH", octets(4))
            tlvs[tag] = octets(size)
        return cls(source, source_ton, destination, esm_class, data_coding, short_message, tlvs)


@pytest.fixture
def esme(sim: Simulator) -> Iterator[Esme]:
    client = Esme(sim.port)
    assert client.bind().status == 0
    yield client
    client.close()


def test_help_says_how_to_use_it():
    shown = CliRunner().invoke(app, ["smsc-simulator", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    for words in ("--control-port", "--receipt-delay", "--decimal-receipt-ids", "--receipt-before-response", "--throttle-per-second", "GET /submits", "POST /mo"):
        assert words in shown.output


def test_binds_with_the_right_credentials_and_refuses_others(sim):
    for command in (BIND_TRANSMITTER, BIND_RECEIVER, BIND_TRANSCEIVER):
        esme = Esme(sim.port)
        answer = esme.bind(command)
        assert (answer.status, answer.body) == (0, b"trunkline-sim\0" + struct.pack(">HHB", 0x0210, 1, 0x34))
        assert esme.bind(command).status == 0x05  # ESME_RALYBND
        esme.close()
    for system_id, password, status in (("acme", "wrong", 0x0E), ("other", "s3cret", 0x0F)):
        esme = Esme(sim.port)
        answer = esme.bind(BIND_TRANSCEIVER, system_id, password)
        assert (answer.status, answer.body) == (status, b"")  # ESME_RINVPASWD, ESME_RINVSYSID: no body with an error
        assert esme.closed()
    assert sim.get("/stats")["counters"]["bind_failures"] == 2


def test_enquire_link_and_unbind(esme, sim):
    assert esme.expect(ENQUIRE_LINK | RESP, esme.send(ENQUIRE_LINK)).status == 0
    assert [bind["mode"] for bind in sim.get("/stats")["binds"]] == ["transceiver"]
    assert esme.expect(UNBIND | RESP, esme.send(UNBIND)).status == 0
    assert esme.closed()


def test_submit_before_bind_or_on_a_receiver_is_refused(sim):
    unbound = Esme(sim.port)
    assert unbound.expect(SUBMIT_SM | RESP, unbound.submit("447700900123")).status == 0x04  # ESME_RINVBNDSTS
    receiver = Esme(sim.port)
    receiver.bind(BIND_RECEIVER)
    assert receiver.expect(SUBMIT_SM | RESP, receiver.submit("447700900123")).status == 0x04


def test_submit_is_answered_kept_and_receipted(esme, sim):
    since = sim.get("/stats")["submits"]
    sequence = esme.submit("447700900123", b"Hello from the tests, with more than twenty characters", validity="000001000000000R")
    message_id = esme.accepted(sequence)
    assert re.fullmatch(r"[0-9A-F]+", message_id) and re.search("[A-F]", message_id)
    receipt = esme.delivered()
    assert (receipt.source, receipt.destination, receipt.esm_class, receipt.data_coding) == ("447700900123", "447700900001", 0x04, 0)
    fields = RECEIPT.fullmatch(receipt.short_message.decode())
    assert fields.groups()[:2] == (message_id, "001") and fields.groups()[4:] == ("DELIVRD", "000", "Hello from the tests")
    assert receipt.tlvs == {RECEIPTED_MESSAGE_ID: message_id.encode() + b"\0", MESSAGE_STATE: b"\x02"}

    [kept] = sim.get("/submits", since=since)["submits"]
    assert kept["index"] == since and kept["message_id"] == message_id and kept["sequence_number"] == sequence
    assert (kept["source_addr"], kept["source_addr_ton"], kept["source_addr_npi"]) == ("447700900001", 1, 1)
    assert (kept["destination_addr"], kept["dest_addr_ton"], kept["dest_addr_npi"]) == ("447700900123", 1, 1)
    assert (kept["esm_class"], kept["data_coding"], kept["registered_delivery"]) == (0, 0, 1)
    assert (kept["schedule_delivery_time"], kept["validity_period"]) == (None, "000001000000000R")
    assert bytes.fromhex(kept["short_message"]) == b"Hello from the tests, with more than twenty characters"
    assert kept["text"] == "Hello from the tests, with more than twenty characters" and kept["message_payload"] is None
    counters = sim.get("/stats")["counters"]
    assert counters["accepted"] == counters["receipts"] == counters["deliver_sm_resp"] == 1


def test_message_payload_and_ucs2_submits_are_kept(esme, sim):
    text = "Привет, мир"
    payload = text.encode("utf-16-be")
    esme.accepted(esme.submit("447700900123", b"", registered_delivery=0, data_coding=8, tlvs=struct.pack(">HH", MESSAGE_PAYLOAD, len(payload)) + payload))
    [kept] = sim.get("/submits", since=sim.get("/stats")["submits"] - 1)["submits"]
    assert (kept["message_payload"], kept["short_message"], kept["text"], kept["data_coding"]) == (payload.hex(), "", text, 8)


def test_each_configured_outcome_reaches_the_receipt(esme, sim):
    outcomes = {"DELIVRD": (2, 0), "UNDELIV": (5, 1), "EXPIRED": (3, 27), "REJECTD": (8, 11), "DELETED": (4, 0), "UNKNOWN": (7, 999), "ACCEPTD": (6, 0)}
    rules = [{"prefix": f"4470{number}", "stat": stat, "err": err} for number, (stat, (_, err)) in enumerate(outcomes.items())]
    sim.post("/behaviour", {"receipt_rules": [{"prefix": "447", "stat": "EXPIRED"}, *rules], "receipt_delay": 0})
    for number, (stat, (state, err)) in enumerate(outcomes.items()):
        message_id = esme.accepted(esme.submit(f"4470{number}0000"))
        receipt = esme.delivered()
        fields = RECEIPT.fullmatch(receipt.short_message.decode())
        assert (fields[1], fields[2], fields[5], fields[6]) == (message_id, "001" if stat == "DELIVRD" else "000", stat, f"{err:03d}")
        assert receipt.tlvs[MESSAGE_STATE] == bytes([state])
    esme.accepted(esme.submit("44799"))
    assert RECEIPT.fullmatch(esme.delivered().short_message.decode())[5] == "EXPIRED"  # the shorter prefix, where no longer one matches


def test_receipts_only_when_asked(esme, sim):
    sim.post("/behaviour", {"receipt_rules": [{"prefix": "9", "stat": "UNDELIV"}], "receipt_delay": 0})
    esme.accepted(esme.submit("447700900123", registered_delivery=0))
    esme.accepted(esme.submit("447700900123", registered_delivery=2))  # on failure only, and it is delivered
    esme.accepted(esme.submit("9123", registered_delivery=2))
    assert RECEIPT.fullmatch(esme.delivered().short_message.decode())[5] == "UNDELIV"
    time.sleep(0.2)
    assert sim.get("/stats")["counters"]["receipts"] == 1


def test_receipt_goes_to_a_receiver_bind_and_waits_for_one(sim):
    sim.post("/behaviour", {"receipt_delay": 0})
    transmitter = Esme(sim.port)
    transmitter.bind(BIND_TRANSMITTER)
    message_id = transmitter.accepted(transmitter.submit("447700900123"))
    time.sleep(0.2)
    assert sim.get("/stats")["pending_deliveries"] == 1
    receiver = Esme(sim.port)
    receiver.bind(BIND_RECEIVER)
    assert receiver.delivered().tlvs[RECEIPTED_MESSAGE_ID] == message_id.encode() + b"\0"
    assert sim.get("/stats")["pending_deliveries"] == 0


def test_quirk_receipt_before_response(esme, sim):
    sim.post("/behaviour", {"receipt_before_response": True, "receipt_delay": 5})
    sequence = esme.submit("447700900123")
    receipt = esme.delivered()
    message_id = esme.accepted(sequence)
    assert receipt.tlvs[RECEIPTED_MESSAGE_ID] == message_id.encode() + b"\0"


def test_held_receipts_go_out_together_when_released(esme, sim):
    sim.post("/behaviour", {"hold_receipts": True, "receipt_delay": 0})
    message_ids = [esme.accepted(esme.submit(f"44770090012{number}")) for number in range(3)]
    time.sleep(0.2)
    assert sim.get("/stats")["counters"]["receipts"] == 3
    sim.post("/behaviour", {"hold_receipts": False})
    assert [esme.delivered().tlvs[RECEIPTED_MESSAGE_ID] for _ in message_ids] == [message_id.encode() + b"\0" for message_id in message_ids]


def test_quirk_decimal_receipt_ids(esme, sim):
    sim.post("/behaviour", {"decimal_receipt_ids": True, "receipt_delay": 0})
    message_id = esme.accepted(esme.submit("447700900123"))
    receipt = esme.delivered()
    decimal = str(int(message_id, 16))
    assert RECEIPT.fullmatch(receipt.short_message.decode())[1] == decimal
    assert receipt.tlvs[RECEIPTED_MESSAGE_ID] == decimal.encode() + b"\0"


def test_quirks_and_throttle_from_the_command_line():
    with started("--decimal-receipt-ids", "--receipt-before-response", "--throttle-per-second", "3", "--receipt-delay", "2") as simulator:
        behaviour = simulator.get("/behaviour")
        assert (behaviour["decimal_receipt_ids"], behaviour["receipt_before_response"], behaviour["throttle_per_second"], behaviour["receipt_delay"]) == (True, True, 3, 2)
        esme = Esme(simulator.port)
        esme.bind(system_id="trunkline", password="secret")  # the defaults
        sequence = esme.submit("447700900123")
        receipt = esme.delivered()
        assert receipt.tlvs[RECEIPTED_MESSAGE_ID] == str(int(esme.accepted(sequence), 16)).encode() + b"\0"
        esme.close()


def test_throttling_beyond_the_rate(esme, sim):
    sim.post("/behaviour", {"throttle_per_second": 5})
    sequences = [esme.submit("447700900123", registered_delivery=0) for _ in range(8)]
    assert [esme.expect(SUBMIT_SM | RESP, sequence).status for sequence in sequences] == [0] * 5 + [0x58] * 3
    time.sleep(1.05)
    esme.accepted(esme.submit("447700900123", registered_delivery=0))
    assert sim.get("/stats")["counters"]["throttled"] == 3


def test_fail_next_throttled_then_queue_full(esme, sim):
    assert sim.post("/fail-next", {"status": "throttled", "count": 2}) == {"status": "throttled", "count": 2}
    statuses = [esme.expect(SUBMIT_SM | RESP, esme.submit("447700900123", registered_delivery=0)).status for _ in range(3)]
    assert statuses == [0x58, 0x58, 0]
    sim.post("/fail-next", {"status": "queue_full"})
    statuses = [esme.expect(SUBMIT_SM | RESP, esme.submit("447700900123", registered_delivery=0)).status for _ in range(2)]
    assert statuses == [0x14, 0]
    assert sim.control.post("/fail-next", json={"status": "on fire"}).status_code == 422


def test_permanent_error_by_destination_prefix(esme, sim):
    sim.post("/behaviour", {"reject_rules": [{"prefix": "999"}, {"prefix": "9998", "status": "ESME_RINVSRCADR"}]})
    assert esme.expect(SUBMIT_SM | RESP, esme.submit("9991234")).status == 0x0B  # ESME_RINVDSTADR, the default
    assert esme.expect(SUBMIT_SM | RESP, esme.submit("9998123")).status == 0x0A
    esme.accepted(esme.submit("447700900123", registered_delivery=0))
    assert sim.get("/stats")["counters"]["rejected"] == 2
    assert sim.control.post("/behaviour", json={"reject_rules": [{"prefix": "1", "status": "ESME_RNOTREAL"}]}).status_code == 422


def test_mo_in_the_gsm_alphabet(esme, sim):
    sent = sim.post("/mo", {"source_addr": "447700900555", "destination_addr": "12345", "text": "Price: 5€ @home {ok}", "dest_addr_ton": 3})
    assert sent == {"parts": 1, "data_coding": 0, "delivered": True}
    mo = esme.delivered()
    assert (mo.source, mo.source_ton, mo.destination, mo.esm_class, mo.data_coding, mo.tlvs) == ("447700900555", 1, "12345", 0, 0, {})
    assert mo.short_message == b"Price: 5\x1b\x65 \x00home \x1b\x28ok\x1b\x29"  # unpacked septets, the extension table behind 0x1B


def test_mo_concatenated_ucs2_and_gsm(esme, sim):
    text = ("Съешь же ещё этих мягких французских булок, да выпей чаю. " * 2)[:100]  # 67 UCS-2 characters a part
    assert sim.post("/mo", {"source_addr": "447700900555", "destination_addr": "12345", "text": text}) == {"parts": 2, "data_coding": 8, "delivered": True}
    parts = [esme.delivered(), esme.delivered()]
    assert [(part.esm_class, part.data_coding) for part in parts] == [(0x40, 8), (0x40, 8)]
    headers = [part.short_message[:6] for part in parts]
    assert headers[0][:4] == headers[1][:4] and headers[0][:3] == b"\x05\x00\x03" and [header[4:] for header in headers] == [b"\x02\x01", b"\x02\x02"]
    assert len(parts[0].short_message) == 6 + 134
    assert b"".join(part.short_message[6:] for part in parts).decode("utf-16-be") == text

    long_gsm = "0123456789" * 20
    assert sim.post("/mo", {"source_addr": "447700900555", "destination_addr": "12345", "text": long_gsm})["parts"] == 2
    parts = [esme.delivered(), esme.delivered()]
    assert [len(part.short_message) for part in parts] == [6 + 153, 6 + 47] and parts[0].short_message[3] != headers[0][3]  # a new reference
    assert b"".join(part.short_message[6:] for part in parts).decode() == long_gsm


def test_mo_without_a_receiver_waits_for_one(sim):
    assert sim.post("/mo", {"source_addr": "447700900555", "destination_addr": "12345", "text": "Hi"})["delivered"] is False
    esme = Esme(sim.port)
    esme.bind(BIND_RECEIVER)
    assert esme.delivered().short_message == b"Hi"
    assert sim.control.post("/mo", json={"source_addr": "4477", "destination_addr": "1", "text": "x" * 40_000}).status_code == 422  # over 255 parts


def test_disconnect_now(sim):
    clients = [Esme(sim.port) for _ in range(2)]
    for client in clients:
        client.bind()
    assert sim.post("/disconnect") == {"dropped": 2}
    assert all(client.closed() for client in clients)
    assert Esme(sim.port).bind().status == 0


def test_disconnect_after_submits_leaves_them_unanswered(esme, sim):
    assert sim.post("/disconnect", {"after_submits": 2}) == {"dropped": 0, "after_submits": 2}
    esme.submit("447700900123")
    esme.submit("447700900123")
    assert esme.closed()  # nothing came before the close
    counters = sim.get("/stats")["counters"]
    assert (counters["unanswered"], counters.get("accepted", 0)) == (2, 0)


def test_window_of_fifty_is_answered_in_order(esme, sim):
    sequences = [esme.submit("447700900123", registered_delivery=0) for _ in range(50)]
    answers = [esme.read() for _ in sequences]
    assert [(answer.command, answer.status, answer.sequence) for answer in answers] == [(SUBMIT_SM | RESP, 0, sequence) for sequence in sequences]
    assert len({answer.body for answer in answers}) == 50


def test_garbage_gets_generic_nack_and_the_server_stays_up(sim):
    noise = Esme(sim.port)
    noise.socket.sendall(b"GET / HTTP/1.1\r\nHost: smsc\r\n\r\n")  # a command_length of 1.2 GB
    nack = noise.expect(GENERIC_NACK)
    assert nack.status == 0x02 and noise.closed()  # ESME_RINVCMDLEN, and no telling where a next PDU would start

    esme = Esme(sim.port)
    assert esme.expect(GENERIC_NACK, esme.send(0x0BADF00D, b"junk")).status == 0x03  # ESME_RINVCMDID
    assert esme.bind().status == 0
    truncated = esme.send(SUBMIT_SM, b"\0\x01\x01447700")
    assert esme.expect(SUBMIT_SM | RESP, truncated).status != 0  # a known command with a bad body: its own response
    assert esme.expect(GENERIC_NACK, esme.send(0x03, b"A1\0\x01\x01447700900001\0")).status == 0x03  # query_sm: not simulated
    assert esme.expect(ENQUIRE_LINK | RESP, esme.send(ENQUIRE_LINK)).status == 0

    random = __import__("random").Random(7)
    for _ in range(300):
        command = random.choice([SUBMIT_SM, BIND_TRANSCEIVER, ENQUIRE_LINK, DELIVER_SM | RESP, random.getrandbits(32)])
        fuzz = Esme(sim.port)
        fuzz.send(command, random.randbytes(random.randrange(0, 80)))
        fuzz.close()
    assert esme.expect(ENQUIRE_LINK | RESP, esme.send(ENQUIRE_LINK)).status == 0
    assert Esme(sim.port).bind().status == 0
