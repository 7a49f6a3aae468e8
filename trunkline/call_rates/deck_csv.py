"""Rate decks as CSV: one header row naming the call-rate fields, one rate per row.

Shared by the import/export routes and the CLI. Every row goes through the same
model as `POST /api/call_rates`, so a deck can hold nothing the API would refuse.
Import is all-or-nothing: reading collects every bad row with its line number
before anything is written.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from operator import methodcaller
from typing import IO, Any

from pydantic import ValidationError

from trunkline.call_rates.repository import to_row
from trunkline.call_rates.schemas import CSV_COLUMNS, INT32, MONEY_FIELDS, CallRateCreate, RateType
from trunkline.db.tables import EVER
from trunkline.kit.csvout import stream_csv
from trunkline.kit.errors import MAX_LISTED, problems, some
from trunkline.rating.money import PLACES, SCALE, from_units

# Columns a deck file may leave out: each is 0 for every row (no free seconds, no grace period,
# no connect fee, no surcharge), as most carriers' price lists have none of them.
ZERO_BY_DEFAULT = {"free_seconds": "0", "grace_period": "0", "connect_fee": "0", "postcall_surcharge": "0"}
_FIELDS = {name: info for name, info in CallRateCreate.model_fields.items() if name in CSV_COLUMNS}
REQUIRED = tuple(name for name, info in _FIELDS.items() if info.is_required())
REQUIRED_COLUMNS = tuple(name for name in REQUIRED if name not in ZERO_BY_DEFAULT)

# Validating 300,000 rows one by one through the model takes most of an import, so
# values written plainly (ASCII digits, no surrounding spaces, money with at most five
# places, a known type) are turned into column values directly: a chunk of rows column
# by column when all of it is plain, else row by row. Only values the model accepts,
# with the same result, are taken this way (a rule added to CallRateCreate or Input
# must be mirrored here); anything else goes through the model, which alone decides
# about it and words the errors.
CHUNK = 10_000
_NOT_PLAIN = object()
_MONEY = re.compile(r"([0-9]{1,9})(?:\.([0-9]{1,5}))?")
_TYPES = frozenset(RateType)
_PERIOD = re.compile(r"[a-z0-9_-]{1,32}")
_DEFAULTS = to_row({name: info.get_default() for name, info in _FIELDS.items() if not info.is_required()})
_TEMPLATE = {name: None for name in _FIELDS} | _DEFAULTS


def _whole(low: int) -> Callable[[str], Any]:
    def parse(cell: str) -> Any:
        if cell.isdigit() and cell.isascii() and len(cell) <= 10 and low <= int(cell) <= INT32:
            return int(cell)
        return _NOT_PLAIN

    return parse


def _money(cell: str) -> Any:
    match = _MONEY.fullmatch(cell)
    if match is None:
        return _NOT_PLAIN
    whole, fraction = match.groups()
    return int(whole) * SCALE + (int(fraction.ljust(PLACES, "0")) if fraction else 0)


_PLAIN: dict[str, Callable[[str], Any]] = {
    "prefix": lambda cell: cell if cell.isdigit() and cell.isascii() and len(cell) <= 64 else _NOT_PLAIN,
    "type": lambda cell: cell if cell in _TYPES else _NOT_PLAIN,
    "free_seconds": _whole(0),
    "grace_period": _whole(0),
    "interval_1": _whole(1),
    "interval_n": _whole(1),
    **{name: _money for name in MONEY_FIELDS},
    "description": lambda cell: cell if len(cell) <= 1024 and cell == cell.strip() and "\x00" not in cell else _NOT_PLAIN,
    "period": lambda cell: cell if _PERIOD.fullmatch(cell) else _NOT_PLAIN,
    "effective_from": lambda cell: _NOT_PLAIN,  # a time: the model reads it
}
assert _PLAIN.keys() == set(CSV_COLUMNS), "every deck column needs a plain parser"


def _plain_row(header: list[str], cells: list[str]) -> dict[str, Any] | None:
    """The row's column values when every cell is plainly valid, else None (ask the model)."""
    row = _TEMPLATE.copy()
    for name, cell in zip(header, cells):
        if cell.strip():
            value = _PLAIN[name](cell)
            if value is _NOT_PLAIN:
                return None
            row[name] = value
    for name in REQUIRED:
        if row[name] is None:
            return None
    return row


