"""The leader election on a real PostgreSQL server: one leader, a standby that takes a released or
stale lease, a leader that stops acting before its successor starts, and where the last one stood."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from salesforce_omnichannel.ops.leadership import LEADER, LOST, STANDBY, Leadership, NotLeader

CHECK = 1.0  # LEASE_CHECK_SECONDS: short, so that a stale lease shows within 3 s (and a busy CI machine is no pause)


class Events:
    """What happened, in order (the property under test is the order, never a duration)."""

    def __init__(self):
        self.log: list[str] = []
        self.lock = threading.Lock()

    def add(self, what: str) -> None:
        with self.lock:
            self.log.append(what)


def bot(url: str, name: str, events: Events) -> Leadership:
    return Leadership(url, CHECK, name=name, on_lost=lambda why: events.add(f"{name} lost: {why}"))


def in_thread(leadership: Leadership, events: Events) -> threading.Thread:
    def run() -> None:
        leadership.wait()
        events.add(f"{leadership.name} leads")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def pair(pg_url):
    events = Events()
    made: list[Leadership] = []

    def make(name: str) -> Leadership:
        one = bot(pg_url, name, events)
        made.append(one)
        return one

    yield make, events
    for one in made:
        one._stop.set()
        one._drop_connection()


def test_one_leader_a_standby_that_takes_over_when_released(pair, pg_url):
    make, events = pair
    a, b = make("rcsf-a"), make("rcsf-b")
    a.progress = lambda: "2026-12-06T10:00:00.000Z"
    a.wait()
    assert a.role == LEADER and a.acting()
    thread = in_thread(b, events)
    time.sleep(3 * CHECK)  # several lock attempts and a renewal or two
    assert b.role == STANDBY and not b.acting() and events.log == []
    with pytest.raises(NotLeader):
        b.require("a greeting")
    a.require("a greeting")  # the leader may act
    a.release()
    thread.join(10)
    assert events.log == ["rcsf-b leads"]
    assert b.epoch == a.epoch + 1
    assert b.resume_from == "2026-12-06T10:00:00.000Z"  # a renewed it: the new leader catches up from there
    assert not a.acting()
    with pytest.raises(NotLeader):
        a.require("a reply")


def test_a_paused_leader_stops_acting_before_the_standby_ends_its_session(pair, pg_url):
    make, events = pair
    a, b = make("rcsf-a"), make("rcsf-b")
    a.wait()
    events.add("a leads")
    a._conn_lock.acquire()  # a's renewals cannot run: as if paused, its session and lock kept alive
    try:
        thread = in_thread(b, events)
        thread.join(30)
    finally:
        a._conn_lock.release()
    assert events.log[0] == "a leads"
    assert events.log[1].startswith("rcsf-a lost: the lease was not renewed")
    assert events.log[2] == "rcsf-b leads"  # only after a had stopped acting
    assert a.role == LOST and not a.acting() and b.acting()
    with psycopg.connect(pg_url) as conn:
        holders = conn.execute("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'rcsf-%'")
        assert [row[0] for row in holders] == ["rcsf-b"]  # a's session was ended by the standby


def test_a_leader_whose_lease_was_taken_loses_at_its_next_check(pair, pg_url):
    make, events = pair
    a = make("rcsf-a")
    a.wait()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE lease SET holder = 'someone-else' WHERE id = 1")
    wait_for(lambda: events.log)
    assert events.log == ["rcsf-a lost: another bot holds the lease now"] and a.role == LOST


def test_a_leader_cut_from_postgresql_loses_and_a_standby_takes_over(pair, pg_url, pg_cluster):
    make, events = pair
    a, b = make("rcsf-a"), make("rcsf-b")
    a.wait()
    events.add("a leads")
    # the server ends a's sessions (as an administrator or a failover would): the lock is free at once, and
    # a learns it at its next check; until then the epoch is what keeps a's writes out (test_plugin_pgstore)
    pg_cluster.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rcsf-a'")
    thread = in_thread(b, events)
    thread.join(30)
    wait_for(lambda: len(events.log) == 3)
    assert events.log[0] == "a leads"
    assert sorted(events.log[1:]) == [
        "rcsf-a lost: the lease check failed (AdminShutdown: terminating connection due to administrator command)",
        "rcsf-b leads",
    ]
    assert b.epoch == a.epoch + 1


def test_epochs_count_every_leadership(pair, pg_url):
    make, _ = pair
    epochs = []
    for name in ("rcsf-a", "rcsf-b", "rcsf-c"):
        one = make(name)
        one.wait()
        epochs.append(one.epoch)
        one.release()
    assert epochs == [epochs[0], epochs[0] + 1, epochs[0] + 2]


def test_an_ended_leadership_does_not_compete_again(pair):
    make, _ = pair
    a = make("rcsf-a")
    a.wait()
    a.release()
    with pytest.raises(NotLeader):
        a.wait()


def test_a_paused_leader_loses_its_lock_even_with_no_standby_running(pair, pg_url):
    """The server's idle_session_timeout on the lock's session: nothing else needs to be there."""
    make, events = pair
    a = make("rcsf-a")
    a.wait()
    a._conn_lock.acquire()  # paused: no renewal, the session idle
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            wait_for(
                lambda: (
                    not conn.execute(
                        "SELECT 1 FROM pg_locks l JOIN pg_stat_activity s USING (pid)"
                        " WHERE l.locktype = 'advisory' AND s.application_name = 'rcsf-a'"
                    ).fetchall()
                )
            )
            assert conn.execute("SELECT pg_try_advisory_lock(%s)", (0x52435346,)).fetchone()[0] is True
    finally:
        a._conn_lock.release()
    wait_for(lambda: events.log)
    assert events.log[0].startswith("rcsf-a lost")


def test_a_first_leader_gone_before_its_first_renewal_still_leaves_where_to_resume(pg_url):
    """A database no bot ever led: the leadership's start is the resume point until the first renewal."""
    import datetime as dt

    events = Events()
    a = Leadership(pg_url, 30.0, name="rcsf-a", on_lost=lambda why: events.add(why))  # no renewal for 30 s
    b = bot(pg_url, "rcsf-b", events)
    try:
        assert a.wait() is None  # nothing before the first leader
        a._stop.set()
        a._drop_connection()  # gone (kill -9) before renewing
        b.wait()
        started = dt.datetime.fromisoformat(b.resume_from.replace("Z", "+00:00"))
        assert abs((dt.datetime.now(dt.timezone.utc) - started).total_seconds()) < 60
    finally:
        for one in (a, b):
            one._stop.set()
            one._drop_connection()
