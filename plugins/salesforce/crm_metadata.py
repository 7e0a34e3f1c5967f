"""Describe results (fields, lengths, picklists) cached for METADATA_REFRESH_MINUTES: one
describe per object per interval, refreshable on demand, with the time each was fetched."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PicklistValue:
    value: str
    label: str
    active: bool
    default: bool


class MetadataCache:
    def __init__(self, client, refresh_minutes: int, clock: Callable[[], float] = time.time):
        self._client = client
        self._ttl = refresh_minutes * 60
        self._clock = clock
        self._cache: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self.describes = 0

    def describe(self, sobject: str) -> dict:
        with self._lock:
            cached = self._cache.get(sobject)
            if cached and self._clock() - cached[0] < self._ttl:
                return cached[1]
        result = self._client.call(f"describe {sobject}", lambda sf: getattr(sf, sobject).describe())
        with self._lock:
            self._cache[sobject] = (self._clock(), result)
            self.describes += 1
        return result

    def refresh(self, sobjects: tuple[str, ...] = ("Contact", "Case", "Task")) -> dict[str, float]:
        with self._lock:
            self._cache.clear()
        for name in sobjects:
            self.describe(name)
        return self.fetched_at

    @property
    def fetched_at(self) -> dict[str, float]:
        with self._lock:
            return {name: stamp for name, (stamp, _) in self._cache.items()}

    def field(self, sobject: str, name: str) -> dict | None:
        return next((f for f in self.describe(sobject)["fields"] if f["name"] == name), None)

    def picklist(self, sobject: str, name: str) -> list[PicklistValue]:
        f = self.field(sobject, name) or {}
        return [PicklistValue(v["value"], v.get("label") or v["value"], bool(v.get("active")), bool(v.get("defaultValue")))
                for v in f.get("picklistValues") or []]

    def length(self, sobject: str, name: str, fallback: int) -> int:
        f = self.field(sobject, name) or {}
        return int(f.get("length") or fallback)
