"""The real bot against the simulated org with every profile on, and with each profile alone: configured
as the org needs it, the way an admin would (`!plugin config Salesforce {...}`), it greets a known and a
new visitor, answers every command of the registry without an error, and saves every closure: the new
visitor's Contact (or, where the org's duplicate rule matches a Lead, the Task on that Lead) and each
chat's transcript, owned by the serving agent's Salesforce user where the org has one for her."""

from __future__ import annotations

import pytest
from test_plugin_chat import JANE, records

from plugin_fixtures import BOT, Stack, wait_until
from salesforce_omnichannel.chat.registry import SUBCOMMANDS
from simulators.rocketchat.people import Admin, Agent, User, Visitor, text_of
from simulators.salesforce import profiles

PROFILE_SETS = [("all",)] + [(name,) for name in profiles.NAMES]
ERRORS = (
    "Traceback",
    "Salesforce refused the request",
    "could not be asked",
    "INVALID_FIELD",
    "REQUIRED_FIELD_MISSING",
)
TIER, PRODUCT = "Gold", "Printers"


@pytest.fixture(scope="module", params=PROFILE_SETS, ids=["+".join(p) for p in PROFILE_SETS])
def stack(request, sf_keys, tmp_path_factory):
    s = Stack(sf_keys, str(tmp_path_factory.mktemp("bot-data")), sf_profiles=request.param)
    s.on = profiles.effective(profiles.parse(request.param))  # assignment-rules brings users along
    yield s
    s.stop()


def settings_for(on: frozenset[str]) -> dict:
    """What an admin configures for an org with these profiles."""
    settings: dict = {}
    if "required-fields" in on:
        settings["FIELD_MAP"] = {"Contact.Customer_Tier__c": f"={TIER}", "Case.Product__c": f"={PRODUCT}"}
    if "record-types" in on:
        settings["RECORD_TYPES"] = {"Case": "Support"}
    if "users" in on:
        settings["NEW_CONTACT_ACCOUNT"] = "Web Visitors"
    return settings


@pytest.fixture(scope="module")
def people(stack):
    alice = Agent(stack.rc.url, "alice", "agent-pass")
    alice.go_online()
    admin = Admin(stack.rc.url, "admin", "admin-pass")
    marks = {alice: alice.mark(), admin: admin.mark()}
    settings = settings_for(stack.on)
    if settings:
        stack.ask(admin, admin.dm(BOT), f"!plugin config Salesforce {settings!r}", contains="after this change")
    yield {"alice": alice, "admin": admin}
    try:  # whatever the bot said privately to either of them, on this org, carries no error
        for user, mark in marks.items():
            assert_no_error(bot_messages(user, mark))
    finally:
        alice.close()
        admin.close()


def bot_messages(user: User, since: int) -> list[str]:
    dm = user.dm(BOT)
    return [
        text_of(m)
        for m, _meta in user.stream.messages[since:]
        if m.get("rid") == dm and m.get("u", {}).get("username") == BOT
    ]


def assert_no_error(texts: list[str]) -> None:
    for text in texts:
        assert not [e for e in ERRORS if e in text], text


def chat(stack, alice, name: str, email: str, greeting: str) -> tuple[Visitor, str, dict]:
    """A visitor opens a chat, alice takes it; the bot's greeting to her."""
    visitor = Visitor(stack.rc.url, name, email=email)
    rid = visitor.open_chat()
    mark = alice.mark()
    alice.take(rid)
    return visitor, rid, alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains=greeting)


def closed(stack, alice, visitor: Visitor, rid: str, said: str) -> dict:
    """Alice closes the chat after the visitor said SAID; the chat's transcript Task."""
    visitor.say(said)
    alice.close_chat(rid)
    [task] = wait_until(
        lambda: [t for t in records(stack, "Task") if f"[{rid}]" in (t.get("Subject") or "")],
        what="the transcript Task",
    )
    assert said in task["Description"]
    return task


def assert_saved_by_alice(stack, contact: dict, task: dict) -> None:
    """The new contact as this org needs it; with the `users` profile, alice's and in the default account."""
    assert task["WhoId"] == contact["Id"] and task["Status"] == "Completed"
    if "required-fields" in stack.on:
        assert contact["Customer_Tier__c"] == TIER
    if "users" in stack.on:
        org = stack.sf.profiles_info()
        assert contact["OwnerId"] == task["OwnerId"] == org["users"]["alice"]
        assert contact["AccountId"] == org["accounts"]["Web Visitors"]


