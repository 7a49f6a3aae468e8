"""The list query language against a real SQLite database, so the SQL it builds is what is checked."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from trunkline.kit.query import MAX_DEPTH, MAX_LENGTH, MAX_TERMS, Field, Fields, QueryError, parse_filter, parse_orderby, search_clause

BIG_ID = 700551909773148160  # base64 of its decimal string: NzAwNTUxOTA5NzczMTQ4MTYw

metadata = sa.MetaData()
rates = sa.Table(
    "rates",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("org_id", sa.BigInteger, nullable=False),
    sa.Column("prefix", sa.String(64), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("interval_1", sa.Integer, nullable=False),
    sa.Column("price_1", sa.BigInteger, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("description", sa.String(1024)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


ROWS = [
    (1, 10, "44", "FIXED", 1, 1200, True, "O'Brien line", at("2024-05-01T10:00:00")),
    (2, 10, "4420", "MOBILE", 60, 50000, False, "London 100% fibre", at("2024-05-02T00:00:00")),
    (3, 20, "1", "FIXED", 30, 1234, True, None, at("2024-04-30T23:59:59")),
    (4, 20, "49", "MOBILE", 60, 0, True, 'Berlin "Mitte"', at("2024-06-01T00:00:00")),
    (5, BIG_ID, "4", "FIXED", 1, 150000, False, "under_score", at("2023-12-31T12:00:00")),
    (6, 10, "33", "TOLLFREE", 6, 1200, True, "Paris 100x fibre", at("2024-05-01T10:00:00")),
]

FIELDS = Fields(
    fields={
        "id": Field(rates.c.id, "id"),
        "org_id": Field(rates.c.org_id, "id"),
        "prefix": Field(rates.c.prefix, "str", digits=True),
        "type": Field(rates.c.type, "enum", choices=("FIXED", "MOBILE", "TOLLFREE")),
        "interval_1": Field(rates.c.interval_1, "int"),
        "price_1": Field(rates.c.price_1, "money"),
        "active": Field(rates.c.active, "bool"),
        "description": Field(rates.c.description, "str", sortable=False),
        "created_at": Field(rates.c.created_at, "datetime"),
        "secret": Field(rates.c.prefix, "str", filterable=False, sortable=False),
    },
    search=(rates.c.prefix, rates.c.description),
)


@pytest.fixture(scope="module")
def db():
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.connect() as conn:
        conn.execute(rates.insert(), [dict(zip(rates.c.keys(), row)) for row in ROWS])
        yield conn


def matching(db, text: str) -> list[int]:
    return sorted(db.scalars(sa.select(rates.c.id).where(parse_filter(text, FIELDS))))


def ordered(db, text: str | None) -> list[int]:
    return list(db.scalars(sa.select(rates.c.id).order_by(*parse_orderby(text, FIELDS))))


def searched(db, text: str) -> list[int]:
    return sorted(db.scalars(sa.select(rates.c.id).where(search_clause(text, FIELDS))))


# --- filter: operators and literals -----------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("interval_1 eq 60", [2, 4]),
        ("interval_1 ne 60", [1, 3, 5, 6]),
        ("interval_1 gt 6", [2, 3, 4]),
        ("interval_1 ge 6", [2, 3, 4, 6]),
        ("interval_1 lt 6", [1, 5]),
        ("interval_1 le 6", [1, 5, 6]),
        ("interval_1 gt -1", [1, 2, 3, 4, 5, 6]),
        ("active eq true", [1, 3, 4, 6]),
        ("active ne TRUE", [2, 5]),
        ("active eq false", [2, 5]),
    ],
)
def test_comparison_operators(db, text, ids):
    assert matching(db, text) == ids


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("prefix eq '44'", [1]),
        ('prefix eq "44"', [1]),
        ("prefix eq 44", [1]),  # bare digits are a string for str fields
        ("prefix gt '4'", [1, 2, 4]),  # string order: '44', '4420', '49'
        ("description eq 'O''Brien line'", [1]),
        ("description eq \"O'Brien line\"", [1]),
        ('description eq "Berlin ""Mitte"""', [4]),
        ("description eq 'Berlin \"Mitte\"'", [4]),
        ("contains(description, 'FIBRE')", [2, 6]),
        ("contains(description, '100%')", [2]),
        ("contains(description, '_')", [5]),
        ("contains(description, '')", [1, 2, 4, 5, 6]),
        ("startswith(prefix, '44')", [1, 2]),
        ("startswith(prefix, 4)", [1, 2, 4, 5]),
        ("STARTSWITH(description, 'o''b')", [1]),
    ],
)
def test_strings_quotes_and_like(db, text, ids):
    assert matching(db, text) == sorted(ids)


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("type eq 'mobile'", [2, 4]),
        ("type eq 'Fixed'", [1, 3, 5]),
        ('type ne "tollFREE"', [1, 2, 3, 4, 5]),
    ],
)
def test_enum_is_case_insensitive(db, text, ids):
    assert matching(db, text) == ids


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("price_1 eq 0.012", [1, 6]),
        ("price_1 eq 0.01200000", [1, 6]),  # trailing zeros do not add precision
        ("price_1 eq 0.01234", [3]),
        ("price_1 gt 0.012", [2, 3, 5]),
        ("price_1 le 0", [4]),
        ("price_1 eq '0.5'", [2]),
        ("price_1 eq 1.5", [5]),
        ("price_1 lt 1", [1, 2, 3, 4, 6]),
    ],
)
def test_money_literals(db, text, ids):
    assert matching(db, text) == ids


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("created_at ge 2024-05-01", [1, 2, 4, 6]),
        ("created_at lt 2024-05-01", [3, 5]),
        ("created_at eq 2024-05-01T10:00:00Z", [1, 6]),
        ("created_at eq '2024-05-01T12:00:00+02:00'", [1, 6]),
        ('created_at gt "2024-05-01T10:00:00"', [2, 4]),
        ("created_at lt 2024-05-01T01:59:59.5+02:00", [3, 5]),
        ("created_at ge 2024-05-02 and created_at lt 2024-06-01", [2]),
    ],
)
def test_datetime_literals(db, text, ids):
    assert matching(db, text) == ids


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("org_id eq 'NzAwNTUxOTA5NzczMTQ4MTYw'", [5]),
        (f"org_id eq {BIG_ID}", [5]),
        ("org_id eq 'MjA='", [3, 4]),  # base64 of "20"
        ("id eq 3", [3]),
        ("org_id lt 'MjA='", [1, 2, 6]),
    ],
)
def test_id_literals(db, text, ids):
    assert matching(db, text) == ids


