"""What the simulated SMSC answers to a submit, and what its receipt says: the settings the
control API changes while it runs, the one-shot faults it arms, and the submit rate limit."""

from collections import deque
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator
from smpp.pdu import constants

THROTTLED, QUEUE_FULL, INVALID_DESTINATION = 0x58, 0x14, 0x0B
MESSAGE_STATES = {  # receipt stat -> message_state TLV value (SMPP 3.4 5.2.28)
    "ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8,
}  # fmt: skip
Stat = Literal["ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"]
STATUS_CODES = {entry["name"]: code for code, entry in constants.command_status_value_map.items() if code >= 0}


class ReceiptRule(BaseModel):
    """Destinations starting with `prefix` end in `stat` with `err` (the longest prefix wins)."""

    model_config = ConfigDict(extra="forbid")
    prefix: str
    stat: Stat
    err: int = Field(0, ge=0, le=999)


class RejectRule(BaseModel):
    """Submits to destinations starting with `prefix` are refused with `status` (a name such as
    ESME_RINVDSTADR, or its number)."""

    model_config = ConfigDict(extra="forbid")
    prefix: str
    status: int = INVALID_DESTINATION

    @field_validator("status", mode="before")
    @classmethod
    def _known(cls, value: int | str) -> int:
        code = STATUS_CODES.get(value) if isinstance(value, str) else value
        if code not in STATUS_CODES.values() or code == 0:
            raise ValueError("an SMPP 3.4 error status, by name (ESME_RINVDSTADR) or number (11)")
        return code


class Behaviour(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_delay: float = Field(0.5, ge=0, le=86400, description="seconds between the submit and its receipt")
    decimal_receipt_ids: bool = Field(False, description="quirk: receipts give the message id in decimal, submit_sm_resp in hex")
    receipt_before_response: bool = Field(False, description="quirk: the receipt is sent before the submit_sm_resp")
    throttle_per_second: int = Field(0, ge=0, description="more submits than this within a second get ESME_RTHROTTLED (0: no limit)")
    hold_receipts: bool = Field(False, description="keep every receipt back; setting it false again sends all that were held, at once")
    receipt_rules: list[ReceiptRule] = []
    reject_rules: list[RejectRule] = []

    def outcome(self, destination: str) -> ReceiptRule:
        matches = [rule for rule in self.receipt_rules if destination.startswith(rule.prefix)]
        return max(matches, key=lambda rule: len(rule.prefix), default=ReceiptRule(prefix="", stat="DELIVRD"))

    def rejection(self, destination: str) -> int | None:
        matches = [rule for rule in self.reject_rules if destination.startswith(rule.prefix)]
        return max(matches, key=lambda rule: len(rule.prefix)).status if matches else None


class Verdict(NamedTuple):
    status: int | None  # None: the submit is left unanswered
    drop: bool = False  # drop every connection now


class Gate:
    """Decides each submit's answer: an armed fault first, then the rate limit, then the
    reject rules."""

    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        self.fail_status, self.fail_count = 0, 0
        self.disconnect_after = 0
        self._admitted: deque[float] = deque()  # when the submits of the last second passed the limit

    def fail_next(self, status: int, count: int) -> None:
        self.fail_status, self.fail_count = status, count

    def admit(self, destination: str, now: float) -> Verdict:
        if self.disconnect_after:
            self.disconnect_after -= 1
            return Verdict(None, drop=not self.disconnect_after)
        if self.fail_count:
            self.fail_count -= 1
            return Verdict(self.fail_status)
        if self.behaviour.throttle_per_second:
            while self._admitted and self._admitted[0] <= now - 1:
                self._admitted.popleft()
            if len(self._admitted) >= self.behaviour.throttle_per_second:
                return Verdict(THROTTLED)
            self._admitted.append(now)
        return Verdict(self.behaviour.rejection(destination) or 0)
