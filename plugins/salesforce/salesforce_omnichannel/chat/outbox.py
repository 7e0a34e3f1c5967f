"""The closure outbox and its retry policy: each closed chat is saved to Salesforce exactly once.

Work is written to the state store before it is attempted, so a restart or an outage loses
nothing. Failures that may pass (outage, timeout, API limit, an admin still fixing the
configuration, a Rocket.Chat timeout or reset connection) are retried with exponential back-off;
a refusal that retrying cannot change ends as "failed" for the agent and `status`; an item that
cannot be read, or whose handling keeps crashing, is quarantined with its reason. An item only ever delays itself: `due` is ordered by
each item's own next attempt, so one bad item never blocks the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..crm.errors import CrmAuthError, CrmConfigError, CrmError
from .store import DONE, FAILED, PENDING, QUARANTINED, OutboxItem, StateStore
from .transient import describe, is_transient

FIRST_DELAY = 5.0
MAX_DELAY = 600.0
MAX_CRASHES = 5  # unexpected errors (a bug, a room Rocket.Chat no longer knows) before quarantine
BATCH = 50
KEEP_DONE_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: `final` is set when people must be told (failed or quarantined)."""

    state: str
    error: str | None = None
    final: OutboxItem | None = None


def backoff(attempts: int) -> float:
    return min(FIRST_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


class Outbox:
    def __init__(self, store: StateStore, clock: Callable[[], float] = time.time):
        self.store = store
        self._clock = clock

    def add(self, key: str, room_id: str, payload: dict) -> bool:
        """Queue a closure once; False when this key is already pending, done, failed or quarantined."""
        return self.store.enqueue(key, room_id, payload, self._clock())

    def due(self) -> tuple[list[OutboxItem], list[OutboxItem]]:
        """(items to attempt now, items just quarantined because their data cannot be read)."""
        items, unreadable = self.store.due(self._clock(), BATCH)
        quarantined = []
        for bad in unreadable:
            self.store.finish(bad.key, QUARANTINED, None, bad.reason, self._clock())
            quarantined.append(OutboxItem(bad.key, bad.room_id, QUARANTINED, {}, last_error=bad.reason))
        return items, quarantined

    def save_progress(self, item: OutboxItem) -> None:
        """Persist what a step intends or achieved before the next one (one transaction)."""
        self.store.save_progress(item.key, item.progress)

    def succeeded(self, item: OutboxItem) -> Outcome:
        self.store.finish(item.key, DONE, item.progress, None, self._clock())
        return Outcome(DONE)

    def retry(self, item: OutboxItem, error: str, at: float | None = None) -> Outcome:
        """Try again later without counting a failure (an earlier attempt's outcome is not known yet)."""
        self.store.retry_at(item.key, item.attempts, error, at if at is not None else self._clock(), item.progress)
        return Outcome(PENDING, error)

    def settle(self, item: OutboxItem, exc: BaseException) -> Outcome:
        """The retry policy for a failed attempt."""
        attempts = item.attempts + 1
        if isinstance(exc, CrmError):
            error = exc.admin_detail
            # configuration and auth problems wait for the admin to fix them; nothing is dropped
            if exc.retryable or isinstance(exc, (CrmConfigError, CrmAuthError)):
                self.store.retry_at(item.key, attempts, error, self._clock() + backoff(attempts), item.progress)
                return Outcome(PENDING, error)
            return self._end(item, FAILED, attempts, error)
        error = describe(exc) or type(exc).__name__
        if is_transient(exc):  # Rocket.Chat timed out or dropped the connection: it passes, never a quarantine
            self.store.retry_at(item.key, attempts, error, self._clock() + backoff(attempts), item.progress)
            return Outcome(PENDING, error)
        if attempts >= MAX_CRASHES:
            return self._end(item, QUARANTINED, attempts, f"{error}, {attempts} times in a row")
        self.store.retry_at(item.key, attempts, error, self._clock() + backoff(attempts), item.progress)
        return Outcome(PENDING, error)

    def _end(self, item: OutboxItem, state: str, attempts: int, error: str) -> Outcome:
        now = self._clock()
        self.store.finish(item.key, state, item.progress, error, now)
        final = OutboxItem(
            item.key, item.room_id, state, item.payload, item.progress, attempts, item.next_at, error, item.created, now
        )
        return Outcome(state, error, final)

    def pending(self, limit: int = 5) -> list[OutboxItem]:
        return self.store.items(PENDING, limit)

    def failures(self, limit: int = 5) -> list[OutboxItem]:
        return self.store.items(FAILED, limit)

    def quarantined(self, limit: int = 5) -> list[OutboxItem]:
        return self.store.items(QUARANTINED, limit)

    def counts(self) -> dict[str, int]:
        return {state: self.store.count(state) for state in (PENDING, FAILED, QUARANTINED)}
