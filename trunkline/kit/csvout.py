"""CSV the API writes: streamed in chunks, and safe to open in a spreadsheet.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula
by Excel and LibreOffice (CSV injection, OWASP): such a cell gets a leading `'`, which the
spreadsheet shows as text. A cell that is a plain number (`-5`, `+4930901820`, `0.012`) is
left as it is, and so are numbers and dates themselves.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
CHUNK_ROWS = 2000


def safe(value: Any) -> Any:
    """The cell as written: a text cell that a spreadsheet would run as a formula, defused."""
    if isinstance(value, str) and value.startswith(_FORMULA) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def stream_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text of `rows` under `header`, a chunk per CHUNK_ROWS rows; None is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for index, row in enumerate(rows, start=1):
        writer.writerow([safe(value) for value in row])
        if index % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
