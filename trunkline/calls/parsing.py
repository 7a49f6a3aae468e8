"""Reading CDR batches: a JSON object or array, NDJSON, or CSV with a header row.

A batch is all or nothing, so parsing collects every bad record (with its index
or line number) before anything is stored.

`CallIn` (pydantic) is the definition of a valid CDR, and the only source of
error messages. JSON arrays, the bulk path, are first decoded by msgspec into
`Cdr`, a struct with the same fields, several times faster; any batch that path
is not certain to read exactly as `CallIn` would (a failed decode, a string
`CallIn` would strip, more than 6 fractional digits of seconds, which msgspec
rounds and pydantic truncates, a "\\u" escape that could hide either, a
failed consistency check) is read again by `CallIn`.
"""

import csv
import io
import re
from datetime import datetime
from typing import IO, Annotated, Any

import msgspec
from pydantic import TypeAdapter, ValidationError

from trunkline.calls.schemas import CallIn, Direction, Leg
from trunkline.kit.clock import to_utc
from trunkline.kit.errors import problems, some
from trunkline.kit.failures import Invalid, Malformed

MEDIA_TYPES = ("application/json", "application/x-ndjson", "text/csv")
_one = TypeAdapter(CallIn)
_many = TypeAdapter(list[CallIn])

_Seconds = Annotated[int, msgspec.Meta(ge=0, le=10**7)]
_Text64 = Annotated[str, msgspec.Meta(max_length=64)]


class Cdr(msgspec.Struct, forbid_unknown_fields=True):
    """`CallIn`'s fields and bounds, for the fast path; trusted only once `_settle` accepts it."""

    call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    callee: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    start: datetime
    account_id: _Text64 | None = None
    caller: _Text64 | None = None
    answer: datetime | None = None
    end: datetime | None = None
    duration: _Seconds | None = None
    billsec: _Seconds | None = None
    disposition: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    hangup_cause: _Text64 | None = None
    direction: Direction | None = None
    leg: Leg | None = None
    linked_id: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    gateway: Annotated[str, msgspec.Meta(max_length=128)] | None = None


_fast = msgspec.json.Decoder(list[Cdr])
_LONG_FRACTION = re.compile(rb"\.[0-9]{7}")


def _problems(exc: ValidationError, where: str) -> list[dict[str, str]]:
    return [{**problem, "name": problem["name"] or "body"} for problem in problems(exc, where)]


STREAMED = ("application/x-ndjson", "text/csv")  # read record by record from a file, not held whole


def parse(body: bytes | IO[bytes], media_type: str) -> tuple[list[CallIn] | list[Cdr], bool]:
    """The CDRs in `body` (bytes, or for CSV and NDJSON a binary file read as it goes), and
    whether it was a single JSON object; 4xx on any bad record."""
    if media_type in STREAMED:
        handle = io.BytesIO(body) if isinstance(body, bytes) else body
        if not any(chunk.strip() for chunk in iter(lambda: handle.read(65536), b"")):
            raise Malformed("Empty body: send one CDR or a batch")
        handle.seek(0)
        return (_csv(handle) if media_type == "text/csv" else _ndjson(handle)), False
    if not body.strip():
        raise Malformed("Empty body: send one CDR or a batch")
    single = not body.lstrip().startswith(b"[")
    if not single:
        fast = _fast_batch(body)
        if fast is not None:
            return fast, False
    try:
        parsed = (_one if single else _many).validate_json(body)
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            raise Malformed(f"Malformed JSON body: {exc.errors()[0]['msg']}") from None
        raise _rejected(_problems(exc, "")) from None
    return ([parsed], True) if single else (parsed, False)


def _fast_batch(body: bytes) -> list[Cdr] | None:
    """The batch read by msgspec, or None when `CallIn` must read it."""
    if b"\\u" in body or _LONG_FRACTION.search(body):
        return None
    try:
        calls = _fast.decode(body)
    except msgspec.DecodeError:
        return None
    texts = (
        text
        for cdr in calls
        for text in (cdr.call_id, cdr.callee, cdr.account_id, cdr.caller, cdr.disposition, cdr.hangup_cause, cdr.linked_id, cdr.gateway)
        if text
    )
    if any(text != text.strip() for text in texts):  # a string CallIn would strip (str.isspace's whitespace)
        return None
    try:
        if all(map(_settle, calls)):
            return calls
    except OverflowError:  # a time CallIn refuses: outside datetime's range once in UTC
        pass
    return None


def _settle(cdr: Cdr) -> bool:
    """Apply `CallIn`'s time normalisation and consistency rules in place; False when it would refuse."""
    cdr.start, cdr.answer, cdr.end = start, answer, end = tuple(None if moment is None else to_utc(moment) for moment in (cdr.start, cdr.answer, cdr.end))
    if end is not None and end < start:
        return False
    if answer is not None and (answer < start or (end is not None and answer > end)):
        return False
    if cdr.duration is None:
        if end is None:
            return False
        cdr.duration = int((end - start).total_seconds())
    if cdr.billsec is None:
        if answer is None:
            cdr.billsec = 0
        elif end is not None:
            cdr.billsec = int((end - answer).total_seconds())
        else:
            return False
    return cdr.billsec <= cdr.duration


def _rejected(problems: list[dict[str, str]]) -> Invalid:
    return Invalid(f"{len(problems)} problem(s) in the batch; nothing was stored", problems=problems)


def _compact(call: CallIn) -> Cdr:
    """A validated CDR as a struct: a fifth of a pydantic model's memory, for large batches."""
    return Cdr(**call.__dict__)


def _ndjson(handle: IO[bytes]) -> list[Cdr]:
    calls, problems = [], []
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            calls.append(_compact(_one.validate_json(line)))
        except ValidationError as exc:
            problems += _problems(exc, f"line {number}")
    if problems:
        raise _rejected(problems)
    return calls


def _csv(handle: IO[bytes]) -> list[Cdr]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        return _csv_records(csv.DictReader(text))
    except UnicodeDecodeError as exc:
        raise Malformed(f"CSV is not UTF-8: {exc}") from None
    finally:
        text.detach()  # the handle is its owner's to close


def _csv_records(reader: csv.DictReader) -> list[Cdr]:
    try:
        unknown = [name for name in reader.fieldnames or [] if name not in CallIn.model_fields]
        if unknown:
            raise Invalid(f"Unknown CSV columns: {some(unknown)}", problems=[{"name": name, "reason": "unknown column"} for name in unknown])
        calls, problems = [], []
        for record in reader:
            values: dict[str, Any] = {key: value for key, value in record.items() if key is not None and value not in ("", None)}
            try:
                calls.append(_compact(_one.validate_python(values)))
            except ValidationError as exc:
                problems += _problems(exc, f"line {reader.line_num}")
    except csv.Error as exc:  # e.g. a field over the csv module's 128 KiB limit
        raise Malformed(f"Malformed CSV after line {reader.line_num}: {exc}") from None
    if problems:
        raise _rejected(problems)
    return calls
