"""The describe cache: one describe per object at a time, TTL, refresh."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from unit_helpers import Clock

from salesforce_omnichannel.crm.errors import CrmUnavailable
from salesforce_omnichannel.crm.metadata import MetadataCache


class SlowDescribeClient:
    """`call(what, fn)` like CrmClient; every sobject's describe sleeps, then counts itself."""

    def __init__(self, delay=0.05, fail_first=0):
        self.delay = delay
        self.calls: dict[str, int] = {}
        self.active = 0
        self.max_active = 0
        self.fail_first = fail_first
        self._lock = threading.Lock()

    def call(self, what, fn):
        return fn(self)

    def __getattr__(self, sobject):
        if sobject.startswith("_"):
            raise AttributeError(sobject)

        def describe():
            with self._lock:
                self.calls[sobject] = self.calls.get(sobject, 0) + 1
                n = self.calls[sobject]
                self.active += 1
                self.max_active = max(self.max_active, self.active)
            try:
                time.sleep(self.delay)
                if n <= self.fail_first:
                    raise CrmUnavailable("Salesforce is not reachable.")
                return {"name": sobject, "n": n, "fields": [{"name": "Subject", "length": 80}]}
            finally:
                with self._lock:
                    self.active -= 1

        return SimpleNamespace(describe=describe)


def run_threads(n, target):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def work(i):
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results, errors


def test_concurrent_describes_of_one_object_share_a_single_call():
    client = SlowDescribeClient()
    cache = MetadataCache(client, refresh_minutes=30)
    results, errors = run_threads(8, lambda i: cache.describe("Contact"))
    assert errors == []
    assert client.calls == {"Contact": 1}
    assert cache.describes == 1
    assert all(r is results[0] for r in results)
    assert set(cache.fetched_at) == {"Contact"}


def test_different_objects_are_described_in_parallel():
    client = SlowDescribeClient(delay=0.2)
    cache = MetadataCache(client, refresh_minutes=30)
    names = ["Contact", "Case", "Task", "Lead"] * 2
    started = time.monotonic()
    results, errors = run_threads(8, lambda i: cache.describe(names[i]))
    assert errors == [] and client.calls == {n: 1 for n in set(names)}
    assert [r["name"] for r in results] == names
    assert client.max_active > 1  # one object's describe does not hold up another's
    assert time.monotonic() - started < 0.2 * 4


def test_metadata_ttl_refresh_and_fetched_at():
    clock = Clock(5000.0)
    client = SlowDescribeClient(delay=0)
    cache = MetadataCache(client, refresh_minutes=1, clock=clock)
    first = cache.describe("Case")
    assert cache.describe("Case") is first and cache.describes == 1
    assert cache.fetched_at == {"Case": 5000.0}
    clock.advance(59)
    assert cache.describe("Case") is first
    clock.advance(1)  # TTL reached: fetched again
    assert cache.describe("Case")["n"] == 2 and cache.describes == 2
    assert cache.fetched_at == {"Case": 5060.0}
    clock.advance(5)
    stamps = cache.refresh(("Contact", "Case"))
    assert stamps == {"Contact": 5065.0, "Case": 5065.0} == cache.fetched_at
    assert client.calls == {"Case": 3, "Contact": 1} and cache.describes == 4
    assert cache.length("Case", "Subject", 255) == 80 and cache.length("Case", "Nope", 255) == 255


def test_a_failed_describe_is_not_cached_and_waiters_retry():
    client = SlowDescribeClient(delay=0.05, fail_first=1)
    cache = MetadataCache(client, refresh_minutes=30)
    results, errors = run_threads(4, lambda i: cache.describe("Task"))
    assert len(errors) == 1 and isinstance(errors[0], CrmUnavailable)
    assert client.calls == {"Task": 2}  # the failure, then one shared retry
    assert sum(r is not None for r in results) == 3 and cache.describes == 1  # successes only
    assert cache.describe("Task")["n"] == 2


def test_refresh_during_an_in_flight_describe_fetches_anew():
    client = SlowDescribeClient(delay=0.2)
    cache = MetadataCache(client, refresh_minutes=30)
    early = threading.Thread(target=cache.describe, args=("Contact",))
    early.start()
    time.sleep(0.05)  # the first describe is under way, with metadata from before the refresh
    cache.refresh(("Contact",))
    early.join(5)
    assert client.calls == {"Contact": 2}
    assert cache.describe("Contact")["n"] == 2  # the refresh's own result is the one kept
    assert client.calls == {"Contact": 2}
