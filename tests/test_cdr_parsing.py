"""The msgspec fast path for JSON batches (`parsing._fast_batch`) accepts a batch only when it reads
exactly as `CallIn`, the definition of a valid CDR, would: same values, same normalisation."""

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from trunkline.calls import parsing

FIELDS = ("call_id", "account_id", "caller", "callee", "start", "answer", "end", "duration", "billsec", "disposition", "hangup_cause", "direction")
CLEAN = st.text(alphabet=st.sampled_from("ab1+ -é"), min_size=1, max_size=6).filter(lambda text: text == text.strip())
# Whitespace that CallIn strips, some of it beyond ASCII, and control characters that it keeps.
PADDED = st.text(alphabet=st.sampled_from("ab1+ -\t\u00a0\u2003\x1f\x1cé"), min_size=0, max_size=6)
TEXT = st.one_of(*[CLEAN] * 9, PADDED)
ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])


def written(draw, moment: datetime) -> str:
    zone = draw(ZONES)
    text = (moment if zone is None else moment.astimezone(zone).replace(tzinfo=zone)).isoformat()
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


@st.composite
def records(draw):
    """Mostly valid CDRs (times in order, written in various zones), some not."""
    start = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(microseconds=draw(st.integers(0, 10**12)))
    ring, talk = (timedelta(microseconds=draw(st.integers(-10**4, 10**9))) for _ in range(2))
    record = {"call_id": draw(TEXT), "callee": draw(TEXT), "start": written(draw, start)}
    for name in ("account_id", "caller", "disposition", "hangup_cause"):
        if draw(st.booleans()):
            record[name] = draw(st.one_of(st.none(), TEXT))
    if draw(st.booleans()):
        record["answer"] = written(draw, start + ring)
    if draw(st.integers(0, 3)):
        record["end"] = written(draw, start + ring + talk)
    for name in ("duration", "billsec"):
        if not draw(st.integers(0, 3)):
            record[name] = draw(st.integers(-1, 10**4))
    if draw(st.booleans()):
        record["direction"] = draw(st.sampled_from(["inbound", "outbound", "sideways"]))
    return record


@settings(max_examples=400, deadline=None)
@given(batch=st.lists(records(), min_size=1, max_size=3))
def test_fast_path_reads_batches_exactly_as_callin(batch):
    body = json.dumps(batch, ensure_ascii=False).encode()
    fast = parsing._fast_batch(body)
    event("fast path" if fast is not None else "CallIn")
    if fast is None:
        return  # CallIn reads it (or rejects it with its messages)
    try:
        slow = parsing._many.validate_json(body)
    except ValidationError as exc:
        raise AssertionError(f"the fast path accepted what CallIn refuses: {exc}") from None
    assert [[getattr(cdr, name) for name in FIELDS] for cdr in fast] == [[getattr(cdr, name) for name in FIELDS] for cdr in slow]


def test_fast_path_takes_an_ordinary_batch():
    batch = [{"call_id": "c1", "callee": "+44 20 7946 0000", "start": "2024-05-01T10:00:00Z", "end": "2024-05-01T10:02:05Z", "answer": "2024-05-01T10:00:05Z"}]
    assert parsing._fast_batch(json.dumps(batch).encode())[0].billsec == 120
    assert parsing._fast_batch(json.dumps([{**batch[0], "callee": "+44 1 "}]).encode()) is None  # padded: CallIn strips it
