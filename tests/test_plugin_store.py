"""The state store, on SQLite and on PostgreSQL alike: transactions, expiry by indexed delete, the
same answers from both; and SQLite's own: indexes on every hot query, its schema's migrations, and
what a process killed in the middle of writing leaves behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from salesforce_omnichannel.chat import schema
from salesforce_omnichannel.chat.store import (
    DONE,
    FAILED,
    PENDING,
    QUARANTINED,
    SCHEMA_VERSION,
    SchemaTooNew,
    SqliteStateStore,
    StateStore,
)

PLUGIN_DIR = str(Path(__file__).resolve().parents[1] / "plugins" / "salesforce")


class Backing:
    """Where a store keeps its data: `open()` is a (re)started bot's store over it, `raw()` writes
    around the store (SQL with `?` placeholders), as a damaged or older database would be."""

    def __init__(self, kind: str, open_store: Callable[[], StateStore], raw: Callable[[str, tuple], None]):
        self.kind, self._open, self.raw = kind, open_store, raw
        self.opened: list[StateStore] = []

    def open(self) -> StateStore:
        self.opened.append(self._open())
        return self.opened[-1]


def _sqlite_raw(path: Path) -> Callable[[str, tuple], None]:
    def raw(sql: str, args: tuple = ()) -> None:
        with sqlite3.connect(path) as db:
            db.execute(sql, args)
        db.close()

    return raw


def _postgres_raw(url: str) -> Callable[[str, tuple], None]:
    import psycopg

    def raw(sql: str, args: tuple = ()) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), args)

    return raw


@pytest.fixture(params=["sqlite", "postgres"])
def backing(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "state.sqlite3"
        where = Backing("sqlite", lambda: SqliteStateStore(path), _sqlite_raw(path))
    else:
        from salesforce_omnichannel.chat.pgstore import PostgresStateStore

        url = request.getfixturevalue("pg_url")
        where = Backing("postgres", lambda: PostgresStateStore(url), _postgres_raw(url))
    yield where
    for opened in where.opened:
        opened.close()


@pytest.fixture
def store(backing):
    return backing.open()


@pytest.fixture
def sqlite_store(tmp_path):
    s = SqliteStateStore(tmp_path / "state.sqlite3")
    yield s
    s.close()


def test_wal_journal_and_full_sync(sqlite_store):
    assert sqlite_store._read("PRAGMA journal_mode")[0][0] == "wal"
    assert sqlite_store._read("PRAGMA synchronous")[0][0] == 2  # FULL


def test_state_persists_across_reopen(backing):
    first = backing.open()
    first.enqueue("R1|t", "R1", {"room_id": "R1"}, 10.0)
    first.set_watermark("closed", "2026-01-01T00:00:00+00:00")
    first.mark_greeted("R1|alice", 10.0)
    first.set_room_context("R1", 10.0, case_id="500X")
    first.close()
    again = backing.open()
    assert again.item("R1|t").payload == {"room_id": "R1"}
    assert again.watermark("closed") == "2026-01-01T00:00:00+00:00"
    assert again.mark_greeted("R1|alice", 11.0) is False
    assert again.room_context("R1") == {"contact_id": None, "case_id": "500X"}


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
    assert store.claim_command("old-message", 1.0) and store.claim_command("new-message", 100.0)
    assert store.expire(50.0, 50.0, 50.0) == 4  # claimed commands go with the greetings
    assert store.claim_command("old-message", 200.0) is True and store.claim_command("new-message", 200.0) is False
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
        ("DELETE FROM commands WHERE at < ?", (1.0,)),
        ("DELETE FROM greeted WHERE key >= ? AND key < ? AND key != ?", ("R1|", "R1}", "R1|bob")),
        ("DELETE FROM room_context WHERE updated < ?", (1.0,)),
        ("SELECT COUNT(*) FROM outbox WHERE state = ?", ("pending",)),
        ("SELECT key FROM outbox WHERE state = ? ORDER BY finished_at DESC LIMIT ?", ("failed", 5)),
    ],
)
def test_every_hot_query_uses_an_index_never_a_scan(sqlite_store, sql, args):
    plan = list(sqlite_store.explain(sql, args))
    assert plan and all(line.startswith("SEARCH") and "INDEX" in line for line in plan), plan


def test_concurrent_writers_from_threads_lose_nothing(store):
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


def test_describes_outlive_the_process_until_they_are_stale(backing):
    from salesforce_omnichannel.crm.metadata import MetadataCache

    class Client:
        calls = 0

        def call(self, what, fn):
            Client.calls += 1
            return {"name": "Task", "fields": [{"name": "Subject", "length": 255}]}

    now = [1000.0]
    first = backing.open()
    assert MetadataCache(Client(), 30, clock=lambda: now[0], keep=first).length("Task", "Subject", 0) == 255
    first.close()
    again = backing.open()  # a restarted bot
    MetadataCache(Client(), 30, clock=lambda: now[0] + 60, keep=again).describe("Task")
    assert Client.calls == 1
    MetadataCache(Client(), 30, clock=lambda: now[0] + 31 * 60, keep=again).describe("Task")
    assert Client.calls == 2  # stale after METADATA_REFRESH_MINUTES: fetched and kept anew
    assert again.load_describe("Task")[0] == now[0] + 31 * 60


def test_a_room_is_greeted_again_only_when_its_agent_changes(store):
    assert store.mark_greeted("R1|alice", 1.0) is True
    assert store.mark_greeted("R1|alice", 2.0) is False  # resumed from on-hold: same agent
    assert store.mark_greeted("R10|bob", 2.0) is True  # another room whose id starts alike is left alone
    assert store.mark_greeted("R1|bob", 3.0) is True  # transferred
    assert store.mark_greeted("R1|alice", 4.0) is True  # and back
    assert store.mark_greeted("R10|bob", 5.0) is False


def test_the_outbox_lifecycle_answers_alike(store):
    assert store.enqueue("a", "Ra", {"n": 1}, 10.0) is True
    assert store.enqueue("a", "Ra", {"n": 2}, 11.0) is False  # known: left as it was
    assert store.enqueue("q", "Rq", {"n": 3}, 12.0, state=QUARANTINED, attempts=5, last_error="boom") is True
    q = store.item("q")
    assert (q.state, q.attempts, q.last_error, q.created, q.finished_at) == (QUARANTINED, 5, "boom", 12.0, 12.0)
    store.enqueue("b", "Rb", {"n": 2}, 5.0)
    store.save_progress("a", {"case": "500A"})
    store.retry_at("b", 1, "timeout", 20.0, progress={"intent": 1})
    items, unreadable = store.due(15.0, 10)
    assert [(i.key, i.payload, i.progress) for i in items] == [("a", {"n": 1}, {"case": "500A"})] and unreadable == []
    b = store.item("b")
    assert (b.attempts, b.last_error, b.next_at, b.progress, b.finished_at) == (1, "timeout", 20.0, {"intent": 1}, None)
    store.retry_at("b", 2, "again", 14.0)  # without progress: the progress is kept
    assert store.item("b").progress == {"intent": 1}
    assert [i.key for i in store.due(15.0, 10)[0]] == ["a", "b"]  # by next_at
    assert [i.key for i in store.due(15.0, 1)[0]] == ["a"]
    store.finish("a", DONE, {"case": "500A", "task": "00T"}, None, 30.0)
    store.finish("b", FAILED, None, "gave up", 31.0)
    assert store.item("a").progress == {"case": "500A", "task": "00T"} and store.item("a").state == DONE
    assert (store.item("b").progress, store.item("b").last_error, store.item("b").finished_at) == (
        {"intent": 1},
        "gave up",
        31.0,
    )
    store.enqueue("c", "Rc", {}, 1.0)
    store.finish("c", FAILED, None, "x", 40.0)
    assert [i.key for i in store.items(FAILED, 10)] == ["c", "b"]  # newest first
    assert [i.key for i in store.items(FAILED, 1)] == ["c"]
    store.enqueue("late", "R", {}, 60.0)
    store.enqueue("early", "R", {}, 50.0)
    assert [i.key for i in store.items(PENDING, 10)] == ["early", "late"]  # oldest first
    assert [store.count(state) for state in (PENDING, DONE, FAILED, QUARANTINED)] == [2, 1, 2, 1]
    assert store.item("nothing") is None and store.count("nothing") == 0


def test_unreadable_stored_data_is_reported_never_raised(backing, store):
    store.enqueue("good", "R1", {"ok": 1}, 1.0)
    store.enqueue("torn", "R2", {"ok": 2}, 2.0)
    store.enqueue("listed", "R3", {}, 3.0)
    backing.raw("UPDATE outbox SET payload = ? WHERE key = ?", ('{"ok": ', "torn"))
    backing.raw("UPDATE outbox SET progress = ? WHERE key = ?", ("[1]", "listed"))
    items, unreadable = store.due(10.0, 10)
    assert [i.key for i in items] == ["good"]
    assert [(u.key, u.room_id) for u in unreadable] == [("torn", "R2"), ("listed", "R3")]
    assert "JSONDecodeError" in unreadable[0].reason and "TypeError" in unreadable[1].reason
    assert [(i.key, i.payload) for i in store.items(PENDING, 10)] == [("good", {"ok": 1}), ("torn", {}), ("listed", {})]
    store.set_room_context("R1", 1.0, data={"visitor": "v"})
    backing.raw("UPDATE room_context SET data = ? WHERE room_id = ?", ("not json", "R1"))
    assert store.room_context("R1") == {"contact_id": None, "case_id": None}  # a cache: unreadable is empty
    store.set_room_context("R1", 2.0, data={"contact": "c"})
    assert store.room_context("R1") == {"contact": "c", "contact_id": None, "case_id": None}


def test_room_context_data_is_merged_key_by_key(store):
    store.set_room_context("R1", 1.0, data={"visitor": {"name": "Ann"}, "contact": "a"})
    store.set_room_context("R1", 2.0, data={"contact": "b"}, case_id="500")
    store.set_room_context("R1", 3.0)  # touched: kept longer, nothing else changes
    assert store.room_context("R1") == {
        "visitor": {"name": "Ann"},
        "contact": "b",
        "contact_id": None,
        "case_id": "500",
    }
    assert store.expire(0.0, 0.0, 2.5) == 0  # updated at 3.0


def test_a_visitor_is_linked_to_one_contact_for_one_token(store):
    store.link_visitor("v1", "tok", "003A", 1.0)
    assert store.linked_contact("v1", "tok") == "003A" and store.linked_contact("v1", "other") is None
    store.link_visitor("v1", "tok2", "003B", 2.0)  # replaced
    assert store.linked_contact("v1", "tok") is None and store.linked_contact("v1", "tok2") == "003B"
    store.unlink_visitor("v1")
    assert store.linked_contact("v1", "tok2") is None
    store.link_visitor("old", "t", "003C", 1.0)
    store.link_visitor("new", "t", "003D", 100.0)
    assert store.expire(0.0, 0.0, 0.0, links_before=50.0) == 1
    assert store.linked_contact("old", "t") is None and store.linked_contact("new", "t") == "003D"


def test_greeted_tells_a_marked_assignment(store):
    assert store.greeted("R1|alice") is False
    assert store.mark_greeted("R1|alice", 1.0) is True
    assert store.greeted("R1|alice") is True and store.greeted("R1|bob") is False


def test_a_command_is_unknown_then_claimed_then_answered(store):
    assert store.command_state("m9") is None
    assert store.claim_command("m9", 1.0) is True
    assert store.command_state("m9") == "claimed"  # a bot stopping now leaves it to be answered again
    store.command_answered("m9", 2.0)
    assert store.command_state("m9") == "answered"
    assert store.claim_command("m9", 3.0) is False and store.command_state("m9") == "answered"
    assert store.expire(0.0, 10.0, 0.0) == 1 and store.command_state("m9") is None


def test_a_command_is_claimed_once_even_by_racing_threads(store):
    assert store.claim_command("m1", 1.0) is True
    assert store.claim_command("m1", 2.0) is False
    wins: list[str] = []

    def claimer():
        for i in range(20):
            if store.claim_command(f"race-{i}", 3.0):
                wins.append(f"race-{i}")

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(f"race-{i}" for i in range(20))


def test_meta_and_the_recorded_schema_version(backing, store):
    assert store.meta("schema_version") == str(SCHEMA_VERSION)
    assert store.meta("nothing") is None
    store.set_meta("errbot-storage-imported", "1")
    store.set_meta("errbot-storage-imported", "2")
    assert backing.open().meta("errbot-storage-imported") == "2"


# -- SQLite's schema migrations ---------------------------------------------------------------


def _version_1_file(path: Path) -> None:
    """A state file as the release before migrations left it: the version 1 tables, some data."""
    db = sqlite3.connect(path)
    for statement in schema.MIGRATIONS[0].sqlite:
        db.execute(statement)
    db.execute("INSERT INTO meta (name, value) VALUES ('schema_version', '1')")
    db.execute(
        "INSERT INTO outbox (key, room_id, state, payload, progress, attempts, next_at, created)"
        """ VALUES ('R1|t', 'R1', 'pending', '{"room_id": "R1"}', '{"case": "500A"}', 2, 5.0, 1.0)"""
    )
    db.execute("INSERT INTO greeted (key, at) VALUES ('R1|alice', 1.0)")
    db.execute("INSERT INTO watermarks (name, value) VALUES ('closed', '2026-01-01T00:00:00+00:00')")
    db.commit()
    db.close()


def test_a_version_1_file_upgrades_in_place_keeping_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    _version_1_file(path)
    store = SqliteStateStore(path)
    try:
        assert store.meta("schema_version") == str(SCHEMA_VERSION) == "2"
        item = store.item("R1|t")
        assert (item.payload, item.progress, item.attempts) == ({"room_id": "R1"}, {"case": "500A"}, 2)
        assert store.watermark("closed") == "2026-01-01T00:00:00+00:00"
        assert store.mark_greeted("R1|alice", 2.0) is False
        assert store.claim_command("m1", 2.0) is True  # version 2's table
    finally:
        store.close()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        assert schema.migrate_sqlite(db) == []  # nothing left to do
    finally:
        db.close()
    SqliteStateStore(path).close()  # and opening again changes nothing


def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite3"
    _version_1_file(path)
    broken = schema.Migration(
        2, ("CREATE TABLE commands (message_id TEXT PRIMARY KEY, at REAL NOT NULL)", "NOT SQL"), ()
    )
    monkeypatch.setattr(schema, "MIGRATIONS", (schema.MIGRATIONS[0], broken))
    with pytest.raises(sqlite3.OperationalError):
        SqliteStateStore(path)
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchall() == [("1",)]
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'commands'").fetchall() == []
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchall() == [(1,)]
    finally:
        db.close()


def test_a_file_from_a_newer_release_is_refused_untouched(tmp_path):
    path = tmp_path / "new.sqlite3"
    SqliteStateStore(path).close()
    _sqlite_raw(path)("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(SchemaTooNew, match=f"version {SCHEMA_VERSION + 1}, newer than this bot knows"):
        SqliteStateStore(path)
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchall() == [
            (str(SCHEMA_VERSION + 1),)
        ]
    finally:
        db.close()


def test_the_sqlite_default_does_not_import_psycopg(tmp_path):
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from salesforce_omnichannel.chat.stores import open_state_store;"
        "open_state_store('', sys.argv[2]).close();"
        "print('psycopg' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, PLUGIN_DIR, str(tmp_path / "s.sqlite3")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "False", done.stderr