def test_null_and_null_safe_negation(db):
    assert matching(db, "description eq null") == [3]
    assert matching(db, "description ne NULL") == [1, 2, 4, 5, 6]
    assert matching(db, "description ne 'under_score'") == [1, 2, 3, 4, 6]
    assert matching(db, "not (description eq 'under_score')") == [1, 2, 3, 4, 6]
    assert matching(db, "not contains(description, 'fibre')") == [1, 3, 4, 5]


def test_blank_filter_matches_everything(db):
    assert matching(db, "  ") == [1, 2, 3, 4, 5, 6]


# --- filter: precedence ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        # not > and > or
        ("type eq 'fixed' or type eq 'mobile' and interval_1 eq 1", [1, 3, 5]),
        ("(type eq 'fixed' or type eq 'mobile') and interval_1 eq 1", [1, 5]),
        ("not type eq 'fixed' and interval_1 eq 60", [2, 4]),
        ("not (type eq 'fixed' and interval_1 eq 1)", [2, 3, 4, 6]),
        ("not type eq 'fixed' or interval_1 eq 1", [1, 2, 4, 5, 6]),
        ("not not active eq true", [1, 3, 4, 6]),
        ("((((interval_1 eq 30))))", [3]),
        ("interval_1 eq 1 OR interval_1 EQ 30 And Not active eq false", [1, 3, 5]),
        ("(interval_1 eq 1)or(interval_1 eq 30)", [1, 3, 5]),
    ],
)
def test_precedence_and_parentheses(db, text, ids):
    assert matching(db, text) == ids


