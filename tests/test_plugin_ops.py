"""Running it, for real: the bot with BOT_LOG_FORMAT=json on the simulators. The API budget guard holds
closures at API_BUDGET_PERCENT (the simulated org's usage control), greets without a look-up saying why,
still runs commands, reads the usage once per poll and drains the held closures when usage falls; the
admins get one message per crossing (a jump straight past the budget included); quarantined closed chats
are an alert once per rise; a Rocket.Chat 503 during a poll and a Salesforce timeout during a closure are
one WARNING line each, without a traceback; and every line the bot wrote parses as JSON, with no secret."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from plugin_fixtures import BOT, Stack, wait_until
from simulators.rocketchat.people import Admin, Agent, Visitor, text_of

ENV = {
    "BOT_LOG_FORMAT": "json",
    "SALESFORCE_API_BUDGET_PERCENT": "90",
    "SALESFORCE_API_WARN_PERCENT": "80",
    "SALESFORCE_REQUEST_TIMEOUT_SECONDS": "5",
}
WARNED = "Salesforce API usage has reached API_WARN_PERCENT"
HELD = "Salesforce API usage has reached API_BUDGET_PERCENT"


@pytest.fixture(scope="module")
def ops(sf_keys, tmp_path_factory):
    s = Stack(sf_keys, str(tmp_path_factory.mktemp("bot-data")), ENV)
    alice = Agent(s.rc.url, "alice", "agent-pass")
    alice.go_online()
    admin = Admin(s.rc.url, "admin", "admin-pass")
    yield s, alice, admin
    alice.close()
    admin.close()
    s.stop()


def records(stack) -> list[dict]:
    """Every line the bot wrote, each parsed (a line that is not JSON fails here)."""
    out = []
    for line in stack.bot.output().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    return out


def admin_messages(stack, admin, phrase: str) -> list[str]:
    return [text_of(m) for m in stack.rc.room_messages(admin.dm(BOT)) if phrase in text_of(m)]


def tasks_of(stack, rid):
    return [t for t in stack.sf.records("Task") if f"[{rid}]" in (t.get("Subject") or "")]


def served(stack, alice, name, email, contains):
    visitor = Visitor(stack.rc.url, name, email=email)
    rid = visitor.open_chat()
    mark = alice.mark()
    alice.take(rid)
    greeting = alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains=contains)
    return visitor, rid, text_of(greeting)


def test_the_budget_guard_holds_what_can_wait_and_drains_it_when_usage_falls(ops):
    stack, alice, admin = ops
    stack.sf.set_api_usage(7_000, 10_000)
    stack.ask(alice, alice.dm(BOT), "!salesforce contact jane.doe@example.com", contains="Contact: Jane Doe")
    stack.sf.set_api_usage(8_500)  # past the warning line: the next response says so
    stack.ask(alice, alice.dm(BOT), "!salesforce contact jane.doe@example.com", contains="Contact: Jane Doe")
    [warned] = wait_until(lambda: admin_messages(stack, admin, WARNED), 20, "the warning")
    assert "8,501/10,000 calls in the last 24 hours (85%)" in warned and "Fix:" in warned

    stack.sf.set_api_usage(9_000)  # the budget: a command still runs, and its response brings the figure
    stack.ask(alice, alice.dm(BOT), "!salesforce cases jane.doe@example.com", contains="Cases of Jane Doe")
    [held] = wait_until(lambda: admin_messages(stack, admin, HELD), 20, "the hold message")
    assert "holds closed chats in its outbox" in held and "commands still run" in held

    stack.sf.reset_calls()
    visitor, rid, greeting = served(stack, alice, "Hana Held", "hana@held.example", "No Salesforce look-up")
    try:
        assert "You now serve Hana Held (hana@held.example)" in greeting
        assert "past the bot's budget of 90% (API_BUDGET_PERCENT)" in greeting and "!salesforce contact" in greeting
        visitor.say("please call me back")
        alice.close_chat(rid)
        time.sleep(6)  # three polls
        assert tasks_of(stack, rid) == []  # held in the outbox
        calls = {route: n for route, n in stack.sf.calls().items() if n}
        assert calls.get("GET limits", 0) >= 2, calls  # the usage read again each poll while holding
        assert not [r for r in calls if r not in ("GET limits", "POST oauth2/token", "GET id")], calls

        status = stack.ask(admin, admin.dm(BOT), "!salesforce status", contains="Salesforce status")["msg"]
        assert "HOLDING closed chats and greeting look-ups until usage falls below 90%" in status
        assert "Closed chats waiting to be saved: 1" in status
        check = stack.ask(admin, admin.dm(BOT), "!salesforce check", contains="setup check")["msg"]
        assert "✗ The org has used" in check and "at or past the budget" in check

        stack.sf.set_api_usage(5_000)
        wait_until(lambda: tasks_of(stack, rid), 15, "the held closure saved within a poll or two")
    finally:
        visitor.close()
    assert "please call me back" in tasks_of(stack, rid)[0]["Description"]
    time.sleep(3)
    assert len(admin_messages(stack, admin, WARNED)) == 1 and len(admin_messages(stack, admin, HELD)) == 1
    assert "within budget" in stack.ask(admin, admin.dm(BOT), "!salesforce status", contains="Salesforce status")["msg"]


def test_a_jump_straight_past_the_budget_is_one_message(ops):
    stack, alice, admin = ops
    before_warned, before_held = len(admin_messages(stack, admin, WARNED)), len(admin_messages(stack, admin, HELD))
    stack.sf.set_api_usage(1_000, 10_000)
    stack.ask(alice, alice.dm(BOT), "!salesforce contact jane.doe@example.com", contains="Contact: Jane Doe")
    stack.sf.set_api_usage(9_500)
    stack.ask(alice, alice.dm(BOT), "!salesforce contact jane.doe@example.com", contains="Contact: Jane Doe")
    wait_until(lambda: len(admin_messages(stack, admin, HELD)) > before_held, 20, "the message")
    stack.sf.set_api_usage(1_000)
    status = wait_until(
        lambda: "within budget" in (s := stack.ask(admin, admin.dm(BOT), "!salesforce status")["msg"]) and s,
        20,
        "the guard to resume",
    )
    assert "API usage: 10" in status
    assert len(admin_messages(stack, admin, HELD)) == before_held + 1
    assert len(admin_messages(stack, admin, WARNED)) == before_warned  # one message for the jump, not two
    lines = [r["message"] for r in records(stack)]
    assert any(m.startswith("Salesforce API usage is below API_BUDGET_PERCENT (90%) again") for m in lines)


def torn(stack, room: str) -> None:
    """An outbox row whose data cannot be read (as a crash of an older store could leave), added while the bot runs."""
    now = time.time()
    with sqlite3.connect(Path(stack.data_dir) / "salesforce-state.sqlite3", timeout=30) as con:
        con.execute(
            "INSERT INTO outbox (key, room_id, state, payload, next_at, created) VALUES (?, ?, 'pending', ?, ?, ?)",
            (f"{room}|2026-01-01T00:00:00+00:00", room, '{"room_id": "' + room, now - 60, now - 60),
        )


def test_quarantined_chats_are_one_alert_per_rise(ops):
    stack, _alice, admin = ops
    alert = "Salesforce bot alert: 1 closed chat(s) could not be saved to Salesforce and are quarantined"
    torn(stack, "TORN1")
    [told] = wait_until(lambda: admin_messages(stack, admin, alert), 20, "the quarantine alert")
    assert "TORN1 (stored data cannot be read" in told and "1 quarantined in all" in told
    assert "Fix: `!salesforce status` lists them" in told
    time.sleep(4)  # more polls: the same episode is not told again
    assert len(admin_messages(stack, admin, alert)) == 1
    torn(stack, "TORN2")  # one more: a new rise
    wait_until(lambda: admin_messages(stack, admin, "TORN2 (stored data"), 20, "the second alert")
    assert "2 quarantined in all" in admin_messages(stack, admin, "TORN2 (stored data")[0]
    assert len(admin_messages(stack, admin, "could not be saved to Salesforce")) == 2  # no per-item message besides


def test_network_failures_are_one_warning_line_without_a_traceback(ops):
    stack, alice, _admin = ops
    start = len(stack.bot.output().splitlines())
    stack.rc.fail("livechat/rooms", 503, count=1)  # the poll's list of rooms
    line = stack.bot.wait_for_line(lambda s: "livechat/rooms" in s and "HTTP 503" in s, 20)
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and "retrying at the next poll, in 2 s" in entry["message"]

    visitor, rid, _greeting = served(stack, alice, "Tim Timeout", "tim@timeout.example", "Salesforce Contact")
    try:
        stack.sf.hold(["POST composite"], "before")
        alice.close_chat(rid)
        line = stack.bot.wait_for_line(lambda s: f"Saving closed chat {rid} failed" in s, 30)
        stack.sf.release()
        wait_until(lambda: tasks_of(stack, rid), 40, "the closure saved after the timeout")
    finally:
        stack.sf.release()
        visitor.close()
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["room_id"] == rid and entry["outbox_key"].startswith(f"{rid}|")
    assert "timeout (ReadTimeout) on POST" in entry["message"] and "/services/data/v59.0/composite" in entry["message"]
    assert "retrying in 5 s" in entry["message"]
    time.sleep(2)
    mine = records(stack)[start:]
    warnings = [r for r in mine if r["level"] in ("WARNING", "ERROR", "CRITICAL")]
    assert len([r for r in warnings if "livechat/rooms" in r["message"]]) == 1, warnings
    assert len([r for r in warnings if rid in r["message"] or r.get("room_id") == rid]) == 1, warnings
    assert not [r for r in mine if "traceback" in r], mine


def test_every_line_of_the_json_log_parses_and_holds_no_secret(ops):
    stack, _alice, admin = ops
    key = stack.sf.key_path.read_text()
    refused = stack.ask(admin, admin.dm(BOT), "!plugin config Salesforce {'PRIVATE_KEY': '" + key + "'}")
    assert "refused" in refused["msg"].lower()
    time.sleep(1)
    lines = records(stack)
    assert len(lines) > 50
    for entry in lines:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
    assert {e["logger"] for e in lines} >= {"errbot.core", "errbot.plugins.salesforce", "errbot.backends.rocketchat"}
    assert any(e.get("room_id") for e in lines)
    out = stack.bot.output()
    assert "BEGIN" not in out and key.splitlines()[1] not in out and "bot-pass" not in out
    assert "Traceback" not in out
