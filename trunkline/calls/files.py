"""CDR files for the CLI: rating a CSV offline, and reading CDR files in batches for import.

Offline rating streams a CSV through `BulkRater` chunk by chunk, so memory stays
bounded whatever the file size. A CDR that cannot be rated (bad billsec, no
callee) is never priced: it is written unrated with reason `invalid_cdr` and
reported with its line number.

Import reading validates records as `POST /api/calls` does: JSON through
`parsing.parse` itself, CSV and NDJSON streamed record by record through `CallIn`
with the API's rules for those formats, so every problem keeps its line number.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import IO, Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from trunkline.calls import parsing
from trunkline.calls.schemas import CallIn
from trunkline.kit.errors import problems
from trunkline.kit.failures import Invalid, Malformed
from trunkline.rating import RATED, REASONS, BulkRater, Rate

OUTPUT_COLUMNS = ("status", "unrated_reason", "prefix", "rate_type", "cost")
INVALID_CDR = "invalid_cdr"
MAX_BILLSEC = 10**7  # CallIn's bound: what the API would refuse is invalid offline too
MAX_LISTED = 1000
FORMATS = ("csv", "ndjson", "json")
_RATE_FIELDS = tuple(name for name in Rate.__dataclass_fields__ if name != "id")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_one = TypeAdapter(CallIn)


class FileError(ValueError):
    """The file as a whole cannot be read (bad header, not UTF-8, malformed JSON)."""


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # "line 12" or, in a JSON array, "index 3"
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field or '-'}: {self.reason}"


@dataclass
class Problems:
    """Every problem counted, the first MAX_LISTED kept for listing."""

    listed: list[Problem] = field(default_factory=list)
    count: int = 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED:
            self.listed.append(problem)


@contextmanager
def _readable(reader) -> Iterator[None]:
    """Decoding and CSV syntax errors as a FileError naming the line."""
    try:
        yield
    except (UnicodeDecodeError, csv.Error) as exc:
        if isinstance(exc, UnicodeDecodeError):
            where = f" after line {reader.line_num}" if reader.line_num else ""
            raise FileError(f"not UTF-8 text ({exc.reason}){where}") from None
        raise FileError(f"bad CSV after line {reader.line_num}: {exc}") from None


def deck_rates(rows: Iterable[dict[str, Any]]) -> list[Rate]:
    """Rates from `deck_csv.read` rows; ids are the 1-based row numbers."""
    return [Rate(number, *(row[name] for name in _RATE_FIELDS)) for number, row in enumerate(rows, start=1)]


def format_units(units: int) -> str:
    """Non-negative integer units as a decimal with exactly five places."""
    return f"{units // 100_000}.{units % 100_000:05d}"


@dataclass
class RatingSummary:
    rows: int = 0
    rated: int = 0
    unrated: int = 0
    invalid: int = 0  # included in unrated
    cost_units: int = 0
    problems: Problems = field(default_factory=Problems)


class CsvRating:
    """Rates a CDR CSV (header with `callee` and `billsec`) into a CSV of the same
    rows with OUTPUT_COLUMNS appended. The header is checked on construction,
    before anything is written; `run()` yields after each chunk.

    A chunk whose rows are all well formed takes a fast path (checks over whole
    columns); any other chunk is checked row by row to name the bad lines.
    """

    def __init__(self, rater: BulkRater, source: IO[str], chunk_size: int = 100_000) -> None:
        self.rater = rater
        self.chunk_size = chunk_size
        self.summary = RatingSummary()
        self._reader = csv.reader(source)
        with _readable(self._reader):
            self.header = next(self._reader, [])
        names = [name.strip().lower() for name in self.header]
        absent = [name for name in ("callee", "billsec") if name not in names]
        clash = [name for name in OUTPUT_COLUMNS if name in names]
        if absent or clash:
            raise FileError(
                "header: "
                + "; ".join(
                    part
                    for part in (
                        f"missing columns: {', '.join(absent)}" if absent else "",
                        f"columns the output adds are already there: {', '.join(clash)}" if clash else "",
                    )
                    if part
                )
            )
        self._callee, self._billsec = itemgetter(names.index("callee")), itemgetter(names.index("billsec"))
        self._rated = [("rated", "", rate.prefix, rate.type) for rate in rater.deck.rates]
        self._unrated = {status: ("unrated", reason, "", "", "") for status, reason in REASONS.items()}

    def run(self, sink: IO[str]) -> Iterator[RatingSummary]:
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow([*self.header, *OUTPUT_COLUMNS])
        while True:
            start = self._reader.line_num
            with _readable(self._reader):
                chunk = list(islice(self._reader, self.chunk_size))
            if not chunk:
                return
            writer.writerows(self._rate(chunk, start))
            yield self.summary

    def _rate(self, chunk: list[list[str]], start: int) -> list[list[str]]:
        """The chunk's rows (blank ones dropped) with the output columns appended in place."""
        width, summary = len(self.header), self.summary
        columns = self._fast_columns(chunk)
        if columns:
            rows = good = chunk
            callees, seconds = columns
        else:
            rows, good, callees, seconds = [], [], [], []
            for line, cells in zip(self._lines(chunk, start), chunk):
                if not cells:
                    continue
                rows.append(cells)
                checked = self._check(line, cells)
                if isinstance(checked, Problem):
                    summary.problems.add(checked)
                    summary.invalid += 1
                    cells[:] = cells[:width] + [""] * (width - len(cells))
                    cells += ("unrated", INVALID_CDR, "", "", "")
                else:
                    good.append(cells)
                    callees.append(checked[0])
                    seconds.append(checked[1])
        summary.rows += len(rows)
        summary.unrated += len(rows) - len(good)
        if good:
            result = self.rater.rate(np.array(callees, dtype=str), np.array(seconds, dtype=np.int64))
            outcomes = zip(result.status.tolist(), result.rate_index.tolist(), result.cost_units.tolist())
            for cells, (status, label, cost) in zip(good, outcomes):
                if status == RATED:
                    cells += self._rated[label]
                    cells.append(format_units(cost))
                    summary.cost_units += cost
                else:
                    cells += self._unrated[status]
            rated = int(np.count_nonzero(result.rated))
            summary.rated += rated
            summary.unrated += len(good) - rated
        return rows

    def _fast_columns(self, chunk: list[list[str]]) -> tuple[list[str], list[int]] | None:
        """(callees, billsecs) when every row is valid, else None."""
        if set(map(len, chunk)) != {len(self.header)}:
            return None
        callees, texts = list(map(self._callee, chunk)), list(map(self._billsec, chunk))
        digits = "".join(texts)
        if "" in texts or not (digits.isascii() and digits.isdigit()) or not all(map(str.strip, callees)):
            return None
        seconds = list(map(int, texts))
        return (callees, seconds) if max(seconds) <= MAX_BILLSEC else None

    def _lines(self, chunk: list[list[str]], start: int) -> Iterable[int]:
        """The line each row ends on (a quoted cell may hold line breaks)."""
        if self._reader.line_num - start == len(chunk):
            return range(start + 1, start + 1 + len(chunk))
        lines, line = [], start
        for cells in chunk:
            line += 1 + sum(len(_LINE_BREAK.findall(cell)) for cell in cells)
            lines.append(line)
        return lines

    def _check(self, line: int, cells: list[str]) -> tuple[str, int] | Problem:
        """(callee, billsec), or why the row cannot be rated."""
        where = f"line {line}"
        if len(cells) != len(self.header):
            return Problem(where, None, f"expected {len(self.header)} cells, found {len(cells)}")
        callee, text = self._callee(cells), self._billsec(cells).strip()
        if not callee.strip():
            return Problem(where, "callee", "required")
        if not text:
            return Problem(where, "billsec", "required")
        if not (text.isascii() and text.isdigit()):
            negative = text.startswith("-") and text[1:].isascii() and text[1:].isdigit()
            return Problem(where, "billsec", "must not be negative" if negative else f"not a whole number of seconds: {text!r}")
        billsec = int(text)
        if billsec > MAX_BILLSEC:
            return Problem(where, "billsec", f"more than {MAX_BILLSEC} seconds")
        return callee, billsec