# --- filter: errors -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("foo eq 1", "foo", "unknown field 'foo' at position 1 (filterable: id, org_id, prefix,"),
        ("secret eq 'x'", "secret", "field not filterable: 'secret'"),
        ("interval_1 eq 'abc'", "interval_1", "field 'interval_1' expects an integer, got \"'abc'\" at position 15"),
        ("interval_1 eq 1.5", "interval_1", "expects an integer"),
        ("price_1 eq 0.123456", "price_1", "field 'price_1' expects a decimal amount with at most 5 decimal places"),
        ("price_1 eq 'cheap'", "price_1", "expects a decimal amount"),
        ("type eq 'landline'", "type", "expects one of FIXED, MOBILE, TOLLFREE"),
        ("type gt 'fixed'", "type", "enum field 'type' supports only eq and ne"),
        ("active eq 1", "active", "expects true or false"),
        ("created_at gt 'yesterday'", "created_at", "expects an ISO-8601 date or datetime"),
        ("created_at gt 2024-13-01", "created_at", "expects an ISO-8601"),
        ("org_id eq 'not-an-id'", "org_id", "expects an id"),
        ("prefix eq true", "prefix", "expects a string"),
        ("interval_1 gt null", "interval_1", "null can only be compared with eq or ne"),
        ("contains(interval_1, '1')", "interval_1", "contains() needs a text field"),
        ("interval_1 = 5", None, "unexpected character '=' at position 12"),
        ("interval_1 eq", "interval_1", "expected a value for 'interval_1' at position 14, found end of filter"),
        ("interval_1 is 5", "interval_1", "expected an operator (eq, ne, gt, ge, lt, le) after 'interval_1' at position 12"),
        ("(interval_1 eq 1 and active eq true", None, "expected ')' at position 36, found end of filter"),
        ("interval_1 eq 1 active eq true", None, "expected 'and', 'or' or end of filter at position 17"),
        ("interval_1 eq 1 and", None, "expected a field name, 'not' or '(' at position 20"),
        ("contains(prefix 'x')", None, "expected ',' at position 17"),
        ("prefix eq 'O''Brien", None, "unterminated string at position 11"),
        ('prefix eq "abc', None, "unterminated string at position 11"),
        ("type eq FIXED", "type", "got 'FIXED' at position 9"),
    ],
)
def test_filter_errors_name_field_or_position(text, field, message):
    with pytest.raises(QueryError) as raised:
        parse_filter(text, FIELDS)
    assert raised.value.param == "filter"
    assert raised.value.field == field
    assert str(raised.value).startswith("filter: ")
    assert message in str(raised.value)


def test_limits_give_clean_errors():
    deepest = "(" * MAX_DEPTH + "interval_1 eq 1" + ")" * MAX_DEPTH
    literal = {"compile_kwargs": {"literal_binds": True}}
    assert str(parse_filter(deepest, FIELDS).compile(**literal)) == str(parse_filter("interval_1 eq 1", FIELDS).compile(**literal))
    for hostile in [
        "(" * (MAX_DEPTH + 1) + "interval_1 eq 1" + ")" * (MAX_DEPTH + 1),
        "not " * (MAX_DEPTH + 1) + "interval_1 eq 1",
        "(" * MAX_LENGTH,
    ]:
        with pytest.raises(QueryError, match=f"nested deeper than {MAX_DEPTH} levels at position"):
            parse_filter(hostile, FIELDS)
    with pytest.raises(QueryError, match=f"longer than {MAX_LENGTH} characters"):
        parse_filter("(" * (MAX_LENGTH + 1), FIELDS)


# --- orderby -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        (None, [1, 2, 3, 4, 5, 6]),
        ("", [1, 2, 3, 4, 5, 6]),
        ("interval_1", [1, 5, 6, 3, 2, 4]),  # ties broken by id
        ("interval_1 desc", [2, 4, 3, 6, 1, 5]),
        ("type DESC, price_1 asc", [6, 4, 2, 1, 3, 5]),
        ("price_1, created_at desc", [4, 1, 6, 3, 2, 5]),
        ("id desc", [6, 5, 4, 3, 2, 1]),  # the tie-breaker is not repeated
        ("  created_at ,  prefix  ", [5, 3, 6, 1, 2, 4]),
    ],
)
def test_orderby(db, text, ids):
    assert ordered(db, text) == ids


def test_orderby_always_ends_with_the_tie_breaker():
    keys = parse_orderby("type desc", FIELDS)
    assert [str(key) for key in keys] == ["rates.type DESC", "rates.id ASC"]


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("foo", "foo", "orderby: unknown field 'foo' (sortable: id, org_id, prefix, type,"),
        ("description desc", "description", "orderby: field not sortable: 'description'"),
        ("prefix sideways", None, "orderby: expected 'field [asc|desc]', got 'prefix sideways'"),
        ("prefix,,type", None, "orderby: expected 'field [asc|desc]', got ''"),
        ("prefix asc desc", None, "got 'prefix asc desc'"),
        ("prefix, prefix desc", "prefix", "orderby: field 'prefix' listed twice"),
        ("id," * MAX_LENGTH, None, f"orderby: longer than {MAX_LENGTH} characters"),
    ],
)
def test_orderby_errors(text, field, message):
    with pytest.raises(QueryError) as raised:
        parse_orderby(text, FIELDS)
    assert (raised.value.param, raised.value.field) == ("orderby", field)
    assert message in str(raised.value)


# --- search ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("fibre", [2, 6]),
        ("FIBRE london", [2]),
        ("  44  ", [1, 2]),  # prefix column
        ("4 o'brien", [1]),
        ("100%", [2]),
        ("100", [2, 6]),
        ("_", [5]),
        ("%", [2]),
        ("fibre berlin", []),
        ("", [1, 2, 3, 4, 5, 6]),
    ],
)
def test_search(db, text, ids):
    assert searched(db, text) == ids


