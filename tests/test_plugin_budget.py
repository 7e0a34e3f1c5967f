"""Call budgets of a chat, counted on the simulators' own counters (counts, not times): Salesforce
calls per chat without commands (known visitor 2, new visitor 3, no describe once metadata is
kept), Rocket.Chat reads of a command (one besides the reply), and the idle poll (2 list calls)."""

from __future__ import annotations

import time

from plugin_fixtures import BOT, wait_until
from simulators.rocketchat.people import Visitor

SF_BOOKKEEPING = ("POST oauth2/token", "GET id")  # a token mint is not a per-chat cost


def sf_calls(stack) -> dict[str, int]:
    return {route: n for route, n in stack.sf.calls().items() if n and route not in SF_BOOKKEEPING}


def whole_chat(stack, alice, name, email, phone=None) -> dict[str, int]:
    visitor = Visitor(stack.rc.url, name, email=email, phone=phone)
    try:
        stack.sf.reset_calls()
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="Salesforce Contact")
        visitor.say("hello")
        alice.close_chat(rid)
        wait_until(
            lambda: [t for t in stack.sf.records("Task") if f"[{rid}]" in (t.get("Subject") or "")], 30, "the Task"
        )
        time.sleep(0.5)
        return sf_calls(stack)
    finally:
        visitor.close()


def test_salesforce_calls_per_chat_without_commands(stack, alice):
    whole_chat(stack, alice, "Warm Up", "warm.up@budget.example")  # token, describes, role caches
    known = whole_chat(stack, alice, "Jane Doe", "jane.doe@example.com")
    assert known == {"GET query": 1, "POST composite": 1}, known
    new = whole_chat(stack, alice, "Nell Newbudget", "nell@budget.example", "+1 415 555 0171")
    assert sum(new.values()) <= 3 and new.get("POST composite") == 1, new
    assert not [r for r in new if "describe" in r]


def test_a_command_reads_rocket_chat_at_most_once_besides_its_reply(stack, alice):
    visitor = Visitor(stack.rc.url, "Jane Doe", email="jane.doe@example.com")
    try:
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="Salesforce Contact")
        stack.ask(alice, alice.dm(BOT), "!salesforce contact", contains="Contact: Jane Doe")  # warms the role cache
        for where, text in ((alice.dm(BOT), "!salesforce cases"), (rid, "!salesforce contact")):
            stack.rc.reset_calls()
            stack.ask(alice, where, text, contains="Jane Doe")
            time.sleep(0.3)
            calls = stack.rc.calls()
            reads = {r: n for r, n in calls.items() if n and not r.endswith("chat.sendMessage")}
            assert sum(reads.values()) <= 1, (text, calls)
        alice.close_chat(rid)
    finally:
        visitor.close()


def test_a_reconnect_catches_up_the_rooms_with_activity_not_every_open_room(stack, alice):
    stack.rc.open_chats(150, "bob")  # a busy workspace: 150 open chats served by someone else
    time.sleep(5.5)  # quiet for longer than the catch-up margin before the drop
    visitor = Visitor(stack.rc.url, "Ada Away", email="ada@away.example")
    try:
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="Salesforce Contact")
        start = len(stack.bot.output().splitlines())
        stack.rc.reset_calls()
        stack.rc.drop_websockets()
        visitor.say("are you still there?")  # activity while the bot is away
        line = stack.bot.wait_for_line(
            lambda line: (
                "Caught up after reconnecting" in line and stack.bot.output().splitlines().index(line) >= start
            ),
            30,
        )
        calls = stack.rc.calls()
        assert calls.get("GET chat.syncMessages", 0) <= 3, calls  # the active rooms, not 150+
        assert int(line.split(" in ")[-1].split()[0]) <= 3, line
        alice.close_chat(rid)
    finally:
        visitor.close()