def test_a_known_and_a_new_visitor_are_greeted_and_their_closures_saved(stack, people):
    alice = people["alice"]
    [jane] = records(stack, "Contact", Email=JANE)
    visitor, rid, greeting = chat(stack, alice, "Jane Doe", JANE, "is already a Salesforce Contact")
    try:
        assert "Jane Doe is already a Salesforce Contact" in text_of(greeting)
        task = closed(stack, alice, visitor, rid, "my printer jams again")
    finally:
        visitor.close()
    assert task["WhoId"] == jane["Id"]

    email = "nell@newcomer.example"
    visitor, rid, greeting = chat(stack, alice, "Nell Newcomer", email, "This is not a Salesforce Contact")
    try:
        assert f"--email {email}" in text_of(greeting)
        task = closed(stack, alice, visitor, rid, "first time here")
    finally:
        visitor.close()
    [contact] = wait_until(lambda: records(stack, "Contact", Email=email), what="the saved contact")
    assert (contact["FirstName"], contact["LastName"]) == ("Nell", "Newcomer")
    assert_saved_by_alice(stack, contact, task)


# How to run each command of the registry in a chat with Cora, a new visitor, and what its answer shows.
# A command added to the registry without an entry here fails the test below.
VISITOR, EMAIL, SUBJECT = "Cora Commands", "cora@commands.example", "Every org's case"
HOW = {
    "create-contact": ("create-contact", "Contact created."),
    "create-case": (f'create-case --subject "{SUBJECT}"', f"created for {VISITOR}"),
    "contact": ("contact", f"Contact: {VISITOR}"),
    "cases": ("cases", SUBJECT),
    "case": ("case 1001", "Case 00001001: Printer jams on tray 2"),
    "activities": ("activities", f"No tasks for {VISITOR}"),
    "refresh": ("refresh", "Salesforce metadata reloaded"),
    "status": ("status", "Salesforce reachable as"),
    "check": ("check", "Salesforce setup check"),
    "help": ("help", "Salesforce commands"),
}
FIRST = ("create-contact", "create-case")  # then the rest in the registry's order, about what these made


def test_every_command_answers_with_its_content_and_no_error(stack, people):
    alice, admin = people["alice"], people["admin"]
    assert set(HOW) == {sub.name for sub in SUBCOMMANDS}, "each command of the registry, and only those"
    ordered = sorted(SUBCOMMANDS, key=lambda sub: FIRST.index(sub.name) if sub.name in FIRST else len(FIRST))
    visitor, rid, _greeting = chat(stack, alice, VISITOR, EMAIL, "This is not a Salesforce Contact")
    try:
        for sub in ordered:
            text, shows = HOW[sub.name]
            user = admin if sub.admin_only else alice  # status and check: a bot admin
            mark = user.mark()
            answer = stack.ask(user, user.dm(BOT), f"!salesforce {text}", contains=shows)
            assert "✗" not in text_of(answer), text_of(answer)  # status and check: the org is set up
            assert_no_error(bot_messages(user, mark))
        task = closed(stack, alice, visitor, rid, "thanks for all that")
    finally:
        visitor.close()
    [contact] = records(stack, "Contact", Email=EMAIL)
    [case] = records(stack, "Case", Subject=SUBJECT)
    assert case["ContactId"] == contact["Id"] and task["WhatId"] == case["Id"]
    if "required-fields" in stack.on:
        assert case["Product__c"] == PRODUCT
    if "record-types" in stack.on:
        assert case["RecordTypeId"] == stack.sf.profiles_info()["record_types"]["Case.Support"]
    if "users" in stack.on:
        assert case["OwnerId"] == stack.sf.profiles_info()["users"]["alice"]  # not moved to the queue
    assert_saved_by_alice(stack, contact, task)


def test_a_visitor_who_is_a_lead_is_saved_without_an_error(stack, people):
    alice = people["alice"]
    email = "lena@lead.example"
    lead = stack.sf.insert("Lead", {"LastName": "Lead", "Company": "Lead Co", "Email": email, "Status": "Open"})
    visitor, rid, greeting = chat(stack, alice, "Lena Lead", email, "This is not a Salesforce Contact")
    try:
        assert "A Lead matches this visitor" in text_of(greeting)
        mark = alice.mark()
        task = closed(stack, alice, visitor, rid, "I filled your form last week")
    finally:
        visitor.close()
    if "duplicate-rules" in stack.on:  # the rule matches the Lead: the transcript goes there, no contact made
        assert task["WhoId"] == lead and not records(stack, "Contact", Email=email)
        told = alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="matched an existing Lead")
        assert f"the transcript is on the Lead {lead}" in text_of(told)
        if "users" in stack.on:
            assert task["OwnerId"] == stack.sf.profiles_info()["users"]["alice"]
    else:
        [contact] = wait_until(lambda: records(stack, "Contact", Email=email), what="the saved contact")
        assert_saved_by_alice(stack, contact, task)
