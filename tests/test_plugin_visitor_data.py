"""Visitor data Salesforce would refuse never costs the transcript (real bot, both simulators):
a 100 kB name, an over-long email and an invalid email each end with the Task logged, the contact
saved with what fits, and the agent told privately what was left out."""

from __future__ import annotations

import pytest

from plugin_fixtures import BOT, wait_until
from simulators.rocketchat.people import Visitor, text_of


def tasks_of(stack, rid):
    return [t for t in stack.sf.records("Task") if f"[{rid}]" in (t.get("Subject") or "")]


@pytest.mark.parametrize(
    "name, email, phone, told",
    [
        ("Hugo " + "H" * 100_000, "hugo@huge.example", None, "shortened"),
        ("Lena Longmail", "l" * 75 + "@example.com", "+1 415 555 0161", "email was left out"),
        ("Ivan Invalid", "ivan@@invalid", "+1 415 555 0162", "not a valid address"),
    ],
)
def test_the_task_is_logged_whatever_the_visitor_typed(stack, alice, name, email, phone, told):
    visitor = Visitor(stack.rc.url, name, email=email, phone=phone)
    try:
        rid = visitor.open_chat()
        greeted = alice.mark()
        alice.take(rid)
        greeting = alice.wait_for_reply(alice.dm(BOT), BOT, greeted, contains="This is not a Salesforce Contact")
        [create] = greeting["attachments"][0]["actions"]  # the name is cut for reading and to Salesforce's lengths
        assert len(text_of(greeting)) < 1000 and len(create["msg"]) < 400, len(text_of(greeting))
        visitor.say("please call me back")
        mark = alice.mark()
        alice.close_chat(rid)
        [task] = wait_until(lambda: tasks_of(stack, rid), 30, "the transcript Task")
        assert "please call me back" in task["Description"]
        contact = next(c for c in stack.sf.records("Contact") if c["Id"] == task["WhoId"])
        assert len(contact["LastName"]) <= 80 and (contact["FirstName"] or "") == name.split()[0][:40]
        note = alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="is saved in Salesforce, but")
        assert told in note["msg"] and "Traceback" not in note["msg"]
        assert not [m for m in visitor.history() if m.get("u", {}).get("username") == BOT]
    finally:
        visitor.close()


def test_a_returning_phone_only_visitor_within_the_search_index_lag_gets_no_duplicate(stack, alice):
    stack.sf.set_search_index_lag(120)  # nothing written from now on is visible to a phone search
    phone = "+1 415 555 0163"
    first = Visitor(stack.rc.url, "Rhea Returning", phone=phone)
    again = None
    try:
        rid = first.open_chat()
        alice.take(rid)
        first.say("first visit")
        alice.close_chat(rid)
        [task] = wait_until(lambda: tasks_of(stack, rid), 30, "the first transcript")
        made = task["WhoId"]
        assert [c["Id"] for c in stack.sf.records("Contact") if c.get("Phone") == phone] == [made]
        again = Visitor(stack.rc.url, "Rhea Returning", phone=phone, token=first.token)  # the same widget comes back
        rid2 = again.open_chat()
        mark = alice.mark()
        alice.take(rid2)
        greeting = alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="Salesforce Contact")
        assert "is already a Salesforce Contact" in text_of(greeting)
        again.say("second visit")
        alice.close_chat(rid2)
        [task2] = wait_until(lambda: tasks_of(stack, rid2), 30, "the second transcript")
        assert task2["WhoId"] == made
        assert [c["Id"] for c in stack.sf.records("Contact") if c.get("Phone") == phone] == [made]
    finally:
        stack.sf.set_search_index_lag(0)
        first.close()
        if again is not None:
            again.close()
