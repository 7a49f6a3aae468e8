"""Running rapid-response calls: the dispatcher and the dialer the settings choose.

A route stores the call request as `queued` and hands it to `Dispatcher.submit`, which originates
in a background task (kept referenced until done) and writes every status change to call_requests.
"""

import asyncio
import logging

from sqlalchemy import Engine

from trunkline.kit.clock import utcnow
from trunkline.voice import repository as call_requests
from trunkline.voice.dialer import CallRequest, Dialer, DialResult
from trunkline.voice.freeswitch_esl import FreeSwitchDialer
from trunkline.voice.simulator import SimulatedDialer

log = logging.getLogger(__name__)


class Dispatcher:
    """Runs originations in the background and records their statuses."""

    def __init__(self, engine: Engine, dialer: Dialer) -> None:
        self.engine = engine
        self.dialer = dialer
        self.tasks: set[asyncio.Task] = set()

    def submit(self, request: CallRequest) -> None:
        task = asyncio.get_running_loop().create_task(self._run(request))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _record(self, request_id: int, status: str, detail: str) -> None:
        def write() -> None:
            with self.engine.begin() as conn:
                call_requests.set_status(conn, request_id, status, detail[:500], utcnow())

        await asyncio.to_thread(write)

    async def _run(self, request: CallRequest) -> None:
        async def progress(status: str, detail: str) -> None:
            await self._record(request.id, status, detail)

        try:
            result = await self.dialer.originate(request, progress)
        except asyncio.CancelledError:
            await self._record(request.id, "failed", "Cancelled: the server shut down")
            raise
        except Exception as exc:  # a dialer bug must still leave a final status
            log.exception("originate failed")
            result = DialResult("failed", f"Dialer error: {type(exc).__name__}")
        await self._record(request.id, result.status, result.detail)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def make_dialer(settings) -> Dialer:
    """The dialer the settings choose: the built-in simulator (default) or FreeSWITCH over the event socket."""
    if settings.dialer == "freeswitch":
        return FreeSwitchDialer(
            settings.esl_host, settings.esl_port, settings.esl_password, settings.esl_dial_string, settings.esl_timeout
        )
    return SimulatedDialer(settings.dialer_simulator_delay)
