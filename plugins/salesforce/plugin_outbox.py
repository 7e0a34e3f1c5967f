"""A durable outbox in the plugin's storage: each closure is saved to Salesforce exactly once.

Work is written before it is attempted, so a bot restart or a Salesforce outage loses nothing;
failures that may pass (outage, timeout, limit) are retried with exponential back-off, others
(a validation rule, say) are kept as failures for the agent and `status`. Each item lives under
a key of its own: Errbot's default Shelf storage (dbm.dumb here) appends new keys at once but
rewrites its index only on close, so one big dict would be the thing lost in a crash.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, MutableMapping

PENDING = "outbox:"
DONE = "outbox-done:"
FAILED = "outbox-failed:"
FIRST_DELAY = 5.0
MAX_DELAY = 600.0
KEEP_DONE_SECONDS = 14 * 24 * 3600


class Outbox:
    def __init__(self, store: MutableMapping[str, Any], lock: threading.RLock | None = None, clock: Callable[[], float] = time.time):
        self._store = store
        self._lock = lock or threading.RLock()
        self._clock = clock

    def _keys(self, prefix: str) -> list[str]:
        return [k for k in list(self._store.keys()) if isinstance(k, str) and k.startswith(prefix)]

    def add(self, key: str, payload: dict) -> bool:
        """Queue work once; False when this key is already pending, done or failed."""
        with self._lock:
            if any(p + key in self._store for p in (PENDING, DONE, FAILED)):
                return False
            self._store[PENDING + key] = {"key": key, "payload": payload, "attempts": 0, "next_at": self._clock(), "last_error": None, "created": self._clock()}
            return True

    def due(self) -> list[dict]:
        now = self._clock()
        with self._lock:
            items = [self._store[k] for k in self._keys(PENDING)]
        return sorted((i for i in items if i["next_at"] <= now), key=lambda i: i["created"])

    def save_progress(self, key: str, payload: dict) -> None:
        """Persist what a step achieved, so a retry resumes after it instead of repeating it."""
        with self._lock:
            item = self._store.get(PENDING + key)
            if item is not None:
                self._store[PENDING + key] = {**item, "payload": dict(payload)}

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._store[DONE + key] = {"at": self._clock()}
            self._store.pop(PENDING + key, None)

    def failed(self, key: str, error: str, retryable: bool) -> dict | None:
        """Record a failure; returns the item when it failed for good (to tell people), else None."""
        with self._lock:
            item = self._store.get(PENDING + key)
            if item is None:
                return None
            item = dict(item)
            item["attempts"] += 1
            item["last_error"] = error
            if retryable:
                item["next_at"] = self._clock() + backoff(item["attempts"])
                self._store[PENDING + key] = item
                return None
            item["failed_at"] = self._clock()
            self._store[FAILED + key] = item
            self._store.pop(PENDING + key, None)
            return item

    def pending(self) -> list[dict]:
        with self._lock:
            return [self._store[k] for k in self._keys(PENDING)]

    def failures(self) -> list[dict]:
        with self._lock:
            return [self._store[k] for k in self._keys(FAILED)]

    def is_known(self, key: str) -> bool:
        with self._lock:
            return any(p + key in self._store for p in (PENDING, DONE, FAILED))

    def prune(self) -> None:
        """Forget successes older than two weeks (closures are never replayed that far back)."""
        cutoff = self._clock() - KEEP_DONE_SECONDS
        with self._lock:
            for k in self._keys(DONE):
                if self._store[k].get("at", 0) < cutoff:
                    del self._store[k]


def backoff(attempts: int) -> float:
    return min(FIRST_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)
