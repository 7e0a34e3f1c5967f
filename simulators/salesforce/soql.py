"""A real SOQL subset: tokenizer, recursive-descent parser and evaluator.

Supported: SELECT fields (parent fields such as `Account.Name`) or COUNT(), FROM one object,
WHERE with = != <> < > <= >= LIKE IN NOT IN, AND/OR/NOT and parentheses, string literals with
Salesforce's escapes (`\\' \\" \\\\ \\n \\r \\t \\b \\f \\uXXXX`, and `\\% \\_` inside LIKE), numbers,
null/true/false, date and datetime literals, TODAY, YESTERDAY, LAST_N_DAYS:n; ORDER BY (several
keys, ASC/DESC, NULLS FIRST/LAST), LIMIT, OFFSET. Errors read as Salesforce's do:
MALFORMED_QUERY "ERROR at Row:1:Column:N\\nunexpected token: X" and INVALID_FIELD.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulators.salesforce import content
from simulators.salesforce.schema import OBJECT_BY_PREFIX, SCHEMA, Field
from simulators.salesforce.store import SfError, parse_sf_datetime

KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "NULL",
    "TRUE",
    "FALSE",
    "COUNT",
}
_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\d:T])")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:\d+)?")


@dataclass
class Token:
    kind: str  # ident, keyword, string, number, date, datetime, op, punct, eof
    value: Any
    column: int
    text: str = ""


def _malformed(token: Token | None, query: str) -> SfError:
    """Salesforce's MALFORMED_QUERY: the query's line, a caret under the token, row and column."""
    if token is None or token.kind == "eof":
        column, shown = len(query) + 1, "<EOF>"
    else:
        column, shown = token.column, f"'{token.text or token.value}'"
    return SfError(
        400,
        "MALFORMED_QUERY",
        f"\n{_excerpt(query)}\n{' ' * max(column - 1, 0)}^\nERROR at Row:1:Column:{column}\nunexpected token: {shown}",
    )


def _excerpt(query: str) -> str:
    return query.splitlines()[0] if query.strip() else query


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        col = i + 1
        if ch == "'":
            out, i = [], i + 1
            while True:
                if i >= n:
                    raise SfError(
                        400,
                        "MALFORMED_QUERY",
                        f"ERROR at Row:1:Column:{col}\nline 1:{col - 1} mismatched character '<EOF>' expecting '''",
                    )
                c = query[i]
                if c == "\\":
                    if i + 1 >= n:
                        raise _malformed(Token("punct", "\\", i + 1), query)
                    nxt = query[i + 1]
                    if nxt in _ESCAPES:
                        out.append(_ESCAPES[nxt])
                        i += 2
                    elif nxt in "%_":
                        out.append("\\" + nxt)  # kept for LIKE, where they mean literal % and _
                        i += 2
                    elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", query[i + 2 : i + 6] or ""):
                        out.append(chr(int(query[i + 2 : i + 6], 16)))
                        i += 6
                    else:
                        raise SfError(
                            400,
                            "MALFORMED_QUERY",
                            f"ERROR at Row:1:Column:{i + 1}\nInvalid string literal '{query[col - 1 : i + 2]}'. Illegal character sequence '\\{nxt}' in string literal.",
                        )
                elif c == "'":
                    i += 1
                    break
                else:
                    out.append(c)
                    i += 1
            tokens.append(Token("string", "".join(out), col, query[col - 1 : i]))
            continue
        for kind, rx in (("datetime", _DATETIME), ("date", _DATE)):
            m = rx.match(query, i)
            if m:
                tokens.append(Token(kind, m.group(0), col, m.group(0)))
                i = m.end()
                break
        else:
            if query.startswith(("!=", "<>", "<=", ">="), i):
                tokens.append(Token("op", query[i : i + 2].replace("<>", "!="), col, query[i : i + 2]))
                i += 2
            elif ch in "=<>":
                tokens.append(Token("op", ch, col, ch))
                i += 1
            elif ch in "(),":
                tokens.append(Token("punct", ch, col, ch))
                i += 1
            elif _NUMBER.match(query, i) and (ch.isdigit() or (ch == "-" and i + 1 < n and query[i + 1].isdigit())):
                m = _NUMBER.match(query, i)
                tokens.append(
                    Token("number", float(m.group(0)) if "." in m.group(0) else int(m.group(0)), col, m.group(0))
                )
                i = m.end()
            elif _IDENT.match(query, i):
                m = _IDENT.match(query, i)
                word = m.group(0)
                kind = "keyword" if word.upper() in KEYWORDS else "ident"
                tokens.append(Token(kind, word.upper() if kind == "keyword" else word, col, word))
                i = m.end()
            else:
                raise _malformed(Token("punct", ch, col, ch), query)
    tokens.append(Token("eof", None, n + 1, "<EOF>"))
    return tokens


# -- AST ---------------------------------------------------------------------------------
@dataclass
class Compare:
    path: list[str]
    op: str
    value: Any


@dataclass
class InList:
    path: list[str]
    values: list[Any]
    negate: bool


@dataclass
class BoolOp:
    op: str  # AND, OR, NOT
    parts: list[Any]


@dataclass
class Query:
    sobject: str
    fields: list[list[str]]  # resolved canonical paths
    count: bool = False
    where: Any = None
    order: list[tuple[list[str], bool, bool]] = field(default_factory=list)  # path, desc, nulls_last
    limit: int | None = None
    offset: int = 0
    schema: dict[str, dict[str, Field]] = field(
        default_factory=lambda: SCHEMA, repr=False
    )  # the fields the caller may see


class _Parser:
    def __init__(self, query: str, schema: dict[str, dict[str, Field]] = SCHEMA):
        self.query = query
        self.schema = schema
        self.tokens = tokenize(query)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect_kw(self, *words: str) -> Token:
        tok = self.take()
        if tok.kind != "keyword" or tok.value not in words:
            raise _malformed(tok, self.query)
        return tok

    def at_kw(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "keyword" and tok.value in words

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        raw_fields: list[Token] = []
        count = False
        if self.at_kw("COUNT"):
            self.take()
            if self.take().value != "(" or self.take().value != ")":
                raise _malformed(self.tokens[self.pos - 1], self.query)
            count = True
        else:
            while True:
                tok = self.take()
                if tok.kind != "ident":
                    raise _malformed(tok, self.query)
                raw_fields.append(tok)
                if self.peek().value == ",":
                    self.take()
                    continue
                break
        self.expect_kw("FROM")
        obj_tok = self.take()
        if obj_tok.kind != "ident":
            raise _malformed(obj_tok, self.query)
        sobject = next((name for name in self.schema if name.lower() == obj_tok.value.lower()), None)
        if sobject is None:
            raise SfError(
                400,
                "INVALID_TYPE",
                f"\n{self.query[:60]}\n{' ' * (obj_tok.column - 1)}^\nERROR at Row:1:Column:{obj_tok.column}\nsObject type '{obj_tok.value}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
            )
        q = Query(
            sobject,
            [resolve_path(sobject, t.value, t.column, self.query, self.schema) for t in raw_fields],
            count,
            schema=self.schema,
        )
        seen: set[str] = set()
        for t, path in zip(raw_fields, q.fields, strict=True):
            if ".".join(path) in seen:
                raise SfError(
                    400,
                    "INVALID_FIELD",
                    f"\n{_excerpt(self.query)}\nERROR at Row:1:Column:{t.column}\nduplicate field selected: {t.value}",
                )
            seen.add(".".join(path))
        if self.at_kw("WHERE"):
            self.take()
            q.where = self.parse_expr()
        if self.at_kw("ORDER"):
            self.take()
            self.expect_kw("BY")
            while True:
                tok = self.take()
                if tok.kind != "ident":
                    raise _malformed(tok, self.query)
                path = resolve_path(sobject, tok.value, tok.column, self.query, self.schema)
                _require(sobject, path, "sortable", "sorted", tok, self.query, self.schema)
                desc = False
                if self.at_kw("ASC", "DESC"):
                    desc = self.take().value == "DESC"
                nulls_last = desc
                if self.at_kw("NULLS"):
                    self.take()
                    nulls_last = self.expect_kw("FIRST", "LAST").value == "LAST"
                q.order.append((path, desc, nulls_last))
                if self.peek().value == ",":
                    self.take()
                    continue
                break
        if self.at_kw("LIMIT"):
            self.take()
            q.limit = self._int()
        if self.at_kw("OFFSET"):
            self.take()
            q.offset = self._int()
            if q.offset > 2000:
                raise SfError(400, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        if self.peek().kind != "eof":
            raise _malformed(self.peek(), self.query)
        return q

    def _int(self) -> int:
        tok = self.take()
        if tok.kind != "number" or not isinstance(tok.value, int) or tok.value < 0:
            raise _malformed(tok, self.query)
        return tok.value

    def parse_expr(self) -> Any:
        """Conditions joined by one operator only: SOQL demands parentheses wherever AND, OR and NOT
        mix (`a AND b OR c` and `a AND NOT b` are refused at the second operator)."""
        bare_not = self.at_kw("NOT")
        first = self.parse_unit()
        if not self.at_kw("AND", "OR"):
            return first
        if bare_not:
            raise _malformed(self.peek(), self.query)
        op = self.peek().value
        parts = [first]
        while self.at_kw("AND", "OR"):
            tok = self.take()
            if tok.value != op or self.at_kw("NOT"):
                raise _malformed(tok if tok.value != op else self.peek(), self.query)
            parts.append(self.parse_unit())
        return BoolOp(op, parts)

    def parse_unit(self) -> Any:
        if self.at_kw("NOT"):
            self.take()
            return BoolOp("NOT", [self.parse_unit()])
        if self.peek().value == "(" and self.peek().kind == "punct":
            self.take()
            inner = self.parse_expr()
            if self.take().value != ")":
                raise _malformed(self.tokens[self.pos - 1], self.query)
            return inner
        return self.parse_comparison()

    def parse_comparison(self) -> Any:
        tok = self.take()
        if tok.kind != "ident":
            raise _malformed(tok, self.query)
        path = resolve_path(self._sobject(), tok.value, tok.column, self.query, self.schema)
        _require(self._sobject(), path, "filterable", "filtered", tok, self.query, self.schema)
        if self.at_kw("NOT"):
            self.take()
            self.expect_kw("IN")
            return InList(path, self._list(), True)
        if self.at_kw("IN"):
            self.take()
            return InList(path, self._list(), False)
        if self.at_kw("LIKE"):
            self.take()
            value = self.take()
            if value.kind != "string":
                raise _malformed(value, self.query)
            if _field_of(self._sobject(), path, self.schema).type in ("id", "reference"):
                raise SfError(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"\n{_excerpt(self.query)}\nERROR at Row:1:Column:{tok.column}\ninvalid operator on id field",
                )
            return Compare(path, "LIKE", value.value)
        op = self.take()
        if op.kind != "op":
            raise _malformed(op, self.query)
        literal = self.tokens[self.pos]
        value = self._value()
        _check_literal(self._sobject(), path, literal, value, self.query, self.schema)
        return Compare(path, op.value, value)

    def _sobject(self) -> str:
        for i, t in enumerate(self.tokens):
            if t.kind == "keyword" and t.value == "FROM":
                name = self.tokens[i + 1].value
                return next(n for n in self.schema if n.lower() == str(name).lower())
        raise _malformed(None, self.query)

    def _list(self) -> list:
        if self.take().value != "(":
            raise _malformed(self.tokens[self.pos - 1], self.query)
        values = [self._value()]
        while self.peek().value == ",":
            self.take()
            values.append(self._value())
        if self.take().value != ")":
            raise _malformed(self.tokens[self.pos - 1], self.query)
        return values

    def _value(self) -> Any:
        tok = self.take()
        if tok.kind == "string":
            return tok.value.replace("\\%", "%").replace("\\_", "_")
        if tok.kind == "number":
            return tok.value
        if tok.kind == "keyword" and tok.value in ("NULL", "TRUE", "FALSE"):
            return {"NULL": None, "TRUE": True, "FALSE": False}[tok.value]
        if tok.kind == "datetime":
            return parse_sf_datetime(tok.value)
        if tok.kind == "date":
            return dt.date.fromisoformat(tok.value)
        if tok.kind == "ident":
            literal = date_literal(tok.value)
            if literal is not None:
                return literal
        raise _malformed(tok, self.query)


def date_literal(word: str) -> tuple[dt.datetime, dt.datetime] | None:
    """TODAY, YESTERDAY, LAST_N_DAYS:n as a [start, end) range in UTC."""
    today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    upper = word.upper()
    if upper == "TODAY":
        return (today, today + dt.timedelta(days=1))
    if upper == "YESTERDAY":
        return (today - dt.timedelta(days=1), today)
    m = re.fullmatch(r"LAST_N_DAYS:(\d+)", upper)
    if m:
        return (today - dt.timedelta(days=int(m.group(1))), today + dt.timedelta(days=1))
    return None


def resolve_path(
    sobject: str, dotted: str, column: int, query: str, schema: dict[str, dict[str, Field]] = SCHEMA
) -> list[str]:
    """`account.name` on Contact -> ["Account", "Name"]; INVALID_FIELD when it doesn't exist in
    SCHEMA (the caller's: a field its field security hides does not exist for it)."""
    parts = dotted.split(".")
    if len(parts) > 1 and parts[0].lower() == sobject.lower():
        parts = parts[1:]
    current = sobject
    resolved: list[str] = []
    for i, part in enumerate(parts):
        fields = schema[current]
        if i < len(parts) - 1:
            rel = next((f for f in fields.values() if f.relationship and f.relationship.lower() == part.lower()), None)
            if rel is None or not rel.reference_to or rel.reference_to[0] not in schema:
                raise _invalid_field(dotted, sobject, column, query)
            resolved.append(rel.relationship)
            current = rel.reference_to[0]
        else:
            f = next((f for f in fields.values() if f.name.lower() == part.lower()), None)
            if f is None and i:  # a parent's field: Salesforce names the column and the parent's entity
                raise _invalid_field(part, current, column, query)
            if f is None:
                raise _invalid_field(dotted, sobject, column, query)
            resolved.append(f.name)
    return resolved


def _field_of(sobject: str, path: list[str], schema: dict[str, dict[str, Field]] = SCHEMA) -> Field:
    current = sobject
    for part in path[:-1]:
        current = next(f for f in schema[current].values() if f.relationship == part).reference_to[0]
    return schema[current][path[-1]]


_SOQL_TYPES = {"datetime": "dateTime", "date": "date", "boolean": "boolean", "int": "int", "double": "double"}


def _check_literal(
    sobject: str, path: list[str], tok: Token, value: Any, query: str, schema: dict[str, dict[str, Field]] = SCHEMA
) -> None:
    """Salesforce compares a field only with a literal of its own type (a quoted date is text, not a date)."""
    f = _field_of(sobject, path, schema)
    column = f"\n{_excerpt(query)}\nERROR at Row:1:Column:{tok.column}\n"
    if value is None:
        return
    if f.type in ("id", "reference"):
        if not isinstance(value, str) or not re.fullmatch(r"[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?", value):
            raise SfError(400, "INVALID_QUERY_FILTER_OPERATOR", f"{column}invalid ID field: {value}")
        return
    wanted = _SOQL_TYPES.get(f.type)
    if wanted is not None:
        ok = {
            "dateTime": tok.kind == "datetime" or isinstance(value, tuple),
            "date": tok.kind == "date" or isinstance(value, tuple),
            "boolean": isinstance(value, bool),
            "int": tok.kind == "number",
            "double": tok.kind == "number",
        }[wanted]
        if not ok:
            raise SfError(
                400,
                "INVALID_FIELD",
                f"{column}value of filter criterion for field '{path[-1]}' must be of type {wanted} "
                "and should not be enclosed in quotes",
            )
    elif tok.kind != "string":
        raise SfError(
            400,
            "INVALID_FIELD",
            f"{column}value of filter criterion for field '{path[-1]}' must be of type string "
            "and should be enclosed in quotes",
        )


def _require(
    sobject: str,
    path: list[str],
    flag: str,
    verb: str,
    tok: Token,
    query: str,
    schema: dict[str, dict[str, Field]] = SCHEMA,
) -> None:
    """INVALID_FIELD for a field that cannot be filtered or sorted (long text areas such as Description)."""
    if not getattr(_field_of(sobject, path, schema), flag):
        raise SfError(
            400,
            "INVALID_FIELD",
            f"\n{_excerpt(query)}\n{' ' * max(tok.column - 1, 0)}^\nERROR at Row:1:Column:{tok.column}\n"
            f"field '{path[-1]}' can not be {verb} in {'a ' if verb == 'sorted' else ''}query call",
        )


def _invalid_field(name: str, sobject: str, column: int, query: str) -> SfError:
    return SfError(
        400,
        "INVALID_FIELD",
        f"\n{query[:80]}\n{' ' * max(column - 1, 0)}^\nERROR at Row:1:Column:{column}\nNo such column '{name}' on entity '{sobject}'. "
        "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
        "Please reference your WSDL or the describe call for the appropriate names.",
    )


def parse(query: str, schema: dict[str, dict[str, Field]] = SCHEMA) -> Query:
    """QUERY parsed against SCHEMA (the objects and fields the caller may see)."""
    if not query or not query.strip():
        raise SfError(400, "MALFORMED_QUERY", "ERROR at Row:1:Column:1\nunexpected token: <EOF>")
    q = _Parser(query, schema).parse()
    if q.sobject == "ContentDocumentLink" and not _by_id(q.where, ("ContentDocumentId", "LinkedEntityId", "Id")):
        # "You can't run a query without filters against ContentDocumentLink" (Object Reference; without the
        # Query All Files permission, v59.0+: a filter on Id, LinkedEntityId or ContentDocumentId); NOT IN is
        # refused too (salesforce.stackexchange.com/q/321161); the error as django-salesforce#302 quotes it
        raise SfError(
            400,
            "MALFORMED_QUERY",
            "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId "
            "or LinkedEntityId using the equals operator or multiple Id's using the IN operator.",
        )
    return q


def _by_id(node: Any, names: tuple[str, ...]) -> bool:
    """NODE filters on one of NAMES with `=` or IN (alone or in a top-level AND)."""
    if isinstance(node, Compare):
        return len(node.path) == 1 and node.path[0] in names and node.op == "=" and node.value is not None
    if isinstance(node, InList):
        return len(node.path) == 1 and node.path[0] in names and not node.negate
    if isinstance(node, BoolOp) and node.op == "AND":
        return any(_by_id(part, names) for part in node.parts)
    return False


# -- evaluation --------------------------------------------------------------------------
Lookup = Callable[[str], dict | None]


def value_at(
    record: dict, path: list[str], sobject: str, lookup: Lookup, schema: dict[str, dict[str, Field]] = SCHEMA
) -> Any:
    current, obj = record, sobject
    for part in path[:-1]:
        rel = next(f for f in schema[obj].values() if f.relationship == part)
        ref = current.get(rel.name)
        parent = lookup(ref) if ref else None
        if parent is None:
            return None
        current, obj = parent, _parent_type(parent, rel)
    return current.get(path[-1])


def _parent_type(parent: dict, rel: Field) -> str:
    """The parent's object: the lookup's first target, or its own kind for a polymorphic owner (a queue)."""
    actual = OBJECT_BY_PREFIX.get(str(parent.get("Id") or "")[:3])
    return (
        actual if actual in rel.reference_to or (actual == "Group" and rel.name == "OwnerId") else rel.reference_to[0]
    )


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    """Make a stored value comparable with a literal (datetimes are stored as Salesforce strings)."""
    if isinstance(b, (dt.datetime, tuple)) and isinstance(a, str):
        try:
            a = parse_sf_datetime(a)
        except ValueError:
            pass
    if isinstance(b, dt.date) and not isinstance(b, dt.datetime) and isinstance(a, str):
        try:
            a = parse_sf_datetime(a).date() if "T" in a else dt.date.fromisoformat(a)
        except ValueError:
            pass
    if isinstance(a, str) and isinstance(b, str):
        return a.lower(), b.lower()
    return a, b


def _like(value: Any, pattern: str) -> bool:
    if value is None:
        return False
    rx = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            rx += re.escape(pattern[i + 1])
            i += 2
            continue
        rx += ".*" if c == "%" else "." if c == "_" else re.escape(c)
        i += 1
    return re.fullmatch(rx, str(value), re.IGNORECASE | re.DOTALL) is not None


def matches(
    node: Any, record: dict, sobject: str, lookup: Lookup, schema: dict[str, dict[str, Field]] = SCHEMA
) -> bool:
    if node is None:
        return True
    if isinstance(node, BoolOp):
        if node.op == "AND":
            return all(matches(p, record, sobject, lookup, schema) for p in node.parts)
        if node.op == "OR":
            return any(matches(p, record, sobject, lookup, schema) for p in node.parts)
        return not matches(node.parts[0], record, sobject, lookup, schema)
    actual = value_at(record, node.path, sobject, lookup, schema)
    if isinstance(node, InList):
        found = any(_equal(actual, v) for v in node.values)
        return found != node.negate
    if node.op == "LIKE":
        return _like(actual, node.value)
    if node.op == "=":
        return _equal(actual, node.value)
    if node.op == "!=":
        return not _equal(actual, node.value)
    if actual is None or node.value is None:
        return False
    if isinstance(node.value, tuple):  # a date range literal
        a, _ = _coerce(actual, node.value)
        start, end = node.value
        return {"<": a < start, "<=": a < end, ">": a >= end, ">=": a >= start}[node.op]
    a, b = _coerce(actual, node.value)
    try:
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[node.op]
    except TypeError:
        return False


def _equal(actual: Any, literal: Any) -> bool:
    if literal is None:
        return actual in (None, "")
    if actual is None:
        return False
    if isinstance(literal, tuple):
        a, _ = _coerce(actual, literal)
        return isinstance(a, dt.datetime) and literal[0] <= a < literal[1]
    a, b = _coerce(actual, literal)
    return a == b


def sort_key(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    return value


def attributes(sobject: str, record_id: str, version: str) -> dict:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def project(record: dict, q: Query, lookup: Lookup, version: str) -> dict:
    """The record as Salesforce returns it: `attributes`, then the selected fields, parents nested."""
    out: dict[str, Any] = {"attributes": attributes(q.sobject, record["Id"], version)}
    for path in q.fields:
        _place(out, record, q.sobject, path, lookup, version, q.schema)
    return out


def _place(
    out: dict,
    record: dict,
    sobject: str,
    path: list[str],
    lookup: Lookup,
    version: str,
    schema: dict[str, dict[str, Field]] = SCHEMA,
) -> None:
    if len(path) == 1:
        value = record.get(path[0])
        f = schema[sobject].get(path[0])
        if f is not None and f.type == "base64" and value is not None:  # a blob: the URL of its bytes
            value = content.blob_url(sobject, record["Id"], path[0], version)
        out[path[0]] = value
        return
    rel = next(f for f in schema[sobject].values() if f.relationship == path[0])
    ref = record.get(rel.name)
    parent = lookup(ref) if ref else None
    if parent is None:
        out.setdefault(path[0], None)
        return
    target = _parent_type(parent, rel)
    nested = out.get(path[0]) or {"attributes": attributes(target, parent["Id"], version)}
    out[path[0]] = nested
    _place(nested, parent, target, path[1:], lookup, version, schema)


def execute(q: Query, records: list[dict], lookup: Lookup) -> list[dict]:
    """Filter, order, offset and limit (projection is separate, for paging)."""
    rows = [r for r in records if matches(q.where, r, q.sobject, lookup, q.schema)]
    for path, desc, nulls_last in reversed(q.order):
        present = [r for r in rows if value_at(r, path, q.sobject, lookup, q.schema) is not None]
        absent = [r for r in rows if value_at(r, path, q.sobject, lookup, q.schema) is None]
        present.sort(key=lambda r: sort_key(value_at(r, path, q.sobject, lookup, q.schema)), reverse=desc)
        rows = present + absent if nulls_last else absent + present
    rows = rows[q.offset :]
    if q.limit is not None:
        rows = rows[: q.limit]
    return rows
