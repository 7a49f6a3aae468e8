"""An SMPP 3.4 ESME session on asyncio: bind (one transceiver, or a transmitter beside a
receiver), submit with a window and a rate, receipts and inbound messages, enquire_link, and
reconnection with backoff.

Why smpplib, and only as the codec (compared in December 2026, from PyPI and each project's
repository):

- smpplib 2.2.4 (PyPI January 2025; the python-smpplib project, maintained since 2009, last commits
  December 2024 and January 2025; LGPL, pure Python). Threads and blocking sockets; no window; its
  Client raises on any error status, sends deliver_sm_resp only after the handler returned (and not
  at all for a PDU it cannot parse) and answers a timeout with an enquire_link. But each PDU it reads
  or writes carries its `status` and `sequence`, so correlating and classifying responses is exact,
  and its codec is small and well worn. Used here for the PDUs only; the transport is ours.
- aiosmpplib 0.7.4 (May 2026; one maintainer, since 2022). asyncio, but a submit goes into a broker
  queue and its submit_sm_resp comes back to a hook, not to the caller that sent it; nothing limits
  the submits outstanding (no window); it splits and encodes the text itself, where our parts come
  encoded; the hook gets the submit_sm_resp, its command_status as an enum.
- smpp34 1.5.0 (October 2026, its only release on PyPI; a Rust crate since 2023). asyncio over a
  tokio core, a window and each submit's command_status, but a binary wheel only; enquire_link and
  response timers cannot be set from Python; a lost connection comes back as ESME_RSYSERR, the code
  an SMSC uses for its own failures, so "may have reached the SMSC" cannot be told from "refused";
  and August 2026 fixed bugs that broke sessions at bind and on vendor status codes.

What a submit becomes (`SubmitOutcome`): accepted, with the SMSC's message id; retry_later for
ESME_RTHROTTLED and ESME_RMSGQFUL (and the session pauses its sends); failed, with the code, for
every other status; unknown when it was sent and no answer came (connection lost, or no response in
time): it may have reached the SMSC, so resend it, accepting a duplicate over a loss (at least once).
A submit made while the session is not bound waits for the next bind.
"""

import asyncio
import inspect
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum

from trunkline.smsc import pdus, receipts
from trunkline.smsc.addresses import on_wire, sender_type
from trunkline.smsc.receipts import Receipt, ReceiptError

log = logging.getLogger(__name__)

REMEMBERED = 100_000  # accepted message ids kept to hand their receipts the caller's reference
UNBIND_WAIT = 2.0
_MISSING = object()


class Outcome(StrEnum):
    accepted = "accepted"
    retry_later = "retry_later"
    failed = "failed"
    unknown = "unknown"


@dataclass(frozen=True)
class SubmitRequest:
    """One encoded part of a message (trunkline.messages.encoding makes them)."""

    source: str
    destination: str
    short_message: bytes
    data_coding: int = 0
    esm_class: int = 0
    registered_delivery: int = 1
    validity: int | None = None  # seconds the SMSC may keep trying; None: its own default
    reference: str | None = None  # the caller's own id for the part, handed back with its receipt


@dataclass(frozen=True)
class SubmitOutcome:
    outcome: Outcome
    message_id: str | None = None  # accepted: the SMSC's id, as it wrote it (receipts.message_key for a key)
    command_status: int | None = None  # what the SMSC answered; None when it did not


@dataclass(frozen=True)
class Inbound:
    """A deliver_sm that is not a receipt: a message from a handset (MO)."""

    source: str
    destination: str
    data_coding: int
    esm_class: int
    short_message: bytes  # or its message_payload


@dataclass(frozen=True)
class SessionSettings:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    transceiver: bool = True  # False: a transmitter bind and a receiver bind
    messages_per_second: int = 100
    window_size: int = 10
    source_type: tuple[int, int] | None = None  # (TON, NPI); None: follow each sender's form
    dest_type: tuple[int, int] = (1, 1)
    enquire_link_interval: float = 30.0
    response_timeout: float = 30.0
    connect_timeout: float = 10.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    throttled_pause: float = 1.0  # no submit for this long after ESME_RTHROTTLED or ESME_RMSGQFUL


class SessionStopped(Exception):
    """The session was stopped before the submit could be sent."""


class BindRefused(Exception):
    def __init__(self, command_status: int) -> None:
        super().__init__(f"bind refused with command_status 0x{command_status:08x}")
        self.command_status = command_status


ReceiptHandler = Callable[[Receipt, str | None], Awaitable[None] | None]
InboundHandler = Callable[[Inbound], Awaitable[None] | None]


