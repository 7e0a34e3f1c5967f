"""The real bot on a customised org (the simulator's `users` and `assignment-rules` profiles, with
NEW_CONTACT_ACCOUNT): what a chat creates is owned by the serving agent's Salesforce user, found by the
agent's verified email (alice) or by FederationIdentifier = Rocket.Chat username (bob); the new contact
sits in the default account, where colleagues can see it; the case created in the chat is not moved to
the support queue by the org's assignment rule."""

from __future__ import annotations

import pytest
from test_plugin_chat import records, start_chat

from plugin_fixtures import BOT, Stack, wait_until
from simulators.rocketchat.people import Agent


@pytest.fixture(scope="module")
def stack(sf_keys, tmp_path_factory):
    s = Stack(
        sf_keys,
        str(tmp_path_factory.mktemp("bot-data")),
        {"SALESFORCE_NEW_CONTACT_ACCOUNT": "Web Visitors"},
        sf_profiles=("users", "assignment-rules"),
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def org(stack):
    return stack.sf.profiles_info()


def served_and_closed(stack, agent, name, email, then=None):
    visitor, rid, mark = start_chat(stack, agent, name, email=email)
    try:
        agent.wait_for_reply(agent.dm(BOT), BOT, mark, contains="This is not a Salesforce Contact")
        visitor.say("hello")
        if then is not None:
            then(rid)
        agent.close_chat(rid)
        [contact] = wait_until(lambda: records(stack, "Contact", Email=email), what="the saved contact")
        [task] = wait_until(lambda: records(stack, "Task", WhoId=contact["Id"]), what="the transcript Task")
    finally:
        visitor.close()
    return contact, task


def test_alice_matched_by_email_owns_the_contact_the_task_and_the_case_of_her_chat(stack, org):
    alice = Agent(stack.rc.url, "alice", "agent-pass")
    alice.go_online()
    made = {}

    def create_case(rid):
        stack.ask(alice, alice.dm(BOT), f"!salesforce create-contact --chat {rid}", contains="Contact created.")
        made["case"] = stack.ask(
            alice,
            alice.dm(BOT),
            f'!salesforce create-case --subject "Owned by alice" --chat {rid}',
            contains="created for",
        )

    try:
        contact, task = served_and_closed(stack, alice, "Olga Owner", "olga@owner.example", create_case)
    finally:
        alice.close()
    alice_user = org["users"]["alice"]
    [case] = records(stack, "Case", Subject="Owned by alice")
    assert contact["OwnerId"] == task["OwnerId"] == case["OwnerId"] == alice_user
    assert case["OwnerId"] != org["queues"]["Support Queue"]  # Sforce-Auto-Assign: FALSE
    assert contact["AccountId"] == org["accounts"]["Web Visitors"]


def test_bob_matched_by_federation_identifier_owns_what_his_chat_saves(stack, org):
    bob = Agent(stack.rc.url, "bob", "agent-pass")
    bob.go_online()
    try:
        contact, task = served_and_closed(stack, bob, "Pavel Pilot", "pavel@pilot.example")
    finally:
        bob.close()
    assert contact["OwnerId"] == task["OwnerId"] == org["users"]["bob"]
    assert "served by bob" in task["Description"]
