"""CDRs as real switches emit them, turned into Trunkline CDRs (dicts `CallIn` accepts).

Each parser is pure: payload in, `list[dict]` out, or `SwitchCdrError` naming what is
wrong. Structure (unreadable document, no call id, non-numeric times) is checked here;
field rules (callee present, answer inside start..end) stay with `CallIn`, so a switch
CDR is judged exactly like one posted to `/api/calls`.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WHOLE = re.compile(r"[0-9]{1,18}")


class SwitchCdrError(ValueError):
    """A payload that is not a CDR of the expected format; `line` is set for line-based formats."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


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


def record(**fields: Any) -> dict[str, Any]:
    """A CDR dict without empty fields, so `CallIn` reports a missing one as "required"."""
    return {name: value for name, value in fields.items() if value is not None and value != ""}
