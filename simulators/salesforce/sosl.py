"""The SOSL subset needed to find people: `FIND {term} IN EMAIL|PHONE|NAME|ALL FIELDS
RETURNING Contact(Id, Name, …), Lead(…) [LIMIT n]`.

Reserved characters inside the braces are escaped with a backslash (`? & | ! { } [ ] ( ) ^ ~ *
: \\ " ' + -`); unescaped `*` and `?` are wildcards. Phone terms match on digits, so
`415-555-0134` finds `+1 (415) 555-0134`, as Salesforce's phone search does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from simulators.salesforce.schema import SCHEMA, Field
from simulators.salesforce.soql import Query, project, resolve_path
from simulators.salesforce.store import SfError

RESERVED = set("?&|!{}[]()^~*:\\\"'+-")
_HEAD = re.compile(r"^\s*FIND\s*\{", re.IGNORECASE)
_SCOPE = re.compile(r"^\s*IN\s+(ALL|EMAIL|PHONE|NAME)\s+FIELDS", re.IGNORECASE)
_RETURNING = re.compile(r"^\s*RETURNING\s+", re.IGNORECASE)
_OBJECT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(\(([^()]*)\))?\s*(,)?", re.IGNORECASE)
_LIMIT = re.compile(r"^\s*LIMIT\s+(\d+)\s*$", re.IGNORECASE)


def _malformed(detail: str) -> SfError:
    return SfError(
        400, "MALFORMED_SEARCH", f"No search term found. The search term must be enclosed in braces. {detail}".strip()
    )


def parse_term(sosl: str) -> tuple[str, str]:
    """The unescaped term (wildcards kept as `\\0*`/`\\0?` markers) and the rest of the statement."""
    m = _HEAD.match(sosl)
    if not m:
        raise _malformed("")
    i, out = m.end(), []
    while i < len(sosl):
        c = sosl[i]
        if c == "\\" and i + 1 < len(sosl):
            out.append(sosl[i + 1])
            i += 2
            continue
        if c == "}":
            return "".join(out), sosl[i + 1 :]
        if c == "{":
            raise SfError(400, "MALFORMED_SEARCH", f"line 1:{i} mismatched character '{{'")
        out.append("\0" + c if c in "*?" else c)
        i += 1
    raise _malformed("")


def _term_regex(term: str) -> re.Pattern:
    rx = ""
    i = 0
    while i < len(term):
        if term[i] == "\0" and i + 1 < len(term):
            rx += ".*" if term[i + 1] == "*" else "."
            i += 2
            continue
        rx += re.escape(term[i])
        i += 1
    return re.compile(rx, re.IGNORECASE | re.DOTALL)


def _digits(text: Any) -> str:
    return re.sub(r"\D", "", str(text or ""))


def search(
    sosl: str,
    records: Callable[[str], list[dict]],
    lookup,
    version: str,
    schema: dict[str, dict[str, Field]] = SCHEMA,
) -> list[dict]:
    """The SOSL answer over RECORDS (the index), with SCHEMA the fields the caller may see: a
    RETURNING field it may not see is INVALID_FIELD, and its values are not searched."""
    term, rest = parse_term(sosl)
    plain = term.replace("\0", "")
    if len(plain.strip().strip("*?")) < 2:
        raise SfError(400, "INVALID_SEARCH", f"search term must be longer than one character: {plain}")
    scope = "ALL"
    m = _SCOPE.match(rest)
    if m:
        scope, rest = m.group(1).upper(), rest[m.end() :]
    targets: list[tuple[str, list[tuple[str, int]], int | None]] = []
    m = _RETURNING.match(rest)
    if m:
        rest = rest[m.end() :]
        while True:
            om = _OBJECT.match(rest)
            if not om:
                break
            name = next((n for n in schema if n.lower() == om.group(1).lower()), None)
            if name is None:
                if om.group(1).upper() == "LIMIT":
                    break
                raise SfError(400, "INVALID_TYPE", f"sObject type '{om.group(1)}' is not supported.")
            inner = om.group(3) or "Id"
            limit = None
            lm = re.search(r"\bLIMIT\s+(\d+)\s*$", inner, re.IGNORECASE)
            if lm:
                limit, inner = int(lm.group(1)), inner[: lm.start()]
            start = len(sosl) - len(rest) + (om.start(3) if om.group(3) is not None else om.end())
            targets.append((name, _named_fields(inner, start), limit))
            rest = rest[om.end() :]
            if not om.group(4):
                break
    else:
        targets = [(n, [("Id", 1)], None) for n in ("Account", "Contact", "Lead", "Case")]
    overall = None
    lm = _LIMIT.match(rest)
    if lm:
        overall, rest = int(lm.group(1)), ""
    if rest.strip():
        raise SfError(400, "MALFORMED_SEARCH", f"unexpected token: {rest.strip().split()[0]}")
    pattern, digits = _term_regex(term), _digits(plain)
    found: list[dict] = []
    for sobject, field_names, limit in targets:
        q = Query(sobject, [resolve_path(sobject, f, col, sosl, schema) for f, col in field_names], schema=schema)
        hits = [r for r in records(sobject) if _hit(r, schema[sobject], scope, pattern, digits)]
        if limit is not None:
            hits = hits[:limit]
        found.extend(project(r, q, lookup, version) for r in hits)
    return found[:overall] if overall is not None else found


def _named_fields(inner: str, start: int) -> list[tuple[str, int]]:
    """The RETURNING list's field names with their 1-based columns in the statement (for errors)."""
    out, offset = [], 0
    for part in inner.split(","):
        name = part.strip()
        if name:
            out.append((name, start + offset + part.index(name) + 1))
        offset += len(part) + 1
    return out


def _hit(record: dict, fields: dict[str, Field], scope: str, pattern: re.Pattern, digits: str) -> bool:
    for f in fields.values():
        value = record.get(f.name)
        if not value or not isinstance(value, str):
            continue
        if f.type == "phone" and scope in ("PHONE", "ALL") and len(digits) >= 4:
            have = _digits(value)
            if have and (have.endswith(digits) or digits.endswith(have)):
                return True
        if f.type == "email" and scope in ("EMAIL", "ALL") and pattern.fullmatch(value):
            return True
        if scope == "NAME" and f.name in ("Name", "FirstName", "LastName", "Company") and pattern.search(value):
            return True
        if scope == "ALL" and f.type in ("string", "textarea", "email") and pattern.search(value):
            return True
    return False