Record = CallIn | parsing.Cdr | list[Problem]  # a valid CDR, or what is wrong with one


@dataclass
class Batch:
    calls: list[CallIn | parsing.Cdr]
    problems: list[Problem]
    last: str  # where the batch ends, e.g. "line 10001"


def guess_format(name: str) -> str | None:
    suffix = name.rsplit(".", 1)[-1].lower()
    return {"csv": "csv", "ndjson": "ndjson", "jsonl": "ndjson", "json": "json"}.get(suffix)


def read_batches(handle: IO[bytes], fmt: str, size: int) -> Iterator[Batch]:
    """Validated CDRs from a binary file in batches of `size` records (a bad record
    stays out of `calls` and is listed in `problems`). JSON is read whole, by
    `parsing.parse` itself, so any bad record leaves `calls` empty."""
    if fmt == "csv":
        return _batches(_csv_records(handle), size)
    if fmt == "ndjson":
        return _batches(_ndjson_records(handle), size)
    return _batches(_json_records(handle.read()), size)


def _batches(records: Iterator[tuple[str, Record]], size: int) -> Iterator[Batch]:
    batch, count = Batch([], [], ""), 0
    for where, record in records:
        batch.last, count = where, count + 1
        if isinstance(record, list):
            batch.problems += record
        else:
            batch.calls.append(record)
        if count == size:
            yield batch
            batch, count = Batch([], [], ""), 0
    if count:
        yield batch