def _column_pattern(cell: str) -> re.Pattern[str]:
    return re.compile(f"(?:{cell})(?:\\n(?:{cell}))*")


_PREFIXES = _column_pattern("[0-9]{1,64}")
_WHOLES = _column_pattern("[0-9]{1,10}")
_AMOUNTS = _column_pattern("[0-9]{1,9}(?:\\.[0-9]{1,5})?")


def _all_match(pattern: re.Pattern[str], column: tuple[str, ...]) -> bool:
    """Whether every cell matches, in one pass over the column joined by newlines (no cell may hold one)."""
    text = "\n".join(column)
    return pattern.fullmatch(text) is not None and text.count("\n") == len(column) - 1


def _whole_column(column: tuple[str, ...], low: int) -> list[int] | None:
    if not _all_match(_WHOLES, column):
        return None
    values = list(map(int, column))
    return values if min(values) >= low and max(values) <= INT32 else None


def _plain_column(name: str, column: tuple[str, ...]) -> list[Any] | None:
    """A whole column's values (blank cells as the defaults) when every cell is plain, else None."""
    if name == "prefix":
        return list(column) if _all_match(_PREFIXES, column) else None
    if name in ("free_seconds", "grace_period"):
        return _whole_column(column, 0)
    if name in ("interval_1", "interval_n"):
        return _whole_column(column, 1)
    if name in MONEY_FIELDS:  # at most nine digits and five places: exact in Decimal's 28 digits
        if not _all_match(_AMOUNTS, column):
            return None
        return list(map(int, map(methodcaller("scaleb", PLACES), map(Decimal, column))))
    if name == "type":
        return [cell or _DEFAULTS["type"] for cell in column] if _TYPES.issuperset(set(column) - {""}) else None
    if name == "period":
        return [cell or None for cell in column] if all(_PERIOD.fullmatch(cell) for cell in column if cell) else None
    if name == "effective_from":
        return [None] * len(column) if not any(column) else None
    if name == "description":
        if list(map(str.strip, column)) != list(column) or max(map(len, column)) > 1024 or "\x00" in "".join(column):
            return None
        return [cell or None for cell in column]
    raise AssertionError(name)


def _plain_chunk(header: list[str], chunk: list[tuple[int, list[str]]], first_line: dict[str, int]) -> list[dict[str, Any]] | None:
    """The chunk's rows when every cell is plain and no prefix repeats, else None (go row by row)."""
    if not chunk or len(set(header)) != len(header):
        return None
    lines, table = zip(*chunk)
    if not all(table):  # [] is a blank line
        kept = [(line, cells) for line, cells in chunk if cells]
        if not kept:
            return None
        lines, table = zip(*kept)
    if set(map(len, table)) != {len(header)}:
        return None
    columns = dict(zip(header, zip(*table)))
    values = {}
    for name in _FIELDS:
        column = columns.get(name)
        parsed = [_DEFAULTS[name]] * len(table) if column is None and name in _DEFAULTS else column and _plain_column(name, column)
        if parsed is None:
            return None
        values[name] = parsed
    keys = list(zip(values["prefix"], values["period"], values["effective_from"]))
    if len(set(keys)) != len(keys) or not first_line.keys().isdisjoint(keys):
        return None
    first_line.update(zip(keys, lines))
    return list(map(dict, map(zip, repeat(list(values)), zip(*values.values()))))


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
        if len(self.errors) < MAX_LISTED:
            self.errors.append(error)


