"""Sends accepted messages through their SMSC connections, and applies what the SMSCs report.

Runs inside `trunkline serve` (and `trunkline worker`): it claims due messages from the database
(`repository.claim_due`), so a message accepted before a crash is sent after the restart, and
several dispatchers share the work. Each SMSC connection has one SMPP session here
(`smsc.session`), which keeps its window, its rate and its bind; every segment of a message is
submitted, and the message is submitted once all are acknowledged. Throttled or queue-full
answers and a dropped connection put the unacknowledged rest back in the queue with a backoff
(a segment whose acknowledgement was lost is sent again: delivery is at least once); any other
error fails the message with the SMSC's code, and its price goes back to the account.
"""

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from trunkline.kit.clock import utcnow
from trunkline.kit.secretbox import SecretBox
from trunkline.messages import delivery, events, service
from trunkline.messages import repository as store
from trunkline.messages.encoding import decode, encode, measure
from trunkline.messages.schemas import MessageStatus
from trunkline.smsc import service as smsc
from trunkline.smsc.session import Inbound, Outcome, Session, SubmitOutcome, SubmitRequest

log = logging.getLogger("trunkline.messages.dispatcher")
# A claimed message is ours until its claim lapses; messages still being sent are claimed again
# every RENEW seconds, so one whose dispatcher died is taken over within CLAIM.
CLAIM = timedelta(seconds=20)
RENEW = 5.0
BIND_WAIT = 10.0  # seconds a message waits for its connection to bind before it goes back in the queue
BATCH = 500  # messages claimed at once
IDLE = 1.0  # seconds between looks at the queue when nothing wakes it
UDHI = 0x40  # esm_class: the short message starts with a user data header
BACKOFF = (2, 5, 15, 30, 60, 120, 300)  # seconds before the next try, by attempt; the last repeats


def backoff(attempts: int) -> timedelta:
    """Delay before try `attempts + 1`, with ±20 % jitter so that a whole queue does not return at once."""
    base = BACKOFF[min(attempts, len(BACKOFF) - 1)]
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