class _Link:
    """One TCP connection to the SMSC and what is awaited on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sequence = pdus.Sequence()
        self.waiting: dict[int, asyncio.Future] = {}  # bind, enquire_link, unbind
        self.submits: dict[int, tuple[asyncio.Future, SubmitRequest]] = {}
        self.closed = False

    async def read(self) -> bytes:
        head = await self.reader.readexactly(4)
        length = int.from_bytes(head)
        if not pdus.SMALLEST <= length <= pdus.LARGEST:
            raise ConnectionError(f"a PDU of {length} bytes: the stream is out of step")
        return head + await self.reader.readexactly(length - 4)

    def send(self, raw: bytes) -> None:
        self.writer.write(raw)

    async def ask(self, sequence: int, raw: bytes, timeout: float) -> tuple[int, int, bytes]:
        """Send a request and await its response: (command_id, command_status, PDU)."""
        future = asyncio.get_running_loop().create_future()
        self.waiting[sequence] = future
        self.send(raw)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.waiting.pop(sequence, None)

    def close(self) -> None:
        """Close the connection; every submit still awaiting its response is unknown."""
        self.closed = True
        self.writer.close()
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("connection closed"))
        for future, _ in self.submits.values():
            if not future.done():
                future.set_result(SubmitOutcome(Outcome.unknown))
        self.waiting.clear()
        self.submits.clear()


def _outcome(command_id: int, status: int, raw: bytes) -> SubmitOutcome:
    if command_id == pdus.SUBMIT_SM_RESP and status == pdus.ROK:
        return SubmitOutcome(Outcome.accepted, pdus.message_id(raw), status)
    if status in (pdus.THROTTLED, pdus.QUEUE_FULL):
        return SubmitOutcome(Outcome.retry_later, command_status=status)
    return SubmitOutcome(Outcome.failed, command_status=status)


class Session:
    """`start()` in a running loop, `await submit(...)`, `await stop()`. Receipts go to
    `on_receipt(receipt, reference)` and inbound messages to `on_inbound(message)`; either may be a
    coroutine. A deliver_sm is always answered: ESME_ROK once the handler returned (or when it
    cannot be read: resending it would not help), ESME_RX_T_APPN when the handler raised, so the
    SMSC delivers it again later."""

    def __init__(self, settings: SessionSettings, on_receipt: ReceiptHandler | None = None, on_inbound: InboundHandler | None = None) -> None:
        self.settings = settings
        self.on_receipt = on_receipt
        self.on_inbound = on_inbound
        self.binds = 0  # how many times the session has bound
        self.last_error: str | None = None
        self._window = asyncio.Semaphore(settings.window_size)
        self._bound = asyncio.Event()
        self._links: list[_Link] = []
        self._next_send = 0.0
        self._stopping = False
        self._runner: asyncio.Task | None = None
        self._handlers: set[asyncio.Task] = set()
        self._references: OrderedDict[str, str | None] = OrderedDict()
        self._hex_readings: OrderedDict[str, str | None] = OrderedDict()

    @property
    def bound(self) -> bool:
        return self._bound.is_set() and not self._stopping

    @property
    def in_flight(self) -> int:
        """Submits sent and awaiting their response."""
        return sum(len(link.submits) for link in self._links)

    def start(self) -> None:
        self._runner = asyncio.get_running_loop().create_task(self._run(), name=f"smpp {self.settings.host}:{self.settings.port}")

    async def wait_bound(self) -> None:
        await self._bound.wait()
        if self._stopping:
            raise SessionStopped("the session is stopping")

    async def stop(self) -> None:
        """Let the submits sent get their answers and the receipts being handled finish (for up
        to response_timeout), unbind, and close."""
        self._stopping = True
        self._bound.set()  # wakes the submits waiting for a bind: they raise SessionStopped
        pending = [future for link in self._links for future, _ in link.submits.values()] + list(self._handlers)
        if pending:
            await asyncio.wait(pending, timeout=self.settings.response_timeout)
        for link in list(self._links):
            if not link.closed:
                with suppress(ConnectionError, TimeoutError):
                    await link.ask(*pdus.request("unbind", link.sequence), UNBIND_WAIT)
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        for link in self._links:
            link.close()
        self._links = []
        self._bound.set()  # the runner cleared it on its way out: a later wait_bound must not hang

    async def submit(self, request: SubmitRequest) -> SubmitOutcome:
        while True:
            link = await self._transmitter()
            async with self._window:
                await self._pace()
                if link.closed or self._stopping:
                    continue  # lost (or stopping) while waiting its turn: not sent; on the next bind, or SessionStopped
                return await self._send(link, request)

    async def _transmitter(self) -> _Link:
        while True:
            if self._stopping:
                raise SessionStopped("the session is stopping")
            if self._bound.is_set() and self._links:
                return self._links[0]
            await self._bound.wait()

    async def _pace(self) -> None:
        """Hold the submit until its turn: one every 1/messages_per_second seconds."""
        now = asyncio.get_running_loop().time()
        turn = max(now, self._next_send)
        self._next_send = turn + 1 / self.settings.messages_per_second
        if turn > now:
            await asyncio.sleep(turn - now)

    async def _send(self, link: _Link, request: SubmitRequest) -> SubmitOutcome:
        settings = self.settings
        sequence, raw = pdus.submit_sm(
            link.sequence, on_wire(request.source), settings.source_type or sender_type(request.source), on_wire(request.destination),
            settings.dest_type, request.short_message, request.data_coding, request.esm_class, request.registered_delivery,
            pdus.relative_time(request.validity) if request.validity is not None else "",
        )
        future = asyncio.get_running_loop().create_future()
        link.submits[sequence] = (future, request)
        link.send(raw)
        with suppress(ConnectionError):
            await link.writer.drain()  # a lost connection resolves the future: unknown
        try:
            return await asyncio.wait_for(future, settings.response_timeout)
        except TimeoutError:
            link.submits.pop(sequence, None)
            log.warning("no submit_sm_resp from %s:%s within %ss (sequence %s): unknown", settings.host, settings.port, settings.response_timeout, sequence)
            return SubmitOutcome(Outcome.unknown)

    # --- the connection -----------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                self._links = await self._bind()
            except (OSError, TimeoutError, EOFError, BindRefused) as exc:
                self.last_error = f"bind to {self.settings.host}:{self.settings.port} failed: {exc!r}"
                log.warning(self.last_error)
                await self._back_off(failures)
                failures += 1
                continue
            failures = 0
            self.binds += 1
            self.last_error = None
            self._bound.set()
            await self._serve(self._links)
            if not self._stopping:
                await self._back_off(failures)
                failures += 1

    async def _serve(self, links: list[_Link]) -> None:
        """Read and keep alive every link until one fails; then close them all."""
        tasks = [asyncio.create_task(work(link)) for link in links for work in (self._read, self._keep_alive)]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            lost = next(task for task in done).exception()
            if not self._stopping:
                self.last_error = f"connection to {self.settings.host}:{self.settings.port} lost: {lost!r}"
                log.warning(self.last_error)
        finally:
            for task in tasks:
                task.cancel()
            self._bound.clear()
            for link in links:
                link.close()

    async def _back_off(self, failures: int) -> None:
        """Exponential, capped, with jitter: many sessions that lost one SMSC do not come back at once."""
        ceiling = min(self.settings.reconnect_max, self.settings.reconnect_min * 2 ** min(failures, 32))
        await asyncio.sleep(random.uniform(ceiling / 2, ceiling))

    async def _bind(self) -> list[_Link]:
        kinds = (pdus.BIND_TRANSCEIVER,) if self.settings.transceiver else (pdus.BIND_TRANSMITTER, pdus.BIND_RECEIVER)
        links: list[_Link] = []
        try:
            for kind in kinds:
                links.append(await self._bind_one(kind))
        except BaseException:
            for link in links:
                link.close()
            raise
        return links

    async def _bind_one(self, kind: int) -> _Link:
        settings = self.settings
        reader, writer = await asyncio.wait_for(asyncio.open_connection(settings.host, settings.port), settings.connect_timeout)
        link = _Link(reader, writer)
        try:
            sequence, raw = pdus.bind(kind, link.sequence, settings.system_id, settings.password, settings.system_type)
            link.send(raw)
            answer = await asyncio.wait_for(link.read(), settings.response_timeout)
            command_id, status, answered = pdus.header(answer)
            if command_id != kind | pdus.RESPONSE or answered != sequence or status != pdus.ROK:
                raise BindRefused(status if status != pdus.ROK else pdus.INVALID_COMMAND)
        except BaseException:
            link.close()
            raise
        return link

    async def _read(self, link: _Link) -> None:
        while True:
            raw = await link.read()
            command_id, status, sequence = pdus.header(raw)
            if command_id & pdus.RESPONSE:
                self._answered(link, command_id, status, sequence, raw)
            elif command_id == pdus.DELIVER_SM:
                task = asyncio.create_task(self._delivered(link, sequence, raw))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
            elif command_id in (pdus.ENQUIRE_LINK, pdus.UNBIND):
                link.send(pdus.response(command_id, sequence))
                if command_id == pdus.UNBIND:
                    raise ConnectionError("the SMSC unbound")
            else:
                link.send(pdus.response(command_id, sequence, pdus.INVALID_COMMAND))

    async def _keep_alive(self, link: _Link) -> None:
        while True:
            await asyncio.sleep(self.settings.enquire_link_interval)
            try:
                await link.ask(*pdus.request("enquire_link", link.sequence), self.settings.response_timeout)
            except TimeoutError:
                raise ConnectionError(f"no enquire_link_resp within {self.settings.response_timeout}s") from None

    def _answered(self, link: _Link, command_id: int, status: int, sequence: int, raw: bytes) -> None:
        if sequence in link.submits:
            future, request = link.submits.pop(sequence)
            outcome = _outcome(command_id, status, raw)
            if outcome.outcome is Outcome.accepted and outcome.message_id:
                self._remember(outcome.message_id, request.reference)
            elif outcome.outcome is Outcome.retry_later:
                self._next_send = max(self._next_send, asyncio.get_running_loop().time() + self.settings.throttled_pause)
            if not future.done():
                future.set_result(outcome)
        elif sequence in link.waiting:
            future = link.waiting.pop(sequence)
            if not future.done():
                future.set_result((command_id, status, raw))
        else:
            log.info("a response (command_id 0x%08x, sequence %s) to nothing awaited: late, after its timeout", command_id, sequence)

    # --- what the SMSC delivers ---------------------------------------------

    def _remember(self, message_id: str, reference: str | None) -> None:
        for kept, key in ((self._references, receipts.message_key(message_id)), (self._hex_readings, receipts.alternative_key(message_id))):
            if key is not None:
                kept[key] = reference
                if len(kept) > REMEMBERED:
                    kept.popitem(last=False)

    def _recalled(self, message_id: str):
        key = receipts.message_key(message_id)
        found = self._references.get(key, _MISSING)
        return self._hex_readings.get(key, _MISSING) if found is _MISSING else found

    async def _reference(self, receipt: Receipt) -> str | None:
        """The reference the receipt's submit was made with. A receipt may come before its
        submit_sm_resp (an SMSC answering from two threads): then it waits for the submits still
        unanswered, for up to response_timeout."""
        found = self._recalled(receipt.message_id)
        if found is _MISSING:
            unanswered = [future for link in self._links for future, _ in link.submits.values()]
            if unanswered:
                await asyncio.wait(unanswered, timeout=self.settings.response_timeout)
                found = self._recalled(receipt.message_id)
        return None if found is _MISSING else found

    async def _delivered(self, link: _Link, sequence: int, raw: bytes) -> None:
        status = pdus.ROK
        try:
            status = await self._handle(raw)
        finally:
            if not link.closed:
                link.send(pdus.response(pdus.DELIVER_SM, sequence, status))

    async def _handle(self, raw: bytes) -> int:
        try:
            pdu = pdus.deliver_sm(raw)
            tlvs = pdus.tlvs(pdu, raw)
            message = Inbound(pdu.source_addr.decode("latin-1"), pdu.destination_addr.decode("latin-1"), pdu.data_coding or 0, pdu.esm_class or 0,
                              pdu.short_message or tlvs.get(pdus.MESSAGE_PAYLOAD, b""))
        except Exception:  # the codec raises what it meets (struct.error, IndexError, its own), or leaves fields None: unreadable
            log.exception("a deliver_sm that cannot be read, answered and dropped: %s", raw.hex())
            return pdus.ROK
        receipted = tlvs.get(pdus.RECEIPTED_MESSAGE_ID, b"").rstrip(b"\x00").decode("latin-1") or None
        state = tlvs.get(pdus.MESSAGE_STATE, b"")
        if receipts.is_receipt(message.esm_class, message.short_message, receipted):
            try:
                receipt = receipts.parse(message.short_message, receipted, state[0] if len(state) == 1 else None)
            except ReceiptError as exc:
                log.warning("a receipt that cannot be read, answered and dropped (%s): %s", exc, raw.hex())
                return pdus.ROK
            handler, arguments = self.on_receipt, (receipt, await self._reference(receipt))
        else:
            handler, arguments = self.on_inbound, (message,)
        if handler is None:
            return pdus.ROK
        try:
            result = handler(*arguments)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("the handler of a deliver_sm failed: answered ESME_RX_T_APPN, the SMSC delivers it again")
            return pdus.APP_TEMPORARY
        return pdus.ROK
