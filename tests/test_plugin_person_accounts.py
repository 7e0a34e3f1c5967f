"""The real bot on a consumer org (the simulator's `person-accounts` and `users` profiles): a new visitor
becomes a person account owned by the agent, with the transcript on its person contact; the returning
visitor is greeted as that person, by email and by phone; create-contact makes a person account too; with
NEW_VISITORS_AS=lead the close makes a Lead with the Task on it, and a converted lead's visitor is greeted
as the contact."""

from __future__ import annotations

import pytest
from test_plugin_chat import records

from plugin_fixtures import BOT, Stack, wait_until
from simulators.rocketchat.people import Admin, Visitor, text_of


@pytest.fixture(scope="module")
def stack(sf_keys, tmp_path_factory):
    s = Stack(sf_keys, str(tmp_path_factory.mktemp("bot-data")), sf_profiles=("person-accounts", "users"))
    yield s
    s.stop()


def chat(stack, alice, name, email=None, phone=None, greeting="", then=None):
    """A chat alice takes, is greeted in (GREETING), and closes; the chat's transcript Task."""
    visitor = Visitor(stack.rc.url, name, email=email, phone=phone)
    try:
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        greeted = alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains=greeting)
        visitor.say("hello, it's me again")
        if then is not None:
            then(rid)
        alice.close_chat(rid)
        [task] = wait_until(lambda: [t for t in records(stack, "Task") if f"[{rid}]" in (t.get("Subject") or "")])
    finally:
        visitor.close()
    return greeted, task


def test_a_new_visitor_becomes_a_person_account_and_returns_as_that_person(stack, alice):
    org = stack.sf.profiles_info()
    _, task = chat(stack, alice, "Nia Newperson", "nia@person.example", "+1 415 555 0177", "not a Salesforce Contact")
    [person] = wait_until(lambda: records(stack, "Contact", Email="nia@person.example"), what="the person contact")
    account = next(a for a in stack.sf.records("Account") if a["Id"] == person["AccountId"])
    assert person["IsPersonAccount"] and account["PersonContactId"] == person["Id"]
    assert account["OwnerId"] == org["users"]["alice"] and task["WhoId"] == person["Id"]
    for email, phone in (("nia@person.example", None), (None, "415.555.0177")):
        greeted, again = chat(stack, alice, "Nia Newperson", email, phone, "already a Salesforce Person Account")
        card = greeted["attachments"][0]
        assert card["title"] == "Person Account: Nia Newperson" and f"/Account/{account['Id']}/" in card["title_link"]
        assert again["WhoId"] == person["Id"]
    assert len(records(stack, "Contact", Email="nia@person.example")) == 1


def test_create_contact_in_the_chat_makes_a_person_account(stack, alice):
    def create(rid):
        made = stack.ask(alice, alice.dm(BOT), f"!salesforce create-contact --chat {rid}", contains="Contact created.")
        assert made["msg"] == "Contact created."

    chat(stack, alice, "Cyd Created", "cyd@person.example", None, "not a Salesforce Contact", create)
    [person] = records(stack, "Contact", Email="cyd@person.example")
    assert person["IsPersonAccount"]


def test_new_visitors_as_lead_makes_a_lead_and_a_converted_lead_is_greeted_as_the_contact(stack, alice):
    admin = Admin(stack.rc.url, "admin", "admin-pass")
    try:
        stack.ask(admin, admin.dm(BOT), "!plugin config Salesforce {'NEW_VISITORS_AS': 'lead'}", contains="after this")
        _, task = chat(stack, alice, "Lou Lead", "lou@lead.example", None, "not a Salesforce Contact")
        [lead] = records(stack, "Lead", Email="lou@lead.example")
        assert task["WhoId"] == lead["Id"] and not records(stack, "Contact", Email="lou@lead.example")
        converted = stack.sf.convert_lead(lead["Id"])
        greeted, again = chat(stack, alice, "Lou Lead", "lou@lead.example", None, "already a Salesforce")
        assert "Lou Lead is already a Salesforce Contact" in text_of(greeted)
        assert again["WhoId"] == converted["contact_id"]
    finally:
        stack.ask(admin, admin.dm(BOT), "!plugin config Salesforce {'NEW_VISITORS_AS': ''}", contains="after this")
        admin.close()
