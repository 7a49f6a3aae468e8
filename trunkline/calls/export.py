"""`GET /api/calls/export`: every call the list's filter, search and orderby select, as CSV or NDJSON.

One query, read through one cursor a chunk at a time (`repository.stream`) instead of page by page:
any `orderby` the list takes works (keyset paging would need a NULL-aware key for every sortable
field), the file is one consistent snapshot, and memory holds one chunk whether it has a hundred
calls or ten million. Each call is the list's own item (`present`), so fields and values are the
list's: NDJSON lines render as its JSON does; CSV cells are the same values as text (times ISO
8601, money as decimals, true/false), defused for spreadsheets by `kit.csvout`.
"""

from collections.abc import AsyncIterator, Iterator
from enum import StrEnum
from operator import itemgetter
from typing import get_args

import anyio
import msgspec
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from trunkline.calls import repository as store
from trunkline.calls.schemas import FIELDS, Call, present
from trunkline.kit.csvout import stream_csv
from trunkline.kit.pagination import Selection

CHUNK = 2000  # rows per fetch from the cursor, and per piece sent: about 1 MB of text
COLUMNS = tuple(Call.model_fields)  # the list item's fields, in its order
_values = itemgetter(*COLUMNS)
_BOOLEANS = tuple(name for name, field in Call.model_fields.items() if bool in (field.annotation, *get_args(field.annotation)))
_json = msgspec.json.Encoder(decimal_format="number")  # as kit.responses renders the list: money exact


class ExportFormat(StrEnum):
    csv = "csv"
    ndjson = "ndjson"


MEDIA_TYPES = {ExportFormat.csv: "text/csv", ExportFormat.ndjson: "application/x-ndjson"}
_FORMAT_OF = {media_type: kind for kind, media_type in MEDIA_TYPES.items()}


def negotiate(asked: ExportFormat | None, accept: str) -> ExportFormat:
    """The `format` parameter; without it, whichever of the two the Accept header prefers
    (highest q); CSV when it names neither."""
    if asked is not None:
        return asked
    chosen, best = ExportFormat.csv, 0.0
    for part in accept.split(","):
        media_type, *params = (piece.strip() for piece in part.split(";"))
        kind = _FORMAT_OF.get(media_type.lower())
        quality = next((_quality(value) for name, _, value in (p.partition("=") for p in params) if name.strip().lower() == "q"), 1.0)
        if kind is not None and quality > best:
            chosen, best = kind, quality
    return chosen


def _quality(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def response(db: Engine, org_id: int, selection: Selection, kind: ExportFormat) -> StreamingResponse:
    """The export as a streamed response. Called from a worker thread (a sync route): the query is
    compiled and its first chunk read before the status line goes out, so a bad filter is the
    usual 400 and a failing query the usual error body, never a 200 cut short at its first byte."""
    where, order_by = selection.clauses(FIELDS)
    body = _body(db, org_id, where, order_by, kind)
    first = next(body, b"")  # NDJSON with no call is empty
    return StreamingResponse(
        _in_threads(first, body),
        media_type=MEDIA_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="calls.{kind}"'},
    )


def _body(db: Engine, org_id: int, where: list, order_by: list, kind: ExportFormat) -> Iterator[bytes]:
    """The file, encoded, in chunks; holds one connection (and its read snapshot) until closed."""
    with db.connect() as conn:
        chunks = store.stream(conn, org_id, where, order_by, CHUNK)
        yield from (_csv(chunks) if kind is ExportFormat.csv else _ndjson(chunks))


def _ndjson(chunks: Iterator[list[tuple]]) -> Iterator[bytes]:
    """A line per call, encoded into one buffer per chunk (no list of items beside the rows)."""
    buffer = bytearray()
    for chunk in chunks:
        for row in chunk:
            _json.encode_into(present(row), buffer, -1)
            buffer += b"\n"
        yield bytes(buffer)
        buffer.clear()


def _csv(chunks: Iterator[list[tuple]]) -> Iterator[bytes]:
    """A header row, then the items' values as JSON writes them (to_builtins: times, ids, money
    as text), booleans spelt as in JSON; `stream_csv` defuses them and cuts the text in pieces."""
    rows = (values for chunk in chunks for values in msgspec.to_builtins([_values(_booleans_spelt(present(row))) for row in chunk]))
    for text in stream_csv(COLUMNS, rows):
        yield text.encode()


def _booleans_spelt(item: dict) -> dict:
    for name in _BOOLEANS:
        if item[name] is not None:
            item[name] = "true" if item[name] else "false"
    return item


async def _in_threads(first: bytes, rest: Iterator[bytes]) -> AsyncIterator[bytes]:
    """`rest` read chunk by chunk in the threadpool, so the database never blocks the event loop,
    and closed there however the response ends (a client hanging up mid-file included): its cursor
    and connection go back at once instead of whenever the generator is collected, on the loop."""
    try:
        yield first
        while (chunk := await run_in_threadpool(next, rest, None)) is not None:
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(rest.close)