def test_search_errors():
    with pytest.raises(QueryError, match="search: this resource does not support search") as raised:
        search_clause("x", Fields(fields=FIELDS.fields))
    assert raised.value.param == "search"
    with pytest.raises(QueryError, match=f"search: more than {MAX_TERMS} terms"):
        search_clause("a " * (MAX_TERMS + 1), FIELDS)
    with pytest.raises(QueryError, match="search: longer than"):
        search_clause("a" * (MAX_LENGTH + 1), FIELDS)


# --- safety ------------------------------------------------------------------


def compiled(clause) -> sa.engine.Compiled:
    return sa.select(rates.c.id).where(clause).compile(dialect=sqlite.dialect())


def test_user_literals_are_bound_parameters():
    text = (
        "description eq 'Robert''); DROP TABLE rates;--' or prefix eq \"zq9\" or price_1 eq 0.01234"
        " or interval_1 eq 4242 or created_at eq 2031-02-03 or org_id eq 'NzAwNTUxOTA5NzczMTQ4MTYw'"
        " or contains(description, 'needle%')"
    )
    query = compiled(parse_filter(text, FIELDS))
    sql = str(query)
    for fragment in ["DROP", "zq9", "0.01234", "1234", "4242", "2031", "NzAw", str(BIG_ID), "needle"]:
        assert fragment not in sql
    assert "Robert'); DROP TABLE rates;--" in query.params.values()
    assert BIG_ID in query.params.values()
    assert "zq9" in str(compiled(search_clause("zq9", FIELDS)).params)


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1).map(lambda s: "qz" + s))
@settings(max_examples=60, deadline=None)
def test_random_string_literals_never_reach_the_sql(value):
    quoted = "'" + value.replace("'", "''") + "'"
    query = compiled(parse_filter(f"prefix eq {quoted} or contains(description, {quoted})", FIELDS))
    assert value not in str(query)
    assert value in query.params.values()


LITERALS = [
    "null", "true", "44", "-7", "0.012", "0.1234567", "99999999999999999999", "9223372036854775807",
    "2024-05-01", "2024-05-01T10:00:00Z", "'9999-12-31T23:59:59-05:00'", "'0001-01-01T00:00:00+05:00'",
    "'MjA='", "'fixed'", "'a''b'", '"x"', "'%_/'",
]
SYMBOLS = ["(", ")", ",", "'", '"', "and", "or", "not", "eq", "gt", "contains", "startswith"]


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


names = st.sampled_from(list(FIELDS.fields))
literals = st.sampled_from(LITERALS) | st.text(max_size=12).map(quoted)
leaves = st.builds("{} {} {}".format, names, st.sampled_from(["eq", "NE", "gt", "le"]), literals) | st.builds(
    "{}({}, {})".format, st.sampled_from(["contains", "startswith"]), names, literals
)
filters = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds("{} and {}".format, inner, inner),
        st.builds("{} or {}".format, inner, inner),
        inner.map("not {}".format),
        inner.map("({})".format),
    ),
    max_leaves=6,
)


@given(
    st.one_of(
        st.text(max_size=80),
        st.lists(st.sampled_from(SYMBOLS + LITERALS + list(FIELDS.fields)), max_size=14).map(" ".join),
        filters,
    )
)
@settings(max_examples=500, deadline=None)
def test_garbage_raises_only_query_error(db, text):
    try:
        clause = parse_filter(text, FIELDS)
    except QueryError:
        return
    db.execute(sa.select(rates.c.id).where(clause)).all()  # what parses must also run


@settings(max_examples=200, deadline=None)
@given(
    stored=st.lists(st.text("0123456789", min_size=1, max_size=6), min_size=1, max_size=40, unique=True),
    wanted=st.text("0123456789", min_size=1, max_size=4),
)
def test_startswith_on_digit_strings_is_an_exact_range(stored, wanted):
    """The index-friendly range `startswith` becomes on digit fields ('49' → < '5', '99' → open)
    selects exactly what Python's str.startswith does."""
    table = sa.Table("digits", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("prefix", sa.String))
    fields = Fields(fields={"prefix": Field(table.c.prefix, "str", digits=True)})
    engine = sa.create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.connect() as conn:
        conn.execute(table.insert(), [{"id": n, "prefix": value} for n, value in enumerate(stored)])
        found = set(conn.scalars(sa.select(table.c.prefix).where(parse_filter(f"startswith(prefix, '{wanted}')", fields))))
    assert found == {value for value in stored if value.startswith(wanted)}


def test_startswith_on_a_digit_field_compiles_to_a_range():
    sql = str(parse_filter("startswith(prefix, '49')", FIELDS).compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    assert "prefix >= '49'" in sql and "prefix < '5'" in sql and "lower(" not in sql
