"""The list query language: `filter`, `search` and `orderby`.

Pure and free of HTTP so every list endpoint shares one grammar and it can be
tested against a real database. User values reach SQL only as bound parameters;
only documented fields can be named, so a query cannot reach other columns.
"""

# Hand-written: odata-query accepts neither double-quoted strings nor our typed field mapping.

import operator
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, UnaryExpression, and_, literal, not_, or_, true

from trunkline.kit import ids
from trunkline.rating.money import to_units

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_TERMS = 16
KINDS = ("str", "int", "money", "enum", "bool", "datetime", "id")


class QueryError(ValueError):
    """A list query the client must fix; names the parameter and, when known, the field."""

    def __init__(self, param: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.field = field


@dataclass(frozen=True)
class Field:
    """A documented field: its column, how literals are typed, what clients may do with it."""

    column: ColumnElement
    kind: str
    choices: tuple[str, ...] = ()
    sortable: bool = True
    filterable: bool = True
    digits: bool = False  # a str column holding digit strings only (dialled prefixes)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")


@dataclass(frozen=True)
class Fields:
    """What a resource documents; `default_order` ends every ordering so paging is stable."""

    fields: dict[str, Field]
    search: tuple[ColumnElement, ...] = ()
    default_order: tuple[str, ...] = ("id",)


# --- tokens -----------------------------------------------------------------

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<string>'(?:[^']|'')*+'|"(?:[^"]|"")*+")
    | (?P<datetime>[0-9]{4}-[0-9]{2}-[0-9]{2}
        (?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?)
    | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[(),])
    """,
    re.VERBOSE | re.ASCII,
)
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


class Token(NamedTuple):
    kind: str  # string | datetime | number | word | punct | end
    text: str  # as written, for messages
    value: str  # strings unquoted and unescaped; otherwise the text
    pos: int  # 1-based character position

    def describe(self) -> str:
        return "end of filter" if self.kind == "end" else repr(self.text)

    def keyword(self) -> str | None:
        return self.text.lower() if self.kind == "word" else None


def _tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            problem = "unterminated string" if char in "'\"" else f"unexpected character {char!r}"
            raise QueryError("filter", f"{problem} at position {pos + 1}")
        kind, lexeme = match.lastgroup, match.group()
        if kind != "space":
            value = lexeme[1:-1].replace(lexeme[0] * 2, lexeme[0]) if kind == "string" else lexeme
            tokens.append(Token(kind, lexeme, value, pos + 1))
        pos = match.end()
    tokens.append(Token("end", "", "", len(text) + 1))
    return tokens


# --- literals ---------------------------------------------------------------


def _bigint(value: int) -> int:
    """Values outside BIGINT would fail in the driver, after parsing; refuse them here."""
    if not -(2**63) <= value < 2**63:
        raise ValueError("out of range")
    return value


def _as_str(tok: Token, field: Field) -> str:
    """Bare numbers and dates count as text: prefixes like 44 are digit strings."""
    if tok.kind not in ("string", "number", "datetime"):
        raise ValueError
    return tok.value


def _as_int(tok: Token, field: Field) -> int:
    if tok.kind != "number" or "." in tok.text:
        raise ValueError
    return _bigint(int(tok.text))


def _as_money(tok: Token, field: Field) -> int:
    """Quoted amounts are accepted too: the API renders money as decimal strings."""
    if tok.kind not in ("number", "string") or not _DECIMAL.fullmatch(tok.value):
        raise ValueError
    return _bigint(to_units(tok.value))


def _as_enum(tok: Token, field: Field) -> str:
    """The choice as stored (matched without regard to case)."""
    wanted = tok.value.upper() if tok.kind == "string" else None
    for choice in field.choices:
        if choice.upper() == wanted:
            return choice
    raise ValueError


def _as_bool(tok: Token, field: Field) -> bool:
    if tok.keyword() not in ("true", "false"):
        raise ValueError
    return tok.keyword() == "true"


def _as_datetime(tok: Token, field: Field) -> datetime:
    """Normalised to UTC so stores that drop the offset (SQLite) still compare correctly."""
    if tok.kind not in ("datetime", "string"):
        raise ValueError
    moment = datetime.fromisoformat(tok.value)
    try:
        return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None


def _as_id(tok: Token, field: Field) -> int:
    if tok.kind == "string" and (value := ids.decode(tok.value)) is not None:
        return value
    return _as_int(tok, field)


_CONVERT: dict[str, Callable[[Token, Field], object]] = {
    "str": _as_str,
    "int": _as_int,
    "money": _as_money,
    "enum": _as_enum,
    "bool": _as_bool,
    "datetime": _as_datetime,
    "id": _as_id,
}

_EXPECTS = {
    "str": "a string",
    "int": "an integer",
    "money": "a decimal amount with at most 5 decimal places",
    "enum": "one of {choices}",
    "bool": "true or false",
    "datetime": "an ISO-8601 date or datetime",
    "id": "an id (base64 string or integer)",
}


# --- filter -----------------------------------------------------------------

_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_UNORDERED = ("enum", "bool")
_FUNCTIONS = ("contains", "startswith")


def _two_valued(column: ColumnElement, op: str, test: ColumnElement[bool]) -> ColumnElement[bool]:
    """A NULL column makes a comparison neither true nor false, so `not` would lose the row.

    OData semantics instead: null ne 'x' is true, every other test on null is false.
    """
    if not getattr(column, "nullable", True):
        return test
    if op == "ne":
        return or_(test, column.is_(None))
    return and_(column.is_not(None), test)


def _digit_range(column: ColumnElement, digits: str) -> ColumnElement[bool]:
    """`startswith` on a column of digit strings as a range an index serves: '44' <= x < '45'
    ('49' gives < '5'; all nines, no upper bound). Digit strings sort alike under any usual
    collation; the case-sensitive LIKE keeps the answer exact if one sorted them otherwise."""
    head = digits.rstrip("9")
    bounds = [column >= digits] + ([column < head[:-1] + str(int(head[-1]) + 1)] if head else [])
    return and_(*bounds, column.startswith(digits, autoescape=True))


class _Parser:
    """Recursive descent: or_expr > and_expr > not_expr > primary, so not binds tightest."""

    def __init__(self, text: str, fields: Fields) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.fields = fields

    def parse(self) -> ColumnElement[bool]:
        expr = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(f"expected 'and', 'or' or end of filter at position {tok.pos}, found {tok.describe()}")
        return expr

    # token helpers

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        tok = self.tokens[self.index]
        if tok.kind != "end":
            self.index += 1
        return tok

    def accept(self, keyword: str) -> bool:
        if self.peek().keyword() == keyword:
            self.take()
            return True
        return False

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise self.error(f"expected {text!r} at position {tok.pos}, found {tok.describe()}")

    def error(self, message: str, field: str | None = None) -> QueryError:
        return QueryError("filter", message, field)

    @contextmanager
    def nested(self, tok: Token) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels at position {tok.pos}")
        yield
        self.depth -= 1

    # grammar

    def or_expr(self) -> ColumnElement[bool]:
        parts = [self.and_expr()]
        while self.accept("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def and_expr(self) -> ColumnElement[bool]:
        parts = [self.not_expr()]
        while self.accept("and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def not_expr(self) -> ColumnElement[bool]:
        tok = self.peek()
        if not self.accept("not"):
            return self.primary()
        with self.nested(tok):
            return not_(self.not_expr())

    def primary(self) -> ColumnElement[bool]:
        tok = self.take()
        if tok.text == "(":
            with self.nested(tok):
                expr = self.or_expr()
                self.expect(")")
            return expr
        if tok.keyword() in _FUNCTIONS and self.peek().text == "(":
            return self.function(tok)
        if tok.kind == "word":
            return self.comparison(tok)
        raise self.error(f"expected a field name, 'not' or '(' at position {tok.pos}, found {tok.describe()}")

    def comparison(self, name_tok: Token) -> ColumnElement[bool]:
        name, field = self.field(name_tok)
        tok = self.take()
        op = tok.keyword()
        if op not in _COMPARE:
            raise self.error(
                f"expected an operator (eq, ne, gt, ge, lt, le) after {name!r} at position {tok.pos}, "
                f"found {tok.describe()}",
                name,
            )
        value_tok = self.take()
        if value_tok.keyword() == "null":
            return self.null_test(name, field, op, value_tok)
        if op not in ("eq", "ne") and field.kind in _UNORDERED:
            raise self.error(f"{field.kind} field {name!r} supports only eq and ne (position {tok.pos})", name)
        value = self.value(name, field, value_tok)
        test = _COMPARE[op](field.column, literal(value, field.column.type))
        return _two_valued(field.column, op, test)

    def null_test(self, name: str, field: Field, op: str, tok: Token) -> ColumnElement[bool]:
        if op == "eq":
            return field.column.is_(None)
        if op == "ne":
            return field.column.is_not(None)
        raise self.error(f"null can only be compared with eq or ne, for {name!r} at position {tok.pos}", name)

    def function(self, func_tok: Token) -> ColumnElement[bool]:
        func = func_tok.keyword()
        self.expect("(")
        name, field = self.field(self.take())
        if field.kind != "str":
            raise self.error(f"{func}() needs a text field, {name!r} is {field.kind}", name)
        self.expect(",")
        value = self.value(name, field, self.take())
        self.expect(")")
        if func == "startswith" and field.digits and value.isdigit():
            return _two_valued(field.column, func, _digit_range(field.column, value))
        method = field.column.icontains if func == "contains" else field.column.istartswith
        return _two_valued(field.column, func, method(value, autoescape=True))

    def field(self, tok: Token) -> tuple[str, Field]:
        if tok.kind != "word":
            raise self.error(f"expected a field name at position {tok.pos}, found {tok.describe()}")
        field = self.fields.fields.get(tok.text)
        if field is None or not field.filterable:
            allowed = ", ".join(n for n, f in self.fields.fields.items() if f.filterable)
            problem = "unknown field" if field is None else "field not filterable:"
            raise self.error(f"{problem} {tok.text!r} at position {tok.pos} (filterable: {allowed})", tok.text)
        return tok.text, field

    def value(self, name: str, field: Field, tok: Token) -> object:
        if tok.kind in ("end", "punct"):
            raise self.error(f"expected a value for {name!r} at position {tok.pos}, found {tok.describe()}", name)
        try:
            return _CONVERT[field.kind](tok, field)
        except ValueError:
            expects = _EXPECTS[field.kind].format(choices=", ".join(field.choices))
            raise self.error(
                f"field {name!r} expects {expects}, got {tok.describe()} at position {tok.pos}", name
            ) from None


def _check_length(param: str, text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise QueryError(param, f"longer than {MAX_LENGTH} characters")


def parse_filter(text: str, fields: Fields) -> ColumnElement[bool]:
    """The filter as a Core expression with bound parameters; blank means no filter."""
    _check_length("filter", text)
    if not text.strip():
        return true()
    return _Parser(text, fields).parse()


# --- orderby ----------------------------------------------------------------


def _sort_keys(text: str, fields: Fields) -> list[tuple[str, bool]]:
    """(field, descending) pairs from `field [asc|desc], …`."""
    keys: list[tuple[str, bool]] = []
    for item in text.split(","):
        words = item.split()
        if not 1 <= len(words) <= 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise QueryError("orderby", f"expected 'field [asc|desc]', got {item.strip()!r}")
        name = words[0]
        field = fields.fields.get(name)
        if field is None or not field.sortable:
            allowed = ", ".join(n for n, f in fields.fields.items() if f.sortable)
            problem = "unknown field" if field is None else "field not sortable:"
            raise QueryError("orderby", f"{problem} {name!r} (sortable: {allowed})", name)
        if name in (key for key, _ in keys):
            raise QueryError("orderby", f"field {name!r} listed twice", name)
        keys.append((name, len(words) == 2 and words[1].lower() == "desc"))
    return keys


def parse_orderby(text: str | None, fields: Fields) -> list[UnaryExpression]:
    """The client's ordering, then the default order as tie-breaker so pages never overlap."""
    _check_length("orderby", text or "")
    keys = _sort_keys(text, fields) if text and text.strip() else []
    used = {name for name, _ in keys}
    keys += [key for key in _sort_keys(",".join(fields.default_order), fields) if key[0] not in used]
    columns = [(fields.fields[name].column, desc) for name, desc in keys]
    return [column.desc() if desc else column.asc() for column, desc in columns]


# --- search -----------------------------------------------------------------


def search_clause(text: str, fields: Fields) -> ColumnElement[bool]:
    """Every term must appear (case-insensitive) in some search column; % and _ match literally."""
    _check_length("search", text)
    terms = text.split()
    if not terms:
        return true()
    if not fields.search:
        raise QueryError("search", "this resource does not support search")
    if len(terms) > MAX_TERMS:
        raise QueryError("search", f"more than {MAX_TERMS} terms")
    return and_(*(_anywhere(term, fields.search) for term in terms))


def _anywhere(term: str, columns: tuple[ColumnElement, ...]) -> ColumnElement[bool]:
    return or_(*(column.icontains(term, autoescape=True) for column in columns))
