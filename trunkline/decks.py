"""Rate decks as CSV: one header row naming seed 003's fields, one rate per row.

Shared by the import/export routes and the CLI. Every row goes through the same
model as `POST /api/call_rates`, so a deck can hold nothing the API would refuse.
Import is all-or-nothing: reading collects every bad row with its line number
before anything is written.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from trunkline.money import from_units
from trunkline.schemas.call_rates import CSV_COLUMNS, MONEY_FIELDS, CallRateCreate
from trunkline.store.call_rates import to_row

REQUIRED = tuple(name for name, info in CallRateCreate.model_fields.items() if info.is_required())
MAX_REPORTED = 10_000


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass
class DeckRead:
    rows: list[dict[str, Any]]
    errors: list[RowError]
    error_count: int = 0

    def fail(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(error)


def read(lines: Iterable[str], progress: Callable[[int], None] | None = None) -> DeckRead:
    """Validate a CSV deck; rows come back as column values (integer money units)."""
    result = DeckRead(rows=[], errors=[])
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in next(reader, [])]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    absent = [name for name in REQUIRED if name not in header]
    if unknown or absent or not header:
        reason = "; ".join(
            part
            for part in (
                f"unknown columns: {', '.join(unknown)}" if unknown else "",
                f"missing columns: {', '.join(absent)}" if absent else "",
                "empty file" if not header else "",
            )
            if part
        )
        result.fail(RowError(1, None, reason))
        return result
    first_line: dict[str, int] = {}
    for count, cells in enumerate(reader, start=1):
        line = reader.line_num
        if progress and count % 10_000 == 0:
            progress(10_000)
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            result.fail(RowError(line, None, f"expected {len(header)} cells, found {len(cells)}"))
            continue
        values = {name: cell for name, cell in zip(header, cells) if cell.strip() != ""}
        try:
            rate = CallRateCreate.model_validate(values)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(part) for part in err["loc"]) or None
                reason = "required" if err["type"] == "missing" else err["msg"]
                result.fail(RowError(line, field, reason))
            continue
        if rate.prefix in first_line:
            result.fail(RowError(line, "prefix", f"duplicate prefix {rate.prefix} (first on line {first_line[rate.prefix]})"))
            continue
        first_line[rate.prefix] = line
        result.rows.append(to_row(rate.model_dump()))
    return result


def read_bytes(data: bytes, progress: Callable[[int], None] | None = None) -> DeckRead:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return DeckRead(rows=[], errors=[RowError(1, None, f"not UTF-8 text: {exc}")], error_count=1)
    return read(io.StringIO(text, newline=""), progress)


def write(rows: Iterable[Any]) -> Iterator[str]:
    """CSV text, in chunks, for stored rate rows (money rendered with five places)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for index, row in enumerate(rows, start=1):
        writer.writerow(
            [
                from_units(getattr(row, name)) if name in MONEY_FIELDS else ("" if getattr(row, name) is None else getattr(row, name))
                for name in CSV_COLUMNS
            ]
        )
        if index % 2000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
