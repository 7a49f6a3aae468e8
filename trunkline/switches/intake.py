"""What a switch push becomes: the CDRs to store (each billed or not), and the records to hold.
Reading only: `pushes.service` stores the one and holds the other.

The rule for switch pushes, which cannot edit their history and retry until they get a 2xx:
every CDR that can be read is stored; one that cannot be rated (no destination, no prefix)
is stored unrated with its reason; one that cannot be read at all is held in the quarantine
byte for byte with the error, to be processed again once the endpoint's settings are fixed.
Nothing is dropped without a trace. Only a payload of an unknown media type or with no
record in it is refused.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from trunkline.calls.schemas import SwitchCall
from trunkline.kit import failures
from trunkline.kit.errors import problems
from trunkline.switches import asterisk, freeswitch
from trunkline.switches.records import SwitchCdrError

FREESWITCH = (
    "application/json",
    "application/xml",
    "text/xml",
    freeswitch.FORM,
    freeswitch.PLAINTEXT,
    freeswitch.BASE64,
)
ASTERISK = ("text/csv", "text/plain")
MEDIA_TYPES = FREESWITCH + ASTERISK
BILLED_LEGS = {"a": frozenset("a"), "b": frozenset("b"), "both": frozenset("ab")}
_call = TypeAdapter(SwitchCall)


class UnsupportedMedia(failures.UnsupportedMedia):
    """The body is of a media type no switch sends here."""


class NothingToRead(failures.Malformed):
    """The body holds no record at all."""


@dataclass(frozen=True, slots=True)
class Hold:
    """A record to keep: the bytes the switch sent for it, how, from which endpoint, and why."""

    endpoint_id: int | None
    media_type: str
    body: bytes
    error: str
    line: int | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.media_type.encode() + b"\n" + self.body).hexdigest()


@dataclass
class Push:
    """A push, read: its CDRs, whether each is billed, and the records that could not be read."""

    calls: list[SwitchCall] = field(default_factory=list)
    billed: list[bool] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PushSettings:
    """How an endpoint's CDRs are read and billed."""

    endpoint_id: int | None = None
    timezone: str = "UTC"
    billed_leg: str = "a"

    @property
    def zone(self) -> tzinfo:
        return UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)


def read_push(body: bytes, media_type: str, settings: PushSettings) -> Push:
    """The push's CDRs and holds; `UnsupportedMedia` or `NothingToRead` when there is nothing to keep."""
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMedia(f"Unsupported media type {media_type or '(none)'}; send one of {', '.join(MEDIA_TYPES)}")
    if not body.strip():
        raise NothingToRead("Empty body: send a CDR")
    push = Push()
    billed_legs = BILLED_LEGS[settings.billed_leg]
    for raw, line, cdr, error in _records(body, media_type, settings.zone):
        if cdr is not None:
            try:
                call = _call.validate_python(cdr)
            except ValidationError as exc:
                error = _problems(exc)
            else:
                push.calls.append(call)
                push.billed.append(call.leg is None or call.leg.value in billed_legs)
                continue
        push.holds.append(Hold(settings.endpoint_id, media_type, raw, error or "unreadable", line))
    return push


def _records(body: bytes, media_type: str, zone: tzinfo) -> list[tuple[bytes, int | None, dict | None, str | None]]:
    """(bytes, line, CDR or None, error or None) per record of the body."""
    if media_type in ASTERISK:
        try:
            return [(line.raw, line.number, line.cdr, line.error) for line in asterisk.lines(body, zone)]
        except SwitchCdrError as exc:
            if exc.reason == "no CDR lines":
                raise NothingToRead("The payload holds no CDR line") from None
            return [(body, None, None, exc.reason)]
    try:
        return [(body, None, cdr, None) for cdr in freeswitch.parse(body, media_type, zone)]
    except SwitchCdrError as exc:
        return [(body, None, None, exc.reason)]


def _problems(exc: ValidationError) -> str:
    return "Invalid CDR: " + "; ".join(f"{problem['name'] or 'cdr'}: {problem['reason']}" for problem in problems(exc))
