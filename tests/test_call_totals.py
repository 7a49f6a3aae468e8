"""The daily totals a batch adds are exact: numpy's grouped sums agree with a plain Python sum
per key, for any mix of keys, unrated calls and amounts up to the int64 range of a batch."""

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from trunkline.calls import repository as calls
from trunkline.db.tables import call_totals_by_account, call_totals_by_prefix

BATCH = 40
call = st.tuples(
    st.sampled_from([1, 2]),  # org_id
    st.sampled_from(["2024-05-01", "2024-05-02"]),  # day
    st.sampled_from([None, "", "acct-1", "acct-2"]),  # account_id
    st.sampled_from([None, "LOCAL", "MOBILE"]),  # rate_type
    st.sampled_from([None, "44", "447"]),  # prefix
    st.integers(0, 10**7),  # billsec
    st.none() | st.integers(0, 2**63 // BATCH),  # cost (None: unrated)
)


def reference(batch, names: tuple[str, ...], sign: int) -> dict[tuple, list[int]]:
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for org_id, day, account_id, rate_type, prefix, billsec, cost in batch:
        fields = {"account_id": account_id or "", "rate_type": rate_type or "", "prefix": prefix or ""}
        entry = sums[(org_id, day, *(fields[name] for name in names))]
        for index, value in enumerate((1, billsec > 0, cost is None, billsec, cost or 0)):
            entry[index] += sign * value
    return dict(sums)


@settings(max_examples=200, deadline=None)
@given(st.lists(call, min_size=1, max_size=BATCH), st.sampled_from([1, -1]))
def test_totals_match_a_plain_sum_per_key(batch, sign):
    columns = dict(zip(("org_id", "day", "account_id", "rate_type", "prefix", "billsec", "cost"), map(list, zip(*batch))))
    with create_engine("sqlite://").connect() as conn:  # SQLite: the rows come back as parameters
        rows = calls._totals_rows(conn, columns["day"], columns, columns["cost"], sign)
    for table in (call_totals_by_account, call_totals_by_prefix):
        names = calls.TOTALS[table]
        width = 2 + len(names)
        got = {row[:width]: list(row[width:]) for row in rows[table]}
        assert len(got) == len(rows[table])  # one row per key
        assert got == reference(batch, names, sign)
