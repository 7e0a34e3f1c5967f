"""Salesforce's REST error: a JSON array `[{"message", "errorCode", "fields"}]` with an HTTP status.

Kept apart from the store so that the modules the store consults (owners, record types) can raise
it without importing the store.
"""

from __future__ import annotations

import re
from typing import Any

ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


class SfError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def body(self) -> list[dict]:
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            entry["fields"] = self.fields
        return [entry]
