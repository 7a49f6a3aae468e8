"""CDRs as real switches emit them, turned into Trunkline CDRs (dicts `SwitchCall` accepts).

Each parser is pure: payload in, one `Record` per CDR out. A record is either the CDR as a
dict, or `Unreadable` (the bytes the switch sent for it, byte for byte, and why it cannot be
read), so one odd line never costs the rest of the chunk. Structure (unreadable document, no
call id, non-numeric times) is checked here; field rules (answer inside start..end) stay with
`CallIn`, so a switch CDR is judged like one posted to `/api/calls`.

Every record says which leg of the call it is (`leg`: "a" or "b") and which call it belongs to
(`linked_id`), so that both legs of a bridged call are stored, linked, and billed once.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WHOLE = re.compile(r"[0-9]{1,18}")
ANSWERED = "ANSWERED"


class SwitchCdrError(ValueError):
    """A payload that is not a CDR of the expected format; `line` is set for line-based formats."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.reason = message
        self.line = line


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A CDR that could not be read: what the switch sent for it, exactly, and why."""

    raw: bytes
    error: str
    line: int | None = None


Record = dict[str, Any] | Unreadable


def text(payload: bytes | str) -> str:
    """The payload as text: switches write UTF-8 (a BOM is tolerated)."""
    if isinstance(payload, str):
        return payload
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SwitchCdrError(f"not UTF-8: {exc}") from None


def whole(value: str | None, name: str, line: int | None = None) -> int | None:
    """A non-negative integer field; empty means absent."""
    if value is None or not value.strip():
        return None
    if not _WHOLE.fullmatch(value.strip()):
        raise SwitchCdrError(f"{name} is not a whole number: {value[:40]!r}", line)
    return int(value)


def since_epoch(value: str | None, name: str, unit: timedelta) -> datetime | None:
    """A moment counted in `unit`s since 1970 (UTC); 0 is how switches write "never"."""
    count = whole(value, name)
    if not count:
        return None
    try:
        return EPOCH + count * unit
    except OverflowError:
        raise SwitchCdrError(f"{name} is out of range: {value!r}") from None


def wall_clock(value: str | None, name: str, tz: tzinfo, line: int | None = None) -> datetime | None:
    """A `YYYY-MM-DD HH:MM:SS` switch time read in the switch's zone, as UTC; empty means absent.

    An ambiguous time (the hour repeated when DST ends) is read as the first of the two, as
    zoneinfo does; switches write no offset that could tell them apart.
    """
    if value is None or not value.strip():
        return None
    try:
        local = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise SwitchCdrError(f"{name} is not a YYYY-MM-DD HH:MM:SS time: {value[:40]!r}", line) from None
    try:
        return local.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise SwitchCdrError(f"{name} is out of range in UTC: {value!r}", line) from None


def record(**fields: Any) -> dict[str, Any]:
    """A CDR dict without empty fields, so `CallIn` reports a missing one as "required"."""
    return {name: value for name, value in fields.items() if value is not None and value != ""}
