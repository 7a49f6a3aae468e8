"""The delivery loop: claim a batch of due deliveries, post them all at once, record every
attempt, and again; when nothing is due, look again every `IDLE` seconds.

It runs inside `trunkline serve` (unless TRUNKLINE_DISPATCH=false) and in `trunkline worker`;
any number of them share one database (see `claims`). Posts use httpx without redirects, with
a deadline of `timeout` seconds for the whole answer, through the address guard unless the
operator allows private addresses. The clock is injected, so tests walk the retry schedule
without waiting for it.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine

from trunkline.kit import ids
from trunkline.kit.clock import utcnow
from trunkline.kit.config import Settings
from trunkline.kit.secretbox import SecretBox, SecretUnreadable
from trunkline.webhooks import addresses, claims, outbox
from trunkline.webhooks.claims import SHORT, Job, Outcome
from trunkline.webhooks.signing import Signer

BATCH = 100  # deliveries claimed, and posted concurrently, at a time
IDLE = 0.25  # seconds between looks while nothing is due
PURGE_EVERY = 3600.0  # seconds
USER_AGENT = "Trunkline-Webhooks/1"
log = logging.getLogger("trunkline.webhooks")


class Dispatcher:
    """Delivers the outbox until stopped (`start`/`stop`), or one batch at a time (`run_once`)."""

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        *,
        timeout: float = 10.0,
        allow_private: bool = False,
        keep: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] = utcnow,
        batch: int = BATCH,
    ) -> None:
        self.engine = engine
        self.box = box
        self.timeout = timeout
        self.allow_private = allow_private
        self.keep = keep
        self.clock = clock
        self.batch = batch
        # A claim outlives the batch it is posted in (every post ends within `timeout`), with room
        # for a slow database; a worker that died is taken over once it ends.
        self.lease = timedelta(seconds=2 * timeout + 5)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    def lanes(self) -> "Lanes":
        """The HTTP clients for `run_once` (`async with`): connections kept alive between batches."""
        return Lanes(self.batch, self.allow_private, self.timeout)

    async def run_once(self, lanes: "Lanes") -> int:
        """Claim one batch of due deliveries, post them concurrently and record the attempts;
        how many were attempted."""
        jobs = await asyncio.to_thread(self._claim, self.clock())
        if not jobs:
            return 0
        signers = self._signers(jobs)
        outcomes = await asyncio.gather(*(self._post(lanes[number], job, signers[job.secrets]) for number, job in enumerate(jobs)))
        await asyncio.to_thread(self._settle, outcomes)
        return len(jobs)

    def start(self) -> None:
        """Deliver in the background of the running event loop until `stop`."""
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Let the batch in flight finish and be recorded (bounded by its deadline), then stop;
        a batch cut short is delivered again when its claim ends."""
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(self._task, self.timeout + 5)
        except TimeoutError:
            log.warning("stopping webhook delivery: the batch in flight was cut short")
        self._task = None

    async def _run(self) -> None:
        purged = float("-inf")
        async with self.lanes() as lanes:
            while not self._stopping.is_set():
                try:
                    attempted = await self.run_once(lanes)
                    if time.monotonic() - purged > PURGE_EVERY:
                        await asyncio.to_thread(self._purge)
                        purged = time.monotonic()
                except Exception:  # the database is out of reach, say: try again after a pause
                    log.exception("webhook delivery failed")
                    attempted = 0
                if attempted < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), IDLE)

    def _claim(self, now: datetime) -> list[Job]:
        with self.engine.begin() as conn:
            return claims.claim(conn, now, self.lease, self.batch)

    def _settle(self, outcomes: list[Outcome]) -> None:
        with self.engine.begin() as conn:
            disabled = claims.settle(conn, outcomes, self.clock())
        for org_id in disabled:
            outbox.forget(org_id)

    def _purge(self) -> None:
        before = self.clock() - self.keep
        while True:
            with self.engine.begin() as conn:
                if claims.purge(conn, before) == 0:
                    return

    def _signers(self, jobs: list[Job]) -> dict[tuple[str, ...], Signer | None]:
        """A signer per distinct set of sealed secrets; None where the server key cannot open them."""
        signers: dict[tuple[str, ...], Signer | None] = {}
        for job in jobs:
            if job.secrets not in signers:
                try:
                    signers[job.secrets] = Signer(*(self.box.open(sealed) for sealed in job.secrets))
                except SecretUnreadable:
                    log.error("webhook %s: its signing secret cannot be decrypted with the server key", ids.encode(job.webhook_id))
                    signers[job.secrets] = None
        return signers

    async def _post(self, client: httpx.AsyncClient, job: Job, signer: Signer | None) -> Outcome:
        at = self.clock()
        started = time.perf_counter()
        status = response = error = None
        if signer is None:
            error = "The signing secret cannot be decrypted with the server key (TRUNKLINE_SECRET_KEY changed?)"
        else:
            try:
                async with asyncio.timeout(self.timeout):
                    async with client.stream("POST", job.url, content=job.body, headers=signer.headers(ids.encode(job.event_id), at, job.body)) as answer:
                        status = answer.status_code
                        response = await _excerpt(answer)
            except TimeoutError:
                error = f"No complete answer within {self.timeout:g} s"
            except Exception as exc:  # refused, unreachable, a broken answer: one job's error, never the batch's
                error = _plain(f"{type(exc).__name__}: {exc}")
        return Outcome(job, at, round(1000 * (time.perf_counter() - started)), status, response, error)


class Lanes:
    """The clients a batch's posts are spread over, one post each. httpcore's pool spends time
    in proportion to its connections on every request: 100 posts at a time to a local receiver
    ran at 390/s through one client of 100 connections and 1,550/s through 100 clients
    (bench/webhooks.py). Each client keeps a few connections, one per receiver it meets."""

    CONNECTIONS = 4  # per client

    def __init__(self, count: int, allow_private: bool, timeout: float) -> None:
        tls = httpx.create_ssl_context(trust_env=False)  # one for all: loading the CA bundle costs
        limits = httpx.Limits(max_connections=self.CONNECTIONS, max_keepalive_connections=self.CONNECTIONS)
        headers = {"user-agent": USER_AGENT, "content-type": "application/json"}
        self.clients = [
            httpx.AsyncClient(transport=addresses.transport(allow_private, limits, tls), timeout=timeout, follow_redirects=False, headers=headers)
            for _ in range(count)
        ]

    def __getitem__(self, number: int) -> httpx.AsyncClient:
        return self.clients[number % len(self.clients)]

    async def __aenter__(self) -> "Lanes":
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients))


async def _excerpt(answer: httpx.Response) -> str | None:
    """The start of the receiver's answer, read no further than that."""
    data = b""
    async for chunk in answer.aiter_bytes():
        data += chunk
        if len(data) >= SHORT:
            break
    return _plain(data[:SHORT].decode(errors="replace")) or None


def _plain(text: str) -> str:
    """Text any database stores (PostgreSQL refuses NUL), cut to the column's length."""
    return text.replace("\x00", "\ufffd")[:SHORT]


def from_settings(engine: Engine, box: SecretBox, settings: Settings) -> Dispatcher:
    return Dispatcher(
        engine, box, timeout=settings.webhook_timeout, allow_private=settings.webhooks_allow_private, keep=timedelta(days=settings.webhook_days)
    )
