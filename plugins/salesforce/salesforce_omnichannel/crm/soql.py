"""Escaping of every literal that reaches SOQL or SOSL: nothing typed by a visitor or an agent
is pasted into a query as it is."""

from __future__ import annotations

_SOQL = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_SOSL_RESERVED = set("?&|!{}[]()^~*:\\\"'+-")


def quote(value: str) -> str:
    """A SOQL string literal, quotes included."""
    return "'" + "".join(_SOQL.get(ch, ch) for ch in str(value)) + "'"


def like_escape(value: str) -> str:
    """The inside of a LIKE pattern where `%` and `_` are meant literally (wrap with `quote`-style quotes)."""
    escaped = "".join(_SOQL.get(ch, ch) for ch in str(value))
    return escaped.replace("%", "\\%").replace("_", "\\_")


def sosl_escape(value: str) -> str:
    """A term for `FIND {…}` with every reserved character backslash-escaped."""
    return "".join("\\" + ch if ch in _SOSL_RESERVED else ch for ch in str(value).replace("\n", " ").replace("\r", " "))
