"""Reading CDR batches: a JSON object or array, NDJSON, or CSV with a header row.

A batch is all or nothing, so parsing collects every bad record (with its index
or line number) before anything is stored.
"""

import csv
import io
from typing import Any

from pydantic import TypeAdapter, ValidationError

from trunkline.platform.errors import ApiError
from trunkline.schemas.calls import CallIn

MEDIA_TYPES = ("application/json", "application/x-ndjson", "text/csv")
MAX_REPORTED = 1000
_one = TypeAdapter(CallIn)
_many = TypeAdapter(list[CallIn])


def _problems(exc: ValidationError, where: str) -> list[dict[str, str]]:
    found = []
    for err in exc.errors():
        path = ".".join(str(part) for part in err["loc"])
        found.append({"name": ".".join(part for part in (where, path) if part) or "body", "reason": "required" if err["type"] == "missing" else err["msg"]})
    return found


def parse(body: bytes, media_type: str) -> tuple[list[CallIn], bool]:
    """The CDRs in `body`, and whether it was a single JSON object; 4xx on any bad record."""
    if not body.strip():
        raise ApiError(400, "Empty body: send one CDR or a batch")
    if media_type == "text/csv":
        return _csv(body), False
    if media_type == "application/x-ndjson":
        return _ndjson(body), False
    single = not body.lstrip().startswith(b"[")
    try:
        parsed = (_one if single else _many).validate_json(body)
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            raise ApiError(400, f"Malformed JSON body: {exc.errors()[0]['msg']}") from None
        raise _rejected(_problems(exc, "")) from None
    return ([parsed], True) if single else (parsed, False)


def _rejected(problems: list[dict[str, str]]) -> ApiError:
    return ApiError(
        422,
        f"{len(problems)} problem(s) in the batch; nothing was stored",
        invalidInputVars=problems[:MAX_REPORTED],
    )


def _ndjson(body: bytes) -> list[CallIn]:
    calls, problems = [], []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            calls.append(_one.validate_json(line))
        except ValidationError as exc:
            problems += _problems(exc, f"line {number}")
    if problems:
        raise _rejected(problems)
    return calls


def _csv(body: bytes) -> list[CallIn]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"CSV is not UTF-8: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    unknown = [name for name in reader.fieldnames or [] if name not in CallIn.model_fields]
    if unknown:
        raise ApiError(422, f"Unknown CSV columns: {', '.join(unknown)}", invalidInputVars=[{"name": name, "reason": "unknown column"} for name in unknown])
    calls, problems = [], []
    for record in reader:
        values: dict[str, Any] = {key: value for key, value in record.items() if key is not None and value not in ("", None)}
        try:
            calls.append(_one.validate_python(values))
        except ValidationError as exc:
            problems += _problems(exc, f"line {reader.line_num}")
    if problems:
        raise _rejected(problems)
    return calls
