"""Describe results (fields, lengths, picklists) and the UI API's picklist values of a record type,
cached for METADATA_REFRESH_MINUTES: one describe per object, and one picklist-values call per object
and record type, per interval, refreshable on demand, with the time each describe was fetched."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

UI_PICKLISTS = "ui-api/object-info/{sobject}/picklist-values/{record_type_id}"


@dataclass(frozen=True)
class PicklistValue:
    value: str
    label: str
    active: bool
    default: bool


class DescribeStore(Protocol):
    """Where describes outlive the process (the plugin's state store), so a restart costs none. The UI
    API's picklist values are kept there too, under `Case/picklist-values/012…`."""

    def load_describe(self, sobject: str) -> tuple[float, dict] | None: ...
    def save_describe(self, sobject: str, fetched_at: float, body: dict) -> None: ...


class MetadataCache:
    def __init__(
        self, client, refresh_minutes: int, clock: Callable[[], float] = time.time, keep: DescribeStore | None = None
    ):
        self._client = client
        self._keep = keep
        self._ttl = refresh_minutes * 60
        self._clock = clock
        self._cache: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()  # guards _cache, _fetching, _generation and describes
        self._fetching: dict[str, threading.Lock] = {}  # sobject -> held while one describe runs
        self._generation = 0  # bumped by refresh(): a describe started before it is not cached
        self._use_kept = keep is not None  # False after refresh(): what was kept is older than asked for
        self.describes = 0
        self.picklist_fetches = 0  # UI API picklist-values calls

    def _fresh(self, key: str) -> dict | None:
        cached = self._cache.get(key)
        if cached is None and self._use_kept and self._keep is not None:
            try:
                cached = self._keep.load_describe(key)
            except Exception:  # noqa: BLE001 - a kept describe is a cache: unreadable means fetch again
                cached = None
            if cached is not None:
                self._cache[key] = cached
        if cached and self._clock() - cached[0] < self._ttl:
            return cached[1]
        return None

    def _cached(self, key: str, what: str, fetch: Callable[[Any], dict]) -> dict:
        """KEY's body, fetched at most once at a time per key: concurrent callers on a cold or stale
        cache wait for the one call in flight instead of each making their own."""
        with self._lock:
            fresh = self._fresh(key)
            if fresh is not None:
                return fresh
            fetching = self._fetching.setdefault(key, threading.Lock())
        with fetching:
            with self._lock:  # re-check: another caller may have fetched it while we waited
                fresh = self._fresh(key)
                if fresh is not None:
                    return fresh
                generation = self._generation
            result = self._client.call(what, fetch)
            with self._lock:
                if "/" in key:
                    self.picklist_fetches += 1
                else:
                    self.describes += 1
                if generation == self._generation:
                    self._cache[key] = (self._clock(), result)
                    if self._keep is not None:
                        self._keep.save_describe(key, self._cache[key][0], result)
            return result

    def describe(self, sobject: str) -> dict:
        """The object's describe, fetched at most once at a time per object."""
        return self._cached(sobject, f"describe {sobject}", lambda sf: getattr(sf, sobject).describe())

    def picklist_values(self, sobject: str, record_type_id: str) -> dict[str, dict]:
        """The UI API's picklists of SOBJECT for one record type (`picklistFieldValues`: field -> {"values":
        [{"value", "label"}, …], "defaultValue": {"value", …} | None, …}), one call per object and record type
        per interval. Fields the integration user may not see are left out, as in describe."""
        path = UI_PICKLISTS.format(sobject=sobject, record_type_id=record_type_id)
        body = self._cached(
            f"{sobject}/picklist-values/{record_type_id}", f"picklist values {sobject}", lambda sf: sf.restful(path)
        )
        return body.get("picklistFieldValues") or {}

    def refresh(self, sobjects: tuple[str, ...] = ("Contact", "Case", "Task")) -> dict[str, float]:
        """Describe SOBJECTS anew (a record type's picklist values are fetched anew when next used)."""
        with self._lock:
            self._cache.clear()
            self._generation += 1
            self._use_kept = False
        for name in sobjects:
            self.describe(name)
        return self.fetched_at

    @property
    def fetched_at(self) -> dict[str, float]:
        """When each object's describe was fetched."""
        with self._lock:
            return {name: stamp for name, (stamp, _) in self._cache.items() if "/" not in name}

    def field(self, sobject: str, name: str) -> dict | None:
        return next((f for f in self.describe(sobject)["fields"] if f["name"] == name), None)

    def readable(self, sobject: str, wanted: tuple[str, ...]) -> tuple[str, ...]:
        """WANTED less what the integration user cannot read: describe leaves out the fields its field-level
        security hides, and a query naming one fails whole (INVALID_FIELD). `Account.Name` stays when the
        relationship (`AccountId`, relationshipName `Account`) is readable."""
        fields = self.describe(sobject)["fields"]
        names = {f["name"] for f in fields}
        relations = {f.get("relationshipName") for f in fields if f.get("relationshipName")}
        return tuple(w for w in wanted if (w.partition(".")[0] in relations if "." in w else w in names))

    def writable(self, sobject: str, values: dict, creating: bool) -> tuple[dict, list[str]]:
        """(VALUES the integration user may create or update, the names of those it may not)."""
        access = "createable" if creating else "updateable"
        fields = {f["name"]: f for f in self.describe(sobject)["fields"]}
        kept = {k: v for k, v in values.items() if fields.get(k, {}).get(access)}
        return kept, [k for k in values if k not in kept]

    def picklist(self, sobject: str, name: str, record_type_id: str | None = None) -> list[PicklistValue]:
        """NAME's values: describe's (every value of every record type) without RECORD_TYPE_ID, else the
        ones that record type offers (the UI API's; all active), with its default. A picklist the UI API
        leaves out falls back to describe's."""
        if record_type_id:
            entry = self.picklist_values(sobject, record_type_id).get(name)
            if entry is not None:
                default = (entry.get("defaultValue") or {}).get("value")
                return [
                    PicklistValue(v["value"], v.get("label") or v["value"], True, v["value"] == default)
                    for v in entry.get("values") or []
                ]
        f = self.field(sobject, name) or {}
        return [
            PicklistValue(v["value"], v.get("label") or v["value"], bool(v.get("active")), bool(v.get("defaultValue")))
            for v in f.get("picklistValues") or []
        ]

    def length(self, sobject: str, name: str, fallback: int) -> int:
        f = self.field(sobject, name) or {}
        return int(f.get("length") or fallback)
