"""Closures survive a kill -9 of the real bot: SIGKILL before, during and after each Salesforce
write of a closure, restart, and every contact and Task exists exactly once. Also: an unreadable
or poisoned outbox item never blocks the others, and an install whose Errbot storage holds the
old outbox (torn by a crash, as dbm.dumb leaves it) is imported and saved."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from plugin_fixtures import BOT, Stack, wait_until
from simulators.rocketchat.people import Admin, Agent, Visitor

# grace before a retry looks for an interrupted write = request timeout + 5 s
ENV = {"SALESFORCE_REQUEST_TIMEOUT_SECONDS": "5"}


@pytest.fixture(scope="module")
def crash_stack(sf_keys, tmp_path_factory):
    s = Stack(sf_keys, str(tmp_path_factory.mktemp("bot-data")), ENV)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def people(crash_stack):
    alice = Agent(crash_stack.rc.url, "alice", "agent-pass")
    alice.go_online()
    admin = Admin(crash_stack.rc.url, "admin", "admin-pass")
    yield {"alice": alice, "admin": admin}
    alice.close()
    admin.close()


def served_chat(stack, alice, name, email):
    """A chat taken by alice, greeted (so the greeting's Salesforce query is behind us)."""
    visitor = Visitor(stack.rc.url, name, email=email)
    rid = visitor.open_chat()
    mark = alice.mark()
    alice.take(rid)
    alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="not a Salesforce Contact")
    visitor.say("my parcel is lost")
    return rid, visitor


def tasks_of(stack, rid):
    return [t for t in stack.sf.records("Task") if f"[{rid}]" in (t.get("Subject") or "")]


def contacts_with(stack, email):
    return [c for c in stack.sf.records("Contact") if c.get("Email") == email]


def assert_saved_once(stack, rid, email):
    wait_until(lambda: tasks_of(stack, rid), 60, f"the transcript Task of {rid}")
    time.sleep(4)  # two more polls: a duplicate would show up now
    [task] = tasks_of(stack, rid)
    [contact] = contacts_with(stack, email)
    assert task["WhoId"] == contact["Id"]
    assert "my parcel is lost" in task["Description"]


@pytest.mark.parametrize(
    "moment, route, phase",
    [
        ("as the closure arrives, before its write", None, None),
        ("with the write sent but never received", "POST composite", "lost"),
        ("with the write in flight", "POST composite", "before"),
        ("after Salesforce answered, before the answer was recorded", "POST composite", "after"),
    ],
)
def test_sigkill_at_each_moment_of_a_closure_saves_contact_and_task_exactly_once(
    crash_stack, people, moment, route, phase
):
    stack, alice = crash_stack, people["alice"]
    email = f"kill-{phase}-{(route or 'none').split()[-1]}@crash.example"
    rid, visitor = served_chat(stack, alice, "Kim Killed", email)
    try:
        if route:
            stack.sf.hold([route], phase)
        alice.close_chat(rid)
        if route:
            wait_until(lambda: stack.sf.held() >= 1, 30, f"the bot's request held {moment}")
        stack.kill_bot()
        stack.sf.release()
        stack.start_bot()
        assert_saved_once(stack, rid, email)
        assert "UnpicklingError" not in stack.bot.output() and "Traceback" not in stack.bot.output()
    finally:
        stack.sf.release()
        visitor.close()


