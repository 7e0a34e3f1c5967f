"""What the realtime stream cannot tell: chats taken and closed while the bot was down are found by
the reconciling poll on start, and Errbot's reconnects (which deactivate and re-activate plugins)
never greet or save twice."""

from __future__ import annotations

import itertools
import time

from plugin_fixtures import BOT, wait_until
from simulators.rocketchat.people import Agent, Visitor, text_of


def greetings(stack, alice: Agent, name: str) -> list[dict]:
    """Read from the server's store: `drop-websockets` also cuts the people's own streams."""
    return [
        m
        for m in stack.rc.room_messages(alice.dm(BOT))
        if m["u"]["username"] == BOT and f"{name} is already a Salesforce Contact" in text_of(m)
    ]


def test_chats_taken_and_closed_while_the_bot_was_down(stack):
    alice = Agent(stack.rc.url, "alice", "agent-pass")
    alice.go_online()
    john = Visitor(stack.rc.url, "John Smith", email="john.smith@globex.example")
    luis = Visitor(stack.rc.url, "Luis García", email="luis.garcia@example.com")
    try:
        # the bot has seen the world once (its watermarks are set), then goes down
        stack.bot.stop()
        open_rid = john.open_chat()
        alice.take(open_rid)
        closed_rid = luis.open_chat()
        alice.take(closed_rid)
        luis.say("the scanner drifts again")
        alice.close_chat(closed_rid)
        stack.restart_bot()

        wait_until(lambda: greetings(stack, alice, "John Smith"), 30, "the greeting for the chat taken while down")
        luis_id = next(r["Id"] for r in stack.sf.records("Contact") if r.get("Email") == "luis.garcia@example.com")
        [task] = wait_until(
            lambda: [
                t for t in stack.sf.records("Task") if t.get("WhoId") == luis_id and t.get("Status") == "Completed"
            ],
            30,
            "the transcript of the chat closed while down",
        )
        assert "the scanner drifts again" in task["Description"]
        assert greetings(stack, alice, "Luis García") == []  # a chat already closed is not greeted

        # a reconnect re-activates the plugin: it reconciles again, and nothing happens twice
        before = len(stack.bot.lines)
        stack.rc.drop_websockets()
        index = itertools.count()
        stack.bot.wait_for_line(lambda line: next(index) >= before and "Connected to Rocket.Chat" in line, 30)
        time.sleep(5)  # two polls after the reconnect
        assert len(greetings(stack, alice, "John Smith")) == 1
        assert (
            len([t for t in stack.sf.records("Task") if t.get("WhoId") == luis_id and t.get("Status") == "Completed"])
            == 1
        )
        # and the plugin still answers after its re-activation (alice logs in again: her stream was cut too)
        alice.close()
        alice = Agent(stack.rc.url, "alice", "agent-pass")
        assert "Contact: John Smith" in text_of(
            stack.ask(alice, open_rid, "!salesforce contact", contains="Contact: John Smith")
        )
    finally:
        john.close()
        luis.close()
        alice.close()
