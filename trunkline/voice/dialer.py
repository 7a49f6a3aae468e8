"""Placing a rapid-response call: the small `Dialer` interface every dialer implements
(`simulator`, `freeswitch_esl`), and what it is given and answers."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CallRequest:
    id: int
    account_id: str
    callee: str  # digits only (normalized)
    whisper_text: str


@dataclass(frozen=True)
class DialResult:
    status: str  # "dialing", "completed" or "failed"
    detail: str
    job_uuid: str | None = None


Progress = Callable[[str, str], Awaitable[None]]


async def no_progress(status: str, detail: str) -> None:
    return None


class Dialer(Protocol):
    name: str

    async def originate(self, request: CallRequest, progress: Progress = no_progress) -> DialResult:
        """Place the call; `progress(status, detail)` reports intermediate states; returns the last one."""
        ...
