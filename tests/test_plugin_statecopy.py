"""The copy of a bot's SQLite state into PostgreSQL: everything arrives and reads back the same through
the store's interface; the command refuses, in one line without the password, while a bot leads, on
a target that has items already, and on a missing or unreadable file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from salesforce_omnichannel.chat import schema
from salesforce_omnichannel.chat.pgstore import PostgresStateStore
from salesforce_omnichannel.chat.statecopy import CopyRefused, copy_state, main
from salesforce_omnichannel.chat.store import DONE, FAILED, PENDING, QUARANTINED, SqliteStateStore, StateStore
from simulators.postgres import PASSWORD, free_port

ROOT = Path(__file__).resolve().parents[1]
COUNTS = {
    "outbox": 5,
    "watermarks": 2,
    "greeted": 2,
    "room_context": 2,
    "visitor_contacts": 1,
    "describes": 1,
    "commands": 1,
    "meta": 1,
}


def _filled(path: Path) -> None:
    """A SQLite store with something of every kind, as a bot leaves it."""
    s = SqliteStateStore(path)
    s.enqueue("R1|t1", "R1", {"room_id": "R1", "visitor": {"name": "Ann"}}, 10.0)
    s.save_progress("R1|t1", {"contact": "003A", "intent": {"at": 1}})
    s.retry_at("R1|t1", 2, "timeout", 20.0)
    s.enqueue("R2|t2", "R2", {"room_id": "R2"}, 11.0)
    s.finish("R2|t2", DONE, {"case": "500B"}, None, 12.0)
    s.enqueue("R3|t3", "R3", {"room_id": "R3"}, 12.0)
    s.finish("R3|t3", FAILED, None, "gave up", 13.0)
    s.enqueue("R4|t4", "R4", {"room_id": "R4"}, 14.0, state=QUARANTINED, attempts=3, last_error="poison")
    s.enqueue("R5|t5", "R5", {"room_id": "R5"}, 15.0)
    s.set_watermark("open", "2026-01-01T00:00:00+00:00")
    s.set_watermark("closed", "2026-01-02T00:00:00+00:00")
    s.mark_greeted("R1|alice", 10.0)
    s.mark_greeted("R2|bob", 11.0)
    s.set_room_context("R1", 10.0, contact_id="003A", case_id="500A", data={"visitor": {"name": "Ann"}})
    s.set_room_context("R2", 11.0, case_id="500B")
    s.link_visitor("v1", "tok1", "003A", 10.0)
    s.save_describe("Task", 9.0, {"name": "Task", "fields": [{"name": "Subject", "length": 255}]})
    s.claim_command("msg-1", 10.0)
    s.set_meta("errbot-storage-imported", "2026-01-01")
    s.close()
    with sqlite3.connect(path) as db:  # an item whose data was torn: copied as it is, quarantined when met
        db.execute("UPDATE outbox SET payload = '{\"room' WHERE key = 'R5|t5'")
    db.close()


def _seen(store: StateStore) -> dict:
    """What the plugin can read of a store, through the interface only."""
    due, unreadable = store.due(1e12, 100)
    return {
        "items": {state: store.items(state, 100) for state in (PENDING, DONE, FAILED, QUARANTINED)},
        "counts": {state: store.count(state) for state in (PENDING, DONE, FAILED, QUARANTINED)},
        "due": due,
        "unreadable": unreadable,
        "one": [store.item(k) for k in ("R1|t1", "R2|t2", "R3|t3", "R4|t4")],
        "watermarks": [store.watermark(n) for n in ("open", "closed", "none")],
        "rooms": [store.room_context(r) for r in ("R1", "R2", "R3")],
        "links": [store.linked_contact("v1", "tok1"), store.linked_contact("v1", "other")],
        "describe": store.load_describe("Task"),
        "meta": store.meta("errbot-storage-imported"),
    }


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "data" / "salesforce-state.sqlite3"
    _filled(path)
    return path


def test_everything_is_copied_and_reads_back_the_same(source, pg_url):
    assert copy_state(source, pg_url) == COUNTS
    before, after = SqliteStateStore(source), PostgresStateStore(pg_url)
    try:
        seen = _seen(after)
        assert seen == _seen(before)
        assert seen["counts"] == {PENDING: 2, DONE: 1, FAILED: 1, QUARANTINED: 1}
        assert [u.key for u in seen["unreadable"]] == ["R5|t5"]
        assert after.meta("schema_version") == str(schema.SCHEMA_VERSION)
        # the markers are there: the same agent is not greeted again, the same command not answered twice
        assert after.mark_greeted("R1|alice", 99.0) is False and after.mark_greeted("R2|bob", 99.0) is False
        assert after.claim_command("msg-1", 99.0) is False
    finally:
        before.close()
        after.close()


def test_the_script_copies_to_the_state_url_of_its_environment(source, pg_url):
    done = subprocess.run(
        [sys.executable, "copy_state.py", str(source)],
        cwd=ROOT,
        env={**os.environ, "STATE_URL": pg_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert "rcsf:***@127.0.0.1" in done.stdout
    lines = dict(line.split() for line in done.stdout.splitlines()[1:])
    assert lines == {table: str(n) for table, n in COUNTS.items()}


def test_refused_while_a_bot_holds_the_leadership(source, pg_url, capsys):
    leader = psycopg.connect(pg_url, autocommit=True)
    try:
        leader.execute("SELECT pg_advisory_lock(%s)", (schema.LEADER_LOCK_KEY,))
        assert main([str(source), "--to", pg_url]) == 1
        err = capsys.readouterr().err
        assert err.strip().splitlines() == [
            "copy_state: refused: a bot holding the leadership is running against this database: stop every bot first"
        ]
        assert leader.execute("SELECT to_regclass('outbox')").fetchone() == (None,)  # nothing written
    finally:
        leader.close()
    assert main([str(source), "--to", pg_url]) == 0  # once the bot is gone


def test_refused_on_a_target_that_has_items_unless_forced(source, pg_url, capsys, monkeypatch):
    monkeypatch.setenv("STATE_URL", pg_url)
    assert main([str(source)]) == 0
    capsys.readouterr()
    assert main([str(source)]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "refused: the target already has 5 outbox items" in out.err
    assert "--force" in out.err and PASSWORD not in out.err
    extra = SqliteStateStore(source)
    extra.enqueue("R6|t6", "R6", {"room_id": "R6"}, 16.0)
    extra.set_watermark("open", "2026-02-01T00:00:00+00:00")
    extra.close()
    assert copy_state(source, pg_url, force=True) == {**dict.fromkeys(COUNTS, 0), "outbox": 1}
    target = PostgresStateStore(pg_url)
    try:
        assert target.count(PENDING) == 3
        assert target.watermark("open") == "2026-01-01T00:00:00+00:00"  # what was there is kept
    finally:
        target.close()


def test_a_missing_or_unreadable_file_is_refused_in_one_line(tmp_path, pg_url, capsys, monkeypatch):
    monkeypatch.setenv("STATE_URL", pg_url)
    assert main([str(tmp_path / "nothing.sqlite3")]) == 1
    err = capsys.readouterr().err
    assert err == f"copy_state: refused: no SQLite state file at {tmp_path / 'nothing.sqlite3'}\n"
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database, " * 100)
    assert main([str(junk)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"copy_state: refused: {junk} cannot be read as SQLite state") and err.count("\n") == 1
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    empty.touch()
    assert main([str(empty)]) == 1
    assert "holds no bot state" in capsys.readouterr().err
    with pytest.raises(CopyRefused):
        copy_state(tmp_path / "nothing.sqlite3", pg_url)


def test_a_file_from_a_newer_release_is_refused(source, pg_url, capsys):
    with sqlite3.connect(source) as db:
        db.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(schema.SCHEMA_VERSION + 1),))
    db.close()
    assert main([str(source), "--to", pg_url]) == 1
    assert "newer than this bot knows" in capsys.readouterr().err


def test_a_version_1_file_copies_without_the_tables_it_did_not_have(tmp_path, pg_url):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    for statement in schema.MIGRATIONS[0].sqlite:
        db.execute(statement)
    db.execute("INSERT INTO meta (name, value) VALUES ('schema_version', '1')")
    db.execute(
        "INSERT INTO outbox (key, room_id, state, payload, next_at, created) VALUES ('R1|t', 'R1', 'pending', '{}', 1, 1)"
    )
    db.commit()
    db.close()
    assert copy_state(path, pg_url) == {**dict.fromkeys(COUNTS, 0), "outbox": 1}


def test_no_target_or_an_unreachable_one_says_so_without_the_password(source, capsys, monkeypatch):
    monkeypatch.delenv("STATE_URL", raising=False)
    assert main([str(source)]) == 2
    assert "set STATE_URL" in capsys.readouterr().err
    assert main([str(source), "--to", f"mysql://rcsf:{PASSWORD}@db/rcsf"]) == 2
    err = capsys.readouterr().err
    assert "postgresql://" in err and PASSWORD not in err
    dead = f"postgresql://rcsf:{PASSWORD}@127.0.0.1:{free_port()}/rcsf"
    assert main([str(source), "--to", dead]) == 1
    err = capsys.readouterr().err
    assert err.startswith("copy_state: refused: cannot connect to postgresql://rcsf:***@127.0.0.1")
    assert PASSWORD not in err and err.count("\n") == 1