class MessageDispatcher:
    def __init__(self, engine: Engine, secrets: SecretBox) -> None:
        self.engine, self.secrets = engine, secrets
        self.writes = Writes(engine)
        self._sessions: dict[int, tuple[object, Session]] = {}  # connection id -> (its row's updated_at, session)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        self._sending: set[asyncio.Task] = set()
        self._in_flight: set[int] = set()  # messages being sent here
        self._parts = Parts()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._run(), name="message-dispatcher"), asyncio.create_task(self._renew(), name="message-claims"),
                       asyncio.create_task(self.writes.run(), name="message-writes")]

    def wake(self) -> None:
        """Look at the queue now (callable from any thread): a message was accepted."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        for task in self._tasks[:2]:
            task.cancel()
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._tasks[:2], *self._sending, return_exceptions=True)
        for _, session in self._sessions.values():
            await session.stop()
        self._sessions.clear()
        await self.writes.drain()
        for task in self._tasks[2:]:
            task.cancel()
        await asyncio.gather(*self._tasks[2:], return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                claimed = await run_in_threadpool(self._claim)
                sessions = {connection_id: await self._session(org_id, connection_id) for org_id, connection_id in {(m.org_id, m.connection_id) for m in claimed}}
            except Exception:  # the database is out of reach: try again later
                log.exception("claiming messages failed")
                claimed = []
            for message in claimed:
                if message.id in self._in_flight:  # still ours from an earlier claim
                    continue
                self._in_flight.add(message.id)
                task = asyncio.create_task(self._send(message, sessions[message.connection_id]))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
            if len(claimed) < BATCH:
                try:
                    await asyncio.wait_for(self._wake.wait(), IDLE)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW)
            if self._in_flight:
                held = list(self._in_flight)
                try:
                    await self.writes.do(lambda conn: store.extend_claims(conn, held, utcnow() + CLAIM))
                except Exception:  # the database is out of reach: the claims may lapse, and the messages go again
                    log.exception("renewing message claims failed")

    def _claim(self) -> list:
        """Due messages, claimed; the ones accepted are now queued."""
        now = utcnow()
        with self.engine.begin() as conn:
            claimed = store.claim_due(conn, now, now + CLAIM, BATCH)
            fresh = [message for message in claimed if message.status == MessageStatus.accepted]
            if fresh:
                store.mark_queued(conn, [message.id for message in fresh], now)
                events.announce(conn, [(message.org_id, message.id, MessageStatus.queued.value) for message in fresh], now)
        return claimed

    async def _session(self, org_id: int, connection_id: int) -> Session:
        """The session of the connection, (re)started when the connection changed."""
        changed, settings = await run_in_threadpool(self._settings, org_id, connection_id)
        known = self._sessions.get(connection_id)
        if known is not None and known[0] == changed:
            return known[1]
        if known is not None:
            await known[1].stop()
        session = Session(
            settings,
            on_receipt=lambda receipt, _reference: self.writes.add(delivery.receipts, (connection_id, receipt)),
            on_inbound=lambda inbound: self._inbound(org_id, connection_id, inbound),
        )
        self._sessions[connection_id] = (changed, session)
        session.start()
        return session

    def _settings(self, org_id: int, connection_id: int):
        """(when the connection last changed, what its session needs)."""
        with self.engine.connect() as conn:
            return smsc.find_connection(conn, org_id, connection_id).updated_at, smsc.session_settings(conn, org_id, connection_id, self.secrets.open)

    async def _send(self, message, session: Session) -> None:
        try:
            await self._try(message, session)
        except Exception:  # the claim lapses and the message is tried again
            log.exception("sending message %s failed", message.id)
        finally:
            self._in_flight.discard(message.id)

    async def _try(self, message, session: Session) -> None:
        if message.expires_at is not None and message.expires_at <= utcnow():
            ending = service.Ending(message, MessageStatus.expired, None, "validity ended before it could be sent")
            await self.writes.do(lambda conn: service.finish(conn, [ending], utcnow()))
            return
        try:
            await asyncio.wait_for(session.wait_bound(), BIND_WAIT)
        except TimeoutError:
            await self.writes.do(lambda conn: self._again(conn, message, SubmitOutcome(Outcome.unknown), f"the SMSC is out of reach: {session.last_error}"))
            return
        encoded = encode(self.secrets.open(message.sealed_text) if message.sealed_text else message.text, message.id & 0xFF)
        ids, answer = [], None
        validity = int((message.expires_at - utcnow()).total_seconds()) if message.expires_at else None
        for part in encoded.parts:
            answer = await session.submit(SubmitRequest(
                source=message.sender, destination=message.recipient, short_message=part, data_coding=encoded.data_coding,
                esm_class=UDHI if encoded.esm_class_udhi else 0, validity=validity,
            ))
            if answer.outcome is not Outcome.accepted:
                break
            ids.append(answer.message_id)
        if answer.outcome is Outcome.accepted:
            await self.writes.add(delivery.submitted, delivery.Acknowledged(message, message.connection_id, ids))
        elif answer.outcome is Outcome.failed:
            ending = service.Ending(message, MessageStatus.failed, answer.command_status, f"the SMSC refused it: command_status 0x{answer.command_status:08X}")
            await self.writes.do(lambda conn: service.finish(conn, [ending], utcnow()))
        else:
            await self.writes.do(lambda conn: self._again(conn, message, answer))

    @staticmethod
    def _again(conn, message, answer: SubmitOutcome, why: str | None = None) -> None:
        """Back in the queue after a throttled, queue-full or unanswered submit, or an SMSC out of
        reach; the segments sent already go again with the rest (at least once)."""
        now = utcnow()
        attempts = message.attempts + 1
        if why is None:
            why = "no answer from the SMSC (it may have it)" if answer.outcome is Outcome.unknown else f"the SMSC asked to retry later: command_status 0x{answer.command_status:08X}"
        store.set_status(conn, message.id, {"attempts": attempts, "next_attempt_at": now + backoff(attempts - 1), "claimed_until": None}, now)
        store.add_events(conn, [(message.id, MessageStatus.queued.value, answer.command_status, why)], now)

    async def _inbound(self, org_id: int, connection_id: int, inbound: Inbound) -> None:
        """An MO message; a concatenated one is stored once all its parts arrived (see `Parts`)."""
        decoded = decode(inbound.data_coding, inbound.short_message, bool(inbound.esm_class & UDHI))
        text = self._parts.add(connection_id, inbound.source, decoded)
        if text is None:
            return
        counted = measure(text)
        await self.writes.do(lambda conn: delivery.inbound(conn, org_id, inbound.source.lstrip("+"), inbound.destination.lstrip("+"), text, counted.encoding, counted.segments, utcnow()))


class Writes:
    """What the dispatcher records, in arrival order, many to a transaction: a message's segments
    acknowledged, receipts, retries, inbound texts. One writer keeps them ordered (a receipt that
    beats its submit_sm_resp is kept early and then found, never lost between two transactions),
    and one commit for everything that arrived meanwhile keeps up with an SMSC's pace. Items of
    one kind in a row go to their bulk function together (a few statements for hundreds of
    receipts). `add` and `do` return once their work is committed: a receipt is acknowledged to
    the SMSC only then."""

    MOST = 500  # items per transaction

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: asyncio.Queue = asyncio.Queue()

    async def add(self, bulk: Callable[[Connection, list, datetime], None], item) -> None:
        """Record `item` with `bulk(conn, items, now)`, which records many at once."""
        done = asyncio.get_running_loop().create_future()
        await self._queue.put((bulk, item, done))
        await done

    async def do(self, work: Callable[[Connection], None]) -> None:
        """Run `work` in the writer's transaction."""
        await self.add(_each, work)

    async def drain(self) -> None:
        """Wait until everything queued so far is written."""
        await self.do(lambda conn: None)

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.MOST and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await run_in_threadpool(self._commit, batch)
                outcomes = [None] * len(batch)
            except Exception:  # one of them failed: each again on its own, so the others are kept
                outcomes = [await self._alone(entry) for entry in batch]
            for (_, _, done), failure in zip(batch, outcomes):
                if not done.done():
                    done.set_result(None) if failure is None else done.set_exception(failure)

    def _commit(self, batch: list) -> None:
        with self.engine.begin() as conn:
            now = utcnow()
            for bulk, run in itertools.groupby(batch, key=lambda entry: entry[0]):
                bulk(conn, [item for _, item, _ in run], now)

    async def _alone(self, entry) -> Exception | None:
        try:
            await run_in_threadpool(self._commit, [entry])
        except Exception as exc:
            return exc
        return None


def _each(conn: Connection, works: list[Callable[[Connection], None]], _now: datetime) -> None:
    for work in works:
        work(conn)


class Parts:
    """Concatenated MO messages put back together: parts are held by (connection, sender,
    reference) until the last one arrives, for at most HOLD seconds. Held in memory: a part the
    server acknowledged and then lost in a crash is gone, as Kannel's and Jasmin's are."""

    HOLD = 300.0

    def __init__(self) -> None:
        self._held: dict[tuple[int, str, int], tuple[float, dict[int, str], int]] = {}

    def add(self, connection_id: int, sender: str, decoded) -> str | None:
        """The whole text once `decoded` completes its message (at once for a single part)."""
        if decoded.concat is None:
            return decoded.text
        reference, total, sequence = decoded.concat
        now = time.monotonic()
        self._held = {key: held for key, held in self._held.items() if now - held[0] < self.HOLD}
        key = (connection_id, sender, reference)
        _, texts, _ = self._held.setdefault(key, (now, {}, total))
        texts[sequence] = decoded.text
        if len(texts) < total:
            return None
        del self._held[key]
        return "".join(texts[number] for number in sorted(texts))
