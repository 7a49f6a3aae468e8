"""How a prefix's versions chain (call_rates.versions), against the rule itself: without explicit
ends, each version runs until the next one starts; with a replaced list's end, until that end."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from trunkline.call_rates.versions import Line, Plan, chain

T0 = datetime(2026, 1, 1, tzinfo=UTC)
moments = st.integers(0, 40).map(lambda day: T0 + timedelta(days=day))


def expected_ends(starts: dict[int, datetime]) -> dict[int, datetime | None]:
    ordered = sorted(starts.items(), key=lambda item: item[1])
    return {rate: (ordered[i + 1][1] if i + 1 < len(ordered) else None) for i, (rate, _) in enumerate(ordered)}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), moments), max_size=25))
def test_inserts_and_removals_keep_each_version_until_the_next(operations):
    line, starts, stored, next_id = Line([]), {}, {}, 1
    for insert, moment in operations:
        if insert or not starts:
            if line.at(moment) is not None:
                continue
            stored[next_id] = None
            stored.update(line.insert(next_id, moment))
            starts[next_id] = moment
            next_id += 1
        else:
            rate = sorted(starts)[moment.day % len(starts)]
            stored.update(line.remove(rate))
            del starts[rate], stored[rate]
        assert stored == expected_ends(starts)
        assert {slot[2]: slot[1] for slot in line.slots} == stored
        assert not chain(line.slots)  # chained already


def test_a_full_list_ends_the_prefixes_it_lacks_and_drops_their_later_versions():
    d = T0 + timedelta(days=10)
    plan = Plan([("44", "", T0, None, 1), ("33", "", T0, T0 + timedelta(days=20), 2), ("33", "", T0 + timedelta(days=20), None, 3)])
    fresh, changed = plan.place([{"prefix": "44", "period": "", "effective_from": d}], iter([4]))
    assert ([row["id"] for row in fresh], changed) == ([4], [])
    assert plan.end_absent(d, {("44", "")}) == [3]
    assert plan.ends() == {1: d, 2: d}


def test_a_new_prefix_given_twice_in_one_list_is_chained():
    plan = Plan([])
    d1, d2 = T0, T0 + timedelta(days=5)
    rows = [{"prefix": "49", "period": "", "effective_from": d2}, {"prefix": "49", "period": "", "effective_from": d1}, {"prefix": "33", "period": "", "effective_from": d1}]
    fresh, _ = plan.place(rows, iter([1, 2, 3]))
    assert [row["id"] for row in fresh] == [1, 2, 3]
    assert plan.ends() == {2: d2}
