"""Asterisk cdr_csv `Master.csv` lines (no header), one CDR per line.

Layouts, told apart by the column count (cdr_csv writes 16 fixed columns, then the optional
groups that cdr.conf switches on):

| columns | after the 16 fixed ones | Asterisk |
| --- | --- | --- |
| 17 | uniqueid (`loguniqueid`) | 1.8+ |
| 18 | uniqueid, userfield (`loguserfield`) | 1.8+, the default |
| 19 | peeraccount, linkedid, sequence (`newcdrcolumns`) | 11+ |
| 20 | uniqueid, peeraccount, linkedid, sequence | 11+ |
| 21 | uniqueid, userfield, peeraccount, linkedid, sequence | 11+ |

The fixed columns are accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
lastdata, start, answer, end, duration, billsec, disposition, amaflags.

cdr_custom's sample `Master.csv` mapping (cdr_custom.conf as Asterisk ships it) is read too:
19 columns, clid, src, dst, dcontext, channel, dstchannel, lastapp, lastdata, start, answer,
end, duration, billsec, disposition, amaflags, accountcode, uniqueid, userfield, sequence. It
is told from cdr_csv's 19 columns by its times: the 9th column is a time, the 12th is not
(in cdr_csv the 10th and 12th are start and end).
cdr_custom always writes local time.

**Which record is which.** Since Asterisk 12 `uniqueid` is Party A's channel, so a forked,
transferred or AppDial call writes several CDRs with the same uniqueid: a duplicate means the
same CDR sent twice, not the same channel. The call id is therefore
`uniqueid/linkedid/sequence` when the layout has a sequence (each CDR's own number), and
otherwise `uniqueid#` followed by a digest of the line's fields, so a re-sent line is the same
record and two distinct lines never are.

**Billing.** Only ANSWERED records are billed; any other disposition (NO ANSWER, BUSY,
FAILED, CONGESTION) keeps its duration but has 0 billable seconds, whatever billsec says
(forked dials write billsec on legs that were never answered). Each line is a record of one
A-party to B-party pairing, so it is stored as an A-leg, linked to the other records of the
call by `linkedid`. A line with no `dst` is stored unrated (`no_destination`).

Times are the switch's local wall-clock time unless cdr.conf has `usegmtime=yes` (the code
default is no): the endpoint's `timezone` says which zone, DST included. The caller is `src`,
else the number in clid's `"Name" <number>`. Master.csv has no hangup cause or direction.

A line that cannot be read (wrong column count, broken quoting, a time or number that is not
one) comes back as `Unreadable` with its exact bytes, and the rest of the chunk is read.
"""

import csv
import hashlib
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from trunkline.switches.records import ANSWERED, Record, SwitchCdrError, Unreadable, record, text, wall_clock, whole

BASE = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags")
NEW = ("peeraccount", "linkedid", "sequence")
LAYOUTS = {
    len(BASE) + 1: BASE + ("uniqueid",),
    len(BASE) + 2: BASE + ("uniqueid", "userfield"),
    len(BASE) + 3: BASE + NEW,
    len(BASE) + 4: BASE + ("uniqueid",) + NEW,
    len(BASE) + 5: BASE + ("uniqueid", "userfield") + NEW,
}
CUSTOM_SAMPLE = (
    "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata", "start", "answer", "end",
    "duration", "billsec", "disposition", "amaflags", "accountcode", "uniqueid", "userfield", "sequence",
)
MAX_CALL_ID = 128
_NUMBER = re.compile(r"<([^<>]*)>\s*$")
_TIME = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\s*")


class _Lines:
    """The payload's lines for `csv.reader`, keeping the ones each record took (a quoted field
    may span lines), so an unreadable record can be kept byte for byte."""

    def __init__(self, payload: str) -> None:
        self._lines = deque(payload.splitlines(keepends=True))
        self.taken: list[str] = []
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self._lines:
            raise StopIteration
        line = self._lines.popleft()
        self.taken.append(line)
        self.count += 1
        return line

    def give_back(self) -> None:
        """Keep only the first line taken for this record; the rest will be read again. A line cut
        short inside a quoted field must not take the next CDR down with it."""
        rest = self.taken[1:]
        self._lines.extendleft(reversed(rest))
        self.count -= len(rest)
        del self.taken[1:]


