"""Asterisk cdr_csv `Master.csv` lines (no header), one CDR per line.

cdr_csv writes 16 fixed columns, then `uniqueid` (loguniqueid, on by default),
`userfield` (loguserfield, on by default), then `peeraccount, linkedid, sequence`
(newcdrcolumns). The optional groups are told apart by the column count: 17 = uniqueid,
18 = uniqueid + userfield, 19 = new columns only, 20 = uniqueid + new columns,
21 = all. A line with neither uniqueid nor linkedid (16 columns) is refused.

The call id is `uniqueid`, or `uniqueid/sequence` when there is a sequence: since
Asterisk 12 `uniqueid` is Party A's channel, so a forked or transferred call writes
several CDRs with the same uniqueid, and only the sequence tells them apart (and keeps
a re-sent line idempotent). Without newcdrcolumns such CDRs collide as duplicates.
Without uniqueid, linkedid stands in for it.

Timestamps are the switch's local wall-clock time (`tz`; use UTC when cdr.conf has
`usegmtime=yes`). The caller is `src`, else the number in clid's `"Name" <number>`.
Master.csv has no hangup cause or direction; `disposition` is kept as written.
"""

import csv
import io
import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from trunkline.switches import SwitchCdrError, record, text, whole

BASE = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags")
NEW = ("peeraccount", "linkedid", "sequence")
LAYOUTS = {
    len(BASE) + 1: BASE + ("uniqueid",),
    len(BASE) + 2: BASE + ("uniqueid", "userfield"),
    len(BASE) + 3: BASE + NEW,
    len(BASE) + 4: BASE + ("uniqueid",) + NEW,
    len(BASE) + 5: BASE + ("uniqueid", "userfield") + NEW,
}
_NUMBER = re.compile(r"<([^<>]*)>\s*$")


def parse_master_csv(payload: bytes | str, tz: tzinfo = UTC) -> list[dict[str, Any]]:
    """Every CDR line of a Master.csv chunk; blank lines are skipped."""
    reader = csv.reader(io.StringIO(text(payload), newline=""))
    calls = []
    while True:
        line = reader.line_num + 1  # where the next record starts (a quoted field may span lines)
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise SwitchCdrError(f"malformed CSV: {exc}", line) from None
        if row is None:
            break
        if row:
            calls.append(_cdr(row, line, tz))
    if not calls:
        raise SwitchCdrError("no CDR lines")
    return calls


def _cdr(row: list[str], line: int, tz: tzinfo) -> dict[str, Any]:
    layout = LAYOUTS.get(len(row))
    if layout is None:
        hint = " (no uniqueid: set loguniqueid=yes in cdr.conf)" if len(row) == len(BASE) else ""
        raise SwitchCdrError(f"expected {min(LAYOUTS)} to {max(LAYOUTS)} columns, got {len(row)}{hint}", line)
    values = dict(zip(layout, row, strict=True))
    call_id = values.get("uniqueid", "").strip() or values.get("linkedid", "").strip()
    sequence = values.get("sequence", "").strip()
    if call_id and sequence:
        call_id = f"{call_id}/{sequence}"
    if not call_id:
        raise SwitchCdrError("no uniqueid (nor linkedid and sequence) to identify the call", line)
    number = _NUMBER.search(values["clid"])
    return record(
        call_id=call_id,
        account_id=values["accountcode"],
        caller=values["src"] or (number.group(1) if number else None),
        callee=values["dst"],
        start=_moment(values["start"], "start", line, tz),
        answer=_moment(values["answer"], "answer", line, tz),
        end=_moment(values["end"], "end", line, tz),
        duration=whole(values["duration"], "duration", line),
        billsec=whole(values["billsec"], "billsec", line),
        disposition=values["disposition"],
    )


def _moment(value: str, name: str, line: int, tz: tzinfo) -> datetime | None:
    if not value.strip():
        return None
    try:
        local = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise SwitchCdrError(f"{name} is not a YYYY-MM-DD HH:MM:SS time: {value[:40]!r}", line) from None
    try:
        return local.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise SwitchCdrError(f"{name} is out of range in UTC: {value!r}", line) from None
