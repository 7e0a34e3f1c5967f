"""What kind of Salesforce request a URL is, in a word from a small fixed set (`query`, `search`,
`describe`, `create`, `read`, `update`, `delete`, `composite`, `ui_api`, `limits`, `resources`,
`token`, `identity`, `other`): the `operation` label of the request metrics. Never the object, the
record id or the query: those name customers' data and would grow without bound."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_DATA = re.compile(r"^/services/data/v\d+\.\d+/?(.*)$")
_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_BY_METHOD = {"POST": "create", "GET": "read", "PATCH": "update", "DELETE": "delete"}


def operation_of(method: str, url: str) -> str:
    path = urlsplit(url).path
    if path.endswith("/services/oauth2/token"):
        return "token"
    if path.startswith("/id/"):
        return "identity"
    m = _DATA.match(path)
    if m is None:
        return "other"
    parts = [p for p in m.group(1).split("/") if p]
    if not parts:
        return "resources"
    head = parts[0]
    if head in ("query", "queryAll"):
        return "query"
    if head in ("search", "parameterizedSearch"):
        return "search"
    if head == "composite":
        return "composite"
    if head == "ui-api":
        return "ui_api"
    if head == "limits":
        return "limits"
    if head == "sobjects":
        if parts[-1] == "describe" or len(parts) == 1:
            return "describe"
        if len(parts) == 2:
            return "create" if method.upper() == "POST" else "describe"
        if _ID.match(parts[2]):
            return _BY_METHOD.get(method.upper(), "other")
    return "other"