@dataclass(frozen=True, slots=True)
class Line:
    """One record of the chunk: its bytes as sent, where it starts, and the CDR or why not."""

    raw: bytes
    number: int
    cdr: dict[str, Any] | None
    error: str | None = None


def lines(payload: bytes | str, tz: tzinfo = UTC) -> list[Line]:
    """Every CDR line of a Master.csv chunk, read or not; blank lines are skipped."""
    source = _Lines(text(payload))
    reader = csv.reader(source)
    found: list[Line] = []
    while True:
        source.taken.clear()
        number = source.count + 1  # where the next record starts
        try:
            row = next(reader, None)
        except csv.Error as exc:  # the reader goes on with the next line
            source.give_back()
            found.append(Line("".join(source.taken).encode(), number, None, f"malformed CSV: {exc}"))
            reader = csv.reader(source)
            continue
        if row is None:
            break
        if not row or not any(cell.strip() for cell in row):
            continue
        try:
            found.append(Line("".join(source.taken).encode(), number, _cdr(row, number, tz)))
        except SwitchCdrError as exc:
            if len(source.taken) > 1:
                source.give_back()
                reader = csv.reader(source)
            found.append(Line("".join(source.taken).encode(), number, None, exc.reason))
    if not found:
        raise SwitchCdrError("no CDR lines")
    return found


def parse_master_csv(payload: bytes | str, tz: tzinfo = UTC) -> list[Record]:
    """Every CDR line of a Master.csv chunk, as a CDR or `Unreadable`."""
    return [line.cdr if line.cdr is not None else Unreadable(line.raw, line.error or "", line.number) for line in lines(payload, tz)]


def record_id(values: dict[str, str], row: list[str]) -> str:
    """What identifies this CDR (see the module docstring); '' when the line names no channel."""
    uniqueid, linkedid, sequence = (values.get(name, "").strip() for name in ("uniqueid", "linkedid", "sequence"))
    if sequence and (uniqueid or linkedid):
        found = "/".join(part for part in (uniqueid, linkedid, sequence) if part)
    elif uniqueid or linkedid:
        found = f"{uniqueid or linkedid}#{hashlib.sha256(chr(31).join(row).encode()).hexdigest()[:16]}"
    else:
        return ""
    if len(found) > MAX_CALL_ID:  # uniqueid may be 150 characters
        return "#" + hashlib.sha256(found.encode()).hexdigest()
    return found


_CHANNEL = re.compile(r"[A-Za-z0-9_]+/(.+?)(?:-[0-9a-f]+)?(?:;[0-9])?")


def trunk(channel: str) -> str | None:
    """The peer or trunk of a channel name (`SIP/carrier-0000002a` -> carrier; PJSIP, IAX2 and
    DAHDI alike), which names the call's vendor; None for an empty dstchannel."""
    found = _CHANNEL.fullmatch(channel.strip())
    return found.group(1) if found else None


def _cdr(row: list[str], line: int, tz: tzinfo) -> dict[str, Any]:
    layout = LAYOUTS.get(len(row))
    if len(row) == len(CUSTOM_SAMPLE) and _TIME.fullmatch(row[8]) and not _TIME.fullmatch(row[11]):  # cdr_csv's end is a time
        layout = CUSTOM_SAMPLE
    if layout is None:
        hint = " (no uniqueid: set loguniqueid=yes in cdr.conf)" if len(row) == len(BASE) else ""
        raise SwitchCdrError(f"expected {min(LAYOUTS)} to {max(LAYOUTS)} columns, got {len(row)}{hint}", line)
    values = dict(zip(layout, row, strict=True))
    call_id = record_id(values, row)
    if not call_id:
        raise SwitchCdrError("no uniqueid (nor linkedid) to identify the call", line)
    number = _NUMBER.search(values["clid"])
    disposition = values["disposition"].strip()
    billsec = whole(values["billsec"], "billsec", line)
    return record(
        call_id=call_id,
        account_id=values["accountcode"],
        caller=values["src"] or (number.group(1) if number else None),
        callee=values["dst"],
        start=wall_clock(values["start"], "start", tz, line),
        answer=wall_clock(values["answer"], "answer", tz, line),
        end=wall_clock(values["end"], "end", tz, line),
        duration=whole(values["duration"], "duration", line),
        billsec=billsec if disposition == ANSWERED else (0 if billsec is not None else None),
        disposition=disposition,
        leg="a",
        linked_id=values.get("linkedid", "").strip() or None,
        gateway=trunk(values["dstchannel"]),
    )
