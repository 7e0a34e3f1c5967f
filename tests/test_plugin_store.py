"""The SQLite state store: transactions, expiry by indexed delete, indexes on every hot query,
and what a process killed in the middle of writing leaves behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from salesforce_omnichannel.chat.store import DONE, FAILED, PENDING, SqliteStateStore

PLUGIN_DIR = str(Path(__file__).resolve().parents[1] / "plugins" / "salesforce")


@pytest.fixture
def store(tmp_path):
    s = SqliteStateStore(tmp_path / "state.sqlite3")
    yield s
    s.close()


def test_wal_journal_and_full_sync(store):
    assert store._read("PRAGMA journal_mode")[0][0] == "wal"
    assert store._read("PRAGMA synchronous")[0][0] == 2  # FULL


def test_state_persists_across_reopen(tmp_path):
    path = tmp_path / "s.sqlite3"
    first = SqliteStateStore(path)
    first.enqueue("R1|t", "R1", {"room_id": "R1"}, 10.0)
    first.set_watermark("closed", "2026-01-01T00:00:00+00:00")
    first.mark_greeted("R1|alice", 10.0)
    first.set_room_context("R1", 10.0, case_id="500X")
    first.close()
    again = SqliteStateStore(path)
    assert again.item("R1|t").payload == {"room_id": "R1"}
    assert again.watermark("closed") == "2026-01-01T00:00:00+00:00"
    assert again.mark_greeted("R1|alice", 11.0) is False
    assert again.room_context("R1") == {"contact_id": None, "case_id": "500X"}
    again.close()


def test_watermark_only_if_absent(store):
    store.set_watermark("open", "a", only_if_absent=True)
    store.set_watermark("open", "b", only_if_absent=True)
    assert store.watermark("open") == "a"
    store.set_watermark("open", "c")
    assert store.watermark("open") == "c"


def test_room_context_merges_fields_and_refuses_unknown_ones(store):
    store.set_room_context("R1", 1.0, contact_id="003A")
    store.set_room_context("R1", 2.0, case_id="500B")
    assert store.room_context("R1") == {"contact_id": "003A", "case_id": "500B"}
    assert store.room_context("R2") == {}
    with pytest.raises(ValueError):
        store.set_room_context("R1", 3.0, visitor="x")


def test_expire_deletes_only_what_is_old_enough(store):
    for key, state in (("old-done", DONE), ("new-done", DONE), ("old-failed", FAILED), ("old-pending", PENDING)):
        store.enqueue(key, "R", {}, 1.0)
        if state != PENDING:
            store.finish(key, state, None, None, 1.0 if key.startswith("old") else 100.0)
    store.mark_greeted("old", 1.0)
    store.mark_greeted("new", 100.0)
    store.set_room_context("old", 1.0, case_id="500A")
    store.set_room_context("new", 100.0, case_id="500B")
    assert store.expire(50.0, 50.0, 50.0) == 3
    assert store.item("old-done") is None and store.item("new-done") is not None
    assert store.item("old-failed") is not None and store.item("old-pending") is not None
    assert store.mark_greeted("old", 200.0) is True and store.mark_greeted("new", 200.0) is False
    assert store.room_context("old") == {} and store.room_context("new")["case_id"] == "500B"


@pytest.mark.parametrize(
    "sql, args",
    [
        (
            "SELECT key FROM outbox WHERE state = ? AND next_at <= ? ORDER BY next_at, created LIMIT ?",
            ("pending", 1.0, 50),
        ),
        ("DELETE FROM outbox WHERE state = ? AND finished_at < ?", ("done", 1.0)),
        ("DELETE FROM greeted WHERE at < ?", (1.0,)),
        ("DELETE FROM room_context WHERE updated < ?", (1.0,)),
        ("SELECT COUNT(*) FROM outbox WHERE state = ?", ("pending",)),
        ("SELECT key FROM outbox WHERE state = ? ORDER BY finished_at DESC LIMIT ?", ("failed", 5)),
    ],
)
def test_every_hot_query_uses_an_index_never_a_scan(store, sql, args):
    plan = list(store.explain(sql, args))
    assert plan and all(line.startswith("SEARCH") and "INDEX" in line for line in plan), plan


def test_concurrent_writers_from_threads_lose_nothing(store):
    import threading

    def writer(n):
        for i in range(50):
            store.enqueue(f"{n}-{i}", "R", {"i": i}, float(i))
            store.set_room_context(f"room-{n}", float(i), case_id=f"500{i}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count(PENDING) == 200


KILLER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {plugin_dir!r})
    from salesforce_omnichannel.chat.store import SqliteStateStore
    store = SqliteStateStore(sys.argv[1])
    i = 0
    while True:
        store.enqueue(f"k{{i}}", "R", {{"blob": "x" * 5000, "i": i}}, float(i))
        store.save_progress(f"k{{i}}", {{"intent": {{"at": i}}}})
        if i == 20:
            print("writing", flush=True)
        i += 1
""")


def test_sigkill_mid_write_leaves_every_committed_item_readable(tmp_path):
    path = str(tmp_path / "killed.sqlite3")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLER.format(plugin_dir=PLUGIN_DIR), path], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        proc.stdout.close()
    store = SqliteStateStore(path)
    try:
        items, unreadable = store.due(1e12, 100_000)
        assert unreadable == [] and len(items) > 20
        assert sorted(i.payload["i"] for i in items) == list(range(len(items)))  # no gap, nothing torn
        assert all(i.payload["blob"] == "x" * 5000 for i in items)
    finally:
        store.close()


def test_describes_outlive_the_process_until_they_are_stale(tmp_path):
    from salesforce_omnichannel.crm.metadata import MetadataCache

    class Client:
        calls = 0

        def call(self, what, fn):
            Client.calls += 1
            return {"name": "Task", "fields": [{"name": "Subject", "length": 255}]}

    now = [1000.0]
    first = SqliteStateStore(tmp_path / "s.sqlite3")
    assert MetadataCache(Client(), 30, clock=lambda: now[0], keep=first).length("Task", "Subject", 0) == 255
    first.close()
    again = SqliteStateStore(tmp_path / "s.sqlite3")  # a restarted bot
    MetadataCache(Client(), 30, clock=lambda: now[0] + 60, keep=again).describe("Task")
    assert Client.calls == 1
    MetadataCache(Client(), 30, clock=lambda: now[0] + 31 * 60, keep=again).describe("Task")
    assert Client.calls == 2  # stale after METADATA_REFRESH_MINUTES: fetched and kept anew
    assert again.load_describe("Task")[0] == now[0] + 31 * 60
    again.close()


def test_a_room_is_greeted_again_only_when_its_agent_changes(tmp_path):
    store = SqliteStateStore(tmp_path / "s.sqlite3")
    assert store.mark_greeted("R1|alice", 1.0) is True
    assert store.mark_greeted("R1|alice", 2.0) is False  # resumed from on-hold: same agent
    assert store.mark_greeted("R10|bob", 2.0) is True  # another room whose id starts alike is left alone
    assert store.mark_greeted("R1|bob", 3.0) is True  # transferred
    assert store.mark_greeted("R1|alice", 4.0) is True  # and back
    assert store.mark_greeted("R10|bob", 5.0) is False
