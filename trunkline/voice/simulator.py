"""A simulated dialer: no network, no telephony. Every call goes queued → dialing → completed
after `delay` seconds per step, so the API can be exercised end to end without a switch."""

import asyncio

from trunkline.voice.dialer import CallRequest, DialResult, Progress, no_progress


class SimulatedDialer:
    name = "simulator"

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay

    async def originate(self, request: CallRequest, progress: Progress = no_progress) -> DialResult:
        await asyncio.sleep(self.delay)
        await progress("dialing", f"Simulated: dialing {request.callee}")
        await asyncio.sleep(self.delay)
        return DialResult("completed", f"Simulated: played {len(request.whisper_text)} characters to {request.callee}")
