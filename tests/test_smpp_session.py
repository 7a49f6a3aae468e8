"""The SMPP session (trunkline.smsc.session) against the SMSC simulator run as its own process
(`trunkline smsc-simulator`, on another codec): bind, window and rate, throughput, throttling,
permanent errors, receipts and their quirks, inbound messages, enquire_link, and a connection lost
mid-stream with nothing lost."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from tests.test_smsc_simulator import Simulator, fresh, started
from trunkline.smsc.receipts import Fate, message_key
from trunkline.smsc.session import Inbound, Outcome, Session, SessionSettings, SessionStopped, SubmitRequest

THROTTLED, QUEUE_FULL, INVALID_DESTINATION = 0x58, 0x14, 0x0B


@pytest.fixture(scope="module")
def smsc() -> Iterator[Simulator]:
    with started("--receipt-delay", "0.05") as simulator:
        yield simulator


@pytest.fixture
def sim(smsc: Simulator) -> Simulator:
    return fresh(smsc)


def settings(sim: Simulator, **changes) -> SessionSettings:
    base = {"enquire_link_interval": 5.0, "response_timeout": 5.0, "reconnect_min": 0.05, "reconnect_max": 0.4, "throttled_pause": 0.2}
    return SessionSettings(host="127.0.0.1", port=sim.port, system_id="trunkline", password="secret", **{**base, **changes})


class Got:
    """What the session handed over: receipts with their references, and inbound messages."""

    def __init__(self) -> None:
        self.receipts = []
        self.inbound: list[Inbound] = []

    def receipt(self, receipt, reference) -> None:
        self.receipts.append((receipt, reference))

    async def message(self, message: Inbound) -> None:
        self.inbound.append(message)

    async def until(self, done, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, "not within time"
            await asyncio.sleep(0.02)


@asynccontextmanager
async def bound(sim: Simulator, **changes) -> AsyncIterator[tuple[Session, Got]]:
    got = Got()
    session = Session(settings(sim, **changes), on_receipt=got.receipt, on_inbound=got.message)
    session.start()
    try:
        await asyncio.wait_for(session.wait_bound(), 10)
        yield session, got
    finally:
        await session.stop()


def part(destination: str, text: str, reference: str | None = None, receipt: bool = True) -> SubmitRequest:
    return SubmitRequest("Trunkline", destination, text.encode(), registered_delivery=1 if receipt else 0, reference=reference)


def submits(sim: Simulator) -> list[dict]:
    found, since = [], sim.since
    while True:
        page = sim.get("/submits", since=since, limit=100)
        found += page["submits"]
        if not page["submits"]:
            return found
        since = page["next"]


def test_binds_submits_and_hands_over_the_receipt_with_its_reference(sim):
    async def run():
        async with bound(sim) as (session, got):
            outcome = await session.submit(part("+447700900123", "Hello", "part-1"))
            assert outcome.outcome is Outcome.accepted and outcome.command_status == 0 and outcome.message_id
            sender = await session.submit(SubmitRequest("+447700900001", "447700900123", b"From a number"))
            short_code = await session.submit(SubmitRequest("72345", "447700900123", b"From a short code"))
            await got.until(lambda: len(got.receipts) == 3)
            return outcome, sender, short_code, got.receipts

    outcome, sender, short_code, receipts = asyncio.run(run())
    receipt, reference = next((r, ref) for r, ref in receipts if r.key == message_key(outcome.message_id))
    assert (reference, receipt.state, receipt.fate, receipt.error_code, receipt.text) == ("part-1", "DELIVRD", Fate.delivered, 0, "Hello")
    seen = {s["message_id"]: s for s in submits(sim)}
    first = seen[outcome.message_id]
    assert (first["source_addr"], first["source_addr_ton"], first["source_addr_npi"], first["destination_addr"], first["dest_addr_ton"], first["dest_addr_npi"]) == (
        "Trunkline", 5, 0, "447700900123", 1, 1,
    )
    assert (first["registered_delivery"], first["data_coding"], first["text"]) == (1, 0, "Hello")
    assert (seen[sender.message_id]["source_addr"], seen[sender.message_id]["source_addr_ton"]) == ("447700900001", 1)
    assert (seen[short_code.message_id]["source_addr_ton"], seen[short_code.message_id]["source_addr_npi"]) == (3, 0)
    stats = sim.get("/stats")
    assert stats["counters"]["deliver_sm_resp"] == stats["counters"]["deliver_sm"] == 3 and stats["counters"].get("unbinds", 0) == 1


def test_at_most_window_size_submits_are_outstanding(sim):
    """The SMSC leaves submits unanswered: the 51st waits for a slot of the window, not the wire."""
    sim.post("/disconnect", {"after_submits": 100})  # armed: the next 100 submits get no answer

    async def run():
        async with bound(sim, window_size=50, messages_per_second=10_000) as (session, _):
            sending = asyncio.gather(*(session.submit(part("447700900123", f"window {n}", receipt=False)) for n in range(80)))
            await Got().until(lambda: session.in_flight == 50)
            await asyncio.sleep(0.3)
            held = session.in_flight, sim.get("/stats")["counters"]["submit_sm"]
            sim.post("/reset")  # disarmed
            sim.post("/disconnect")
            return held, await sending, session.binds

    (in_flight, received), outcomes, binds = asyncio.run(run())
    assert (in_flight, received, binds) == (50, 50, 2)
    assert sorted(outcome.outcome for outcome in outcomes) == [Outcome.accepted] * 30 + [Outcome.unknown] * 50


def test_throughput_on_one_connection_with_window_50(sim):
    count = 3000

    async def run():
        async with bound(sim, window_size=50, messages_per_second=10_000) as (session, _):
            most = 0

            async def watch():
                nonlocal most
                while True:
                    most = max(most, session.in_flight)
                    await asyncio.sleep(0)

            watcher = asyncio.create_task(watch())
            began = time.perf_counter()
            outcomes = await asyncio.gather(*(session.submit(part("447700900123", f"load {n}", receipt=False)) for n in range(count)))
            elapsed = time.perf_counter() - began
            watcher.cancel()
            return outcomes, elapsed, most

    outcomes, elapsed, most = asyncio.run(run())
    assert all(outcome.outcome is Outcome.accepted for outcome in outcomes)
    assert len({outcome.message_id for outcome in outcomes}) == count
    assert most <= 50
    rate = count / elapsed
    print(f"\nthroughput: {count} submit_sm in {elapsed:.2f} s on one connection, window 50: {rate:.0f}/s (at most {most} outstanding)")
    assert rate >= 1000


def test_at_most_messages_per_second_are_sent(sim):
    async def run():
        async with bound(sim, messages_per_second=20, window_size=50) as (session, _):
            began = time.perf_counter()
            await asyncio.gather(*(session.submit(part("447700900123", f"paced {n}", receipt=False)) for n in range(30)))
            return time.perf_counter() - began

    assert asyncio.run(run()) >= 29 / 20
    assert len(submits(sim)) == 30


def test_throttled_and_queue_full_are_retry_later_and_pause_the_sends(sim):
    async def run():
        async with bound(sim) as (session, _):
            sim.post("/fail-next", {"status": "throttled", "count": 1})
            throttled = await session.submit(part("447700900123", "one"))
            began = time.perf_counter()
            after_pause = await session.submit(part("447700900123", "two"))
            paused = time.perf_counter() - began
            sim.post("/fail-next", {"status": "queue_full", "count": 1})
            full = await session.submit(part("447700900123", "three"))
            sim.post("/behaviour", {"throttle_per_second": 5})
            burst = await asyncio.gather(*(session.submit(part("447700900123", f"burst {n}", receipt=False)) for n in range(20)))
            return throttled, after_pause, paused, full, burst

    throttled, after_pause, paused, full, burst = asyncio.run(run())
    assert (throttled.outcome, throttled.command_status, throttled.message_id) == (Outcome.retry_later, THROTTLED, None)
    assert after_pause.outcome is Outcome.accepted and paused >= 0.15
    assert (full.outcome, full.command_status) == (Outcome.retry_later, QUEUE_FULL)
    assert {(o.outcome, o.command_status) for o in burst} == {(Outcome.accepted, 0), (Outcome.retry_later, THROTTLED)}


def test_a_permanent_error_fails_with_its_code(sim):
    sim.post("/behaviour", {"reject_rules": [{"prefix": "999", "status": "ESME_RINVDSTADR"}]})

    async def run():
        async with bound(sim) as (session, _):
            return await session.submit(part("999123456", "nowhere")), await session.submit(part("447700900123", "somewhere"))

    refused, fine = asyncio.run(run())
    assert (refused.outcome, refused.command_status, refused.message_id) == (Outcome.failed, INVALID_DESTINATION, None)
    assert fine.outcome is Outcome.accepted


STATES = {"4471": "UNDELIV", "4472": "EXPIRED", "4473": "REJECTD", "4474": "DELETED", "4475": "UNKNOWN", "4476": "ACCEPTD", "4477": "ENROUTE", "4478": "DELIVRD"}
FATES = {
    "UNDELIV": Fate.undeliverable, "EXPIRED": Fate.expired, "REJECTD": Fate.rejected, "DELETED": Fate.undeliverable, "UNKNOWN": Fate.undeliverable,
    "ACCEPTD": Fate.pending, "ENROUTE": Fate.pending, "DELIVRD": Fate.delivered,
}


def test_every_receipt_state_reaches_its_fate(sim):
    sim.post("/behaviour", {"receipt_rules": [{"prefix": prefix, "stat": stat, "err": 0 if stat == "DELIVRD" else 7} for prefix, stat in STATES.items()]})

    async def run():
        async with bound(sim) as (session, got):
            for prefix in STATES:
                assert (await session.submit(part(prefix + "00900123", "state", prefix))).outcome is Outcome.accepted
            await got.until(lambda: len(got.receipts) == len(STATES))
            return got.receipts

    by_reference = {reference: receipt for receipt, reference in asyncio.run(run())}
    assert {prefix: (r.state, r.fate) for prefix, r in by_reference.items()} == {prefix: (stat, FATES[stat]) for prefix, stat in STATES.items()}
    assert by_reference["4471"].error_code == 7 and by_reference["4478"].error_code == 0


@pytest.mark.parametrize("quirks", [{"receipt_before_response": True}, {"decimal_receipt_ids": True}, {"receipt_before_response": True, "decimal_receipt_ids": True}])
def test_receipts_before_their_response_and_with_decimal_ids_find_their_submit(sim, quirks):
    sim.post("/behaviour", quirks)

    async def run():
        async with bound(sim, window_size=20) as (session, got):
            outcomes = await asyncio.gather(*(session.submit(part("447700900123", f"quirk {n}", f"ref-{n}")) for n in range(40)))
            await got.until(lambda: len(got.receipts) == 40)
            return outcomes, got.receipts

    outcomes, receipts = asyncio.run(run())
    keys = {message_key(outcome.message_id): f"ref-{n}" for n, outcome in enumerate(outcomes)}
    assert all(outcome.message_id[0].isalpha() for outcome in outcomes)  # hex ids that start with a letter
    assert {receipt.key: reference for receipt, reference in receipts} == keys
    if quirks.get("decimal_receipt_ids"):
        assert all(receipt.message_id.isdigit() for receipt, _ in receipts)


def test_inbound_messages_and_a_failing_handler(sim):
    async def run():
        async with bound(sim) as (session, got):
            sim.post("/mo", {"source_addr": "447700900123", "destination_addr": "12345", "text": "Hi there"})
            sim.post("/mo", {"source_addr": "447700900124", "destination_addr": "12345", "text": "x" * 200})
            await got.until(lambda: len(got.inbound) == 3)

            async def broken(message):
                raise RuntimeError("the store is down")

            session.on_inbound = broken
            sim.post("/mo", {"source_addr": "447700900125", "destination_addr": "12345", "text": "Lost?"})
            await got.until(lambda: sim.get("/stats")["counters"].get("deliver_sm_resp_errors", 0) == 1)
            return got.inbound

    inbound = asyncio.run(run())
    single = inbound[0]
    assert (single.source, single.destination, single.data_coding, single.esm_class, single.short_message) == ("447700900123", "12345", 0, 0, b"Hi there")
    parts = [message for message in inbound if message.source == "447700900124"]
    assert [message.esm_class for message in parts] == [0x40, 0x40] and all(message.short_message[:3] == b"\x05\x00\x03" for message in parts)
    counters = sim.get("/stats")["counters"]
    assert counters["deliver_sm_resp"] == counters["deliver_sm"] == 4


def test_enquire_link_keeps_the_bind_alive(sim):
    async def run():
        async with bound(sim, enquire_link_interval=0.1) as (session, _):
            await asyncio.sleep(0.6)
            return session.binds

    assert asyncio.run(run()) == 1
    assert sim.get("/stats")["counters"]["enquire_link"] >= 3


def test_transmitter_and_receiver_binds_as_a_pair(sim):
    async def run():
        async with bound(sim, transceiver=False) as (session, got):
            modes = sorted(bind["mode"] for bind in sim.get("/stats")["binds"])
            outcome = await session.submit(part("447700900123", "pair", "pair-1"))
            await got.until(lambda: len(got.receipts) == 1)
            return modes, outcome, got.receipts

    modes, outcome, receipts = asyncio.run(run())
    assert modes == ["receiver", "transmitter"]
    assert receipts[0][0].key == message_key(outcome.message_id) and receipts[0][1] == "pair-1"


def test_a_lost_connection_mid_stream_loses_nothing(sim):
    """Mid-stream the SMSC leaves 5 submits unanswered and drops the connection: each submit then
    outstanding is unknown (it may have arrived), the session binds again, and the caller's resend
    gets every message through."""
    count = 80

    async def run():
        async with bound(sim, window_size=10, messages_per_second=400) as (session, _):
            history: dict[int, list[Outcome]] = {n: [] for n in range(count)}

            async def send(n: int):
                while True:
                    outcome = await session.submit(part("447700900123", f"survive {n}", receipt=False))
                    history[n].append(outcome.outcome)
                    if outcome.outcome is Outcome.accepted:
                        return
                    await asyncio.sleep(0.05)

            async def drop_midway():
                while sum(Outcome.accepted in outcomes for outcomes in history.values()) < 20:
                    await asyncio.sleep(0.005)
                await asyncio.to_thread(sim.post, "/disconnect", {"after_submits": 5})

            began = time.perf_counter()
            await asyncio.gather(drop_midway(), *(send(n) for n in range(count)))
            return history, session.binds, time.perf_counter() - began

    history, binds, elapsed = asyncio.run(run())
    assert binds == 2 and elapsed < 5  # no submit waited for its response timeout: the loss resolved them
    unknown = [n for n, outcomes in history.items() if Outcome.unknown in outcomes]
    assert 5 <= len(unknown) <= 10  # the unanswered ones, and whatever else was outstanding: at most the window
    assert all(outcomes[-1] is Outcome.accepted for outcomes in history.values())
    assert {s["text"] for s in submits(sim)} >= {f"survive {n}" for n in range(count)}
    assert sim.get("/stats")["counters"]["dropped"] >= 1


def test_a_refused_bind_backs_off_and_a_stop_ends_the_waiting_submits(sim):
    async def run():
        session = Session(SessionSettings(host="127.0.0.1", port=sim.port, system_id="trunkline", password="wrong", reconnect_min=0.1, reconnect_max=0.4))
        session.start()
        waiting = asyncio.create_task(session.submit(part("447700900123", "never")))
        await asyncio.sleep(1.0)
        assert not session.bound and session.binds == 0 and "0x0000000e" in session.last_error
        await session.stop()
        with pytest.raises(SessionStopped):
            await waiting
        with pytest.raises(SessionStopped):
            await session.submit(part("447700900123", "after"))
        with pytest.raises(SessionStopped):
            await asyncio.wait_for(session.wait_bound(), 1)

    asyncio.run(run())
    failures = sim.get("/stats")["counters"]["bind_failures"]
    assert 2 <= failures <= 8  # 0.05-0.1 s, then 0.1-0.2, 0.2-0.4, 0.2-0.4 …, not a tight loop