def _problems(exc: ValidationError, where: str) -> list[Problem]:
    """As the API words them: the field's path and pydantic's message ("required" when missing)."""
    return [Problem(where, problem["name"], problem["reason"]) for problem in problems(exc)]


def _csv_records(handle: IO[bytes]) -> Iterator[tuple[str, Record]]:
    """As the API reads CSV: known columns only, empty cells left out."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    try:
        with _readable(reader):
            unknown = [name for name in reader.fieldnames or [] if name not in CallIn.model_fields]
        if unknown:
            raise FileError(f"unknown CSV columns: {', '.join(unknown)} (known: {', '.join(CallIn.model_fields)})")
        with _readable(reader):
            for record in reader:
                where = f"line {reader.line_num}"
                values = {key: value for key, value in record.items() if key is not None and value not in ("", None)}
                try:
                    yield where, _one.validate_python(values)
                except ValidationError as exc:
                    yield where, _problems(exc, where)
    finally:
        text.detach()  # leave `handle` open for its owner


def _ndjson_records(handle: IO[bytes]) -> Iterator[tuple[str, Record]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            yield where, _one.validate_json(line)
        except ValidationError as exc:
            yield where, _problems(exc, where)


def _json_records(data: bytes) -> Iterator[tuple[str, Record]]:
    """One object or an array, read whole by the API's own parser; problems by array index."""
    try:
        calls, single = parsing.parse(data, "application/json")
    except Malformed as exc:
        raise FileError(exc.message) from None
    except Invalid as exc:
        by_place: dict[str, list[Problem]] = {}
        for problem in exc.problems:
            head, _, rest = problem["name"].partition(".")
            where, path = (f"index {head}", rest or None) if head.isdigit() else ("object", problem["name"])
            by_place.setdefault(where, []).append(Problem(where, path, problem["reason"]))
        for where, found in by_place.items():
            yield where, found
        return
    for index, call in enumerate(calls):
        yield "object" if single else f"index {index}", call