def test_an_unreadable_and_a_poisoned_item_never_block_the_other_closures(crash_stack, people):
    stack, alice, admin = crash_stack, people["alice"], people["admin"]
    db = Path(stack.data_dir) / "salesforce-state.sqlite3"
    chats = [served_chat(stack, alice, f"Flo Flow{i}", f"flow{i}@flow.example") for i in range(2)]
    stack.bot.stop()
    now = time.time()
    with sqlite3.connect(db) as con:  # written by something else than the plugin: torn and poisoned
        con.execute(
            "INSERT INTO outbox (key, room_id, state, payload, next_at, created) VALUES (?, ?, 'pending', ?, ?, ?)",
            ("TORN|2026-01-01T00:00:00+00:00", "TORN", '{"room_id": "TORN", "visi', now - 60, now - 60),
        )
        con.execute(
            "INSERT INTO outbox (key, room_id, state, payload, next_at, created) VALUES (?, ?, 'pending', ?, ?, ?)",
            (
                "POISON|x",
                "POISON",
                json.dumps({"room_id": "POISON", "visitor_id": "nobody", "closed_at": 12345}),
                now - 60,
                now - 61,
            ),
        )
    try:
        for rid, _visitor in chats:
            alice.close_chat(rid)  # closed while the bot is down: found by the reconcile at start
        stack.start_bot()
        for i, (rid, _visitor) in enumerate(chats):
            assert_saved_once(stack, rid, f"flow{i}@flow.example")
        status = stack.ask(admin, admin.dm(BOT), "!salesforce status", contains="quarantined")["msg"]
        assert "quarantined (set aside, the rest flow): 1" in status and "TORN" in status and "cannot be read" in status
        assert "POISON: " in status and "TypeError" in status  # still retried, with its reason
        warned = admin.wait_for_reply(admin.dm(BOT), BOT, 0, contains="TORN")
        assert "could not be saved" in warned["msg"]
    finally:
        for _rid, visitor in chats:
            visitor.close()


TEAR = textwrap.dedent("""
    import os, shelve, sys
    shelf = shelve.DbfilenameShelf(sys.argv[1], protocol=2)
    pending = {{"key": "{key}", "payload": {{"room_id": "{room}"}}, "attempts": 1,
               "next_at": 0, "last_error": "TIMEOUT", "created": 0}}
    shelf["outbox:{key}"] = pending
    shelf["watch:closed-watermark"] = "{watermark}"
    shelf["outbox-done:OLD|2026-01-01T00:00:00+00:00"] = {{"at": 1.0}}
    shelf.sync()
    pending["payload"]["visitor_name"] = "x" * 60  # larger, same 512-byte block: written in place
    shelf["outbox:{key}"] = pending
    os._exit(0)  # killed before the shelf's index was saved
""")


def test_old_errbot_storage_torn_by_a_crash_is_imported_and_the_closure_saved(crash_stack, people, tmp_path):
    stack, alice, admin = crash_stack, people["alice"], people["admin"]
    rid, visitor = served_chat(stack, alice, "Ole Oldstore", "ole@oldstore.example")
    stack.bot.stop()
    watermark = dt.datetime.now(dt.timezone.utc).isoformat()
    alice.close_chat(rid)  # the old install queued it, then was killed mid-write
    closed_at = admin.rest.call("GET", "rooms.info", params={"roomId": rid})["room"]["closedAt"]
    key = f"{rid}|{dt.datetime.fromisoformat(closed_at.replace('Z', '+00:00')).isoformat()}"
    data = tmp_path / "old-install"
    data.mkdir()
    subprocess.run(
        [sys.executable, "-c", TEAR.format(key=key, room=rid, watermark=watermark), str(data / "Salesforce.db")],
        check=True,
    )
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import shelve, sys; shelve.open(sys.argv[1])[sys.argv[2]]",
            str(data / "Salesforce.db"),
            f"outbox:{key}",
        ],
        capture_output=True,
        text=True,
    )
    assert "UnpicklingError" in probe.stderr  # the state the issue met in the field
    original = stack.env["BOT_DATA_DIR"]
    stack.env["BOT_DATA_DIR"] = str(data)
    try:
        stack.start_bot()
        stack.bot.wait_for_line("Imported the Salesforce plugin's state from Errbot storage", 30)
        assert_saved_once(stack, rid, "ole@oldstore.example")
        stack.bot.stop()
        leftover = subprocess.run(
            [
                sys.executable,
                "-c",
                "import shelve, sys; print(sorted(shelve.open(sys.argv[1]).keys()))",
                str(data / "Salesforce.db"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "outbox" not in leftover and "watch:" not in leftover
    finally:
        stack.env["BOT_DATA_DIR"] = original
        stack.start_bot()
        visitor.close()
    assert os.path.exists(data / "salesforce-state.sqlite3")