def read(lines: Iterable[str], progress: Callable[[int], None] | None = None) -> DeckRead:
    """Validate a CSV deck; rows come back as column values (integer money units)."""
    result = DeckRead(rows=[], errors=[])
    reader = csv.reader(lines)
    try:
        return _read(reader, result, progress)
    except csv.Error as exc:  # e.g. a field over the csv module's 128 KiB limit
        result.fail(RowError(reader.line_num + 1, None, f"malformed CSV: {exc}"))
        return result


def _read(reader, result: DeckRead, progress: Callable[[int], None] | None) -> DeckRead:
    header = [name.strip().lower() for name in next(reader, [])]
    padding = [ZERO_BY_DEFAULT[name] for name in ZERO_BY_DEFAULT if header and name not in header]
    header += [name for name in ZERO_BY_DEFAULT if header and name not in header]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    absent = [name for name in REQUIRED_COLUMNS if name not in header]
    if unknown or absent or not header:
        reason = "; ".join(
            part
            for part in (
                f"unknown columns: {some(unknown)}" if unknown else "",
                f"missing columns: {', '.join(absent)}" if absent else "",
                "empty file" if not header else "",
            )
            if part
        )
        result.fail(RowError(1, None, reason))
        return result
    first_line: dict[str, int] = {}
    chunk: list[tuple[int, list[str]]] = []
    for count, cells in enumerate(reader, start=1):
        chunk.append((reader.line_num, cells + padding if padding and any(cell.strip() for cell in cells) else cells))
        if count % CHUNK == 0:
            _read_chunk(header, chunk, first_line, result)
            chunk = []
            if progress:
                progress(CHUNK)
    _read_chunk(header, chunk, first_line, result)
    return result


def _read_chunk(header: list[str], chunk: list[tuple[int, list[str]]], first_line: dict[str, int], result: DeckRead) -> None:
    rows = _plain_chunk(header, chunk, first_line)
    if rows is not None:
        result.rows.extend(rows)
        return
    for line, cells in chunk:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            result.fail(RowError(line, None, f"expected {len(header)} cells, found {len(cells)}"))
            continue
        row = _plain_row(header, cells)
        if row is None:
            values = {name: cell for name, cell in zip(header, cells) if cell.strip() != ""}
            try:
                rate = CallRateCreate.model_validate(values)
            except ValidationError as exc:
                for problem in problems(exc):
                    result.fail(RowError(line, problem["name"], problem["reason"]))
                continue
            row = to_row(rate.model_dump(include=set(CSV_COLUMNS)))
        key = (row["prefix"], row.get("period") or None, row.get("effective_from"))
        if key in first_line:
            result.fail(RowError(line, "prefix", f"duplicate prefix {_named(key)} (first on line {first_line[key]})"))
            continue
        first_line[key] = line
        result.rows.append(row)


def _named(key: tuple) -> str:
    prefix, period, start = key
    return prefix + (f" in period {period}" if period else "") + (f" from {start.isoformat()}" if start else "")


def read_file(handle: IO[bytes]) -> DeckRead:
    """Validate a CSV deck read from a binary file as it goes (an upload spooled to disk)."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        return read(text)
    except UnicodeDecodeError as exc:
        return DeckRead(rows=[], errors=[RowError(1, None, f"not UTF-8 text: {exc}")], error_count=1)
    finally:
        text.detach()  # the handle is its owner's to close


def write(rows: Iterable[Any]) -> Iterator[str]:
    """CSV text, in chunks, for stored rate rows (money rendered with five places)."""
    return stream_csv(CSV_COLUMNS, ([_cell(row, name) for name in CSV_COLUMNS] for row in rows))


def _cell(row: Any, name: str) -> Any:
    value = getattr(row, name)
    if name in MONEY_FIELDS:
        return from_units(value)
    if name == "effective_from":
        return None if value == EVER else value.isoformat()
    return value or None if name == "period" else value
