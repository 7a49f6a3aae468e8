"""Expires pending verifications whose time ran out, so `verification.expired` reaches webhooks
when it happens rather than at the next check. Runs beside the message dispatcher, in `trunkline
serve` and `trunkline worker`; several at once expire each verification once (repository)."""

import asyncio
import contextlib
import logging

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from trunkline.kit.clock import utcnow
from trunkline.verifications import service

EVERY = 1.0  # seconds between looks
log = logging.getLogger("trunkline.verifications")


class Expirer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="verification-expiry")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await run_in_threadpool(self._expire)
            except Exception:  # the database is out of reach: look again later
                log.exception("expiring verifications failed")
            await asyncio.sleep(EVERY)

    def _expire(self) -> None:
        with self.engine.begin() as conn:
            service.expire_due(conn, utcnow())
