"""The real bot on an org with required custom fields and record types (the simulator's
`required-fields` and `record-types` profiles): FIELD_MAP fills what the org requires, from a literal
and from a Rocket.Chat visitor custom field; an unfilled one is named and the transcript still logged;
a FIELD_MAP or RECORD_TYPES the org refuses is refused when set, and the earlier configuration stays."""

from __future__ import annotations

import pytest
from test_plugin_chat import records

from plugin_fixtures import BOT, Stack, wait_until
from simulators.rocketchat.people import Admin, Agent, Visitor


@pytest.fixture(scope="module")
def stack(sf_keys, tmp_path_factory):
    s = Stack(sf_keys, str(tmp_path_factory.mktemp("bot-data")), sf_profiles=("required-fields", "record-types"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def people(stack):
    alice = Agent(stack.rc.url, "alice", "agent-pass")
    alice.go_online()
    admin = Admin(stack.rc.url, "admin", "admin-pass")
    admin.create_custom_field("channel")  # a visitor custom field, as the livechat widget's form fills it
    yield {"alice": alice, "admin": admin}
    alice.close()
    admin.close()


def configure(stack, admin, text, contains):
    return stack.ask(admin, admin.dm(BOT), f"!plugin config Salesforce {text}", contains=contains)


def closed_chat(stack, alice, name, email, custom=None):
    visitor = Visitor(stack.rc.url, name, email=email, custom=custom)
    try:
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="This is not a Salesforce Contact")
        visitor.say("hello there")
        mark = alice.mark()
        alice.close_chat(rid)
        [task] = wait_until(lambda: [t for t in records(stack, "Task") if f"[{rid}]" in (t.get("Subject") or "")])
    finally:
        visitor.close()
    return task, mark


def test_an_unfilled_required_field_is_named_and_the_transcript_still_logged(stack, people):
    alice = people["alice"]
    task, mark = closed_chat(stack, alice, "Ulla Unmapped", "ulla@unmapped.example")
    assert not records(stack, "Contact", Email="ulla@unmapped.example") and "hello there" in task["Description"]
    told = alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="Customer_Tier__c")
    assert "FIELD_MAP" in told["msg"] and "e.g. {'Contact.Customer_Tier__c': '=" in told["msg"]
    check = stack.ask(people["admin"], people["admin"].dm(BOT), "!salesforce check", contains="setup check")
    assert "✗ Contact.Customer_Tier__c is required: add it to FIELD_MAP" in check["msg"]
    assert "✗ Case.Product__c is required" in check["msg"]


def test_a_field_map_the_org_refuses_is_refused_when_set_and_the_earlier_one_kept(stack, people):
    admin = people["admin"]
    refused = configure(stack, admin, "{'FIELD_MAP': {'Contact.Customer_Tier__c': '=Platinum'}}", "refused")
    assert "nothing was stored" in refused["msg"] and "'Platinum' is not an active" in refused["msg"]
    wrong_type = configure(stack, admin, "{'RECORD_TYPES': {'Case': 'Suport'}}", "refused")
    assert "Suport" in wrong_type["msg"] and "Support" in wrong_type["msg"]
    shown = stack.ask(admin, admin.dm(BOT), "!plugin config Salesforce", contains="plugin config Salesforce")
    assert "Platinum" not in shown["msg"] and "Suport" not in shown["msg"]


def test_field_map_fills_the_required_field_from_a_literal_and_a_custom_field(stack, people):
    admin, alice = people["admin"], people["alice"]
    configure(
        stack,
        admin,
        "{'FIELD_MAP': {'Contact.Customer_Tier__c': '=Gold', 'Contact.Chat_Source__c': 'visitor.custom.channel',"
        " 'Case.Product__c': '=Printers'}, 'RECORD_TYPES': {'Case': 'Support'}}",
        "after this change",
    )
    task, _ = closed_chat(stack, alice, "Mia Mapped", "mia@mapped.example", custom={"channel": "pricing page"})
    [contact] = wait_until(lambda: records(stack, "Contact", Email="mia@mapped.example"), what="the saved contact")
    assert (contact["Customer_Tier__c"], contact["Chat_Source__c"]) == ("Gold", "pricing page")
    assert task["WhoId"] == contact["Id"]
    check = stack.ask(admin, admin.dm(BOT), "!salesforce check", contains="setup check")
    assert "is required" not in check["msg"] and "record type Support" in check["msg"]


def test_create_case_in_a_chat_offers_the_record_types_values_and_fills_what_the_org_requires(stack, people):
    admin, alice = people["admin"], people["alice"]
    configure(
        stack,
        admin,
        "{'FIELD_MAP': {'Contact.Customer_Tier__c': '=Silver', 'Case.Product__c': '=Printers'},"
        " 'RECORD_TYPES': {'Case': 'Support'}}",
        "after this change",
    )
    support = stack.sf.profiles_info()["record_types"]["Case.Support"]
    visitor = Visitor(stack.rc.url, "Cara Case", email="cara@case.example")
    try:
        rid = visitor.open_chat()
        mark = alice.mark()
        alice.take(rid)
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="This is not a Salesforce Contact")
        dm = alice.dm(BOT)
        stack.ask(alice, dm, f"!salesforce create-contact --chat {rid}", contains="Contact created.")
        refused = stack.ask(
            alice, dm, f'!salesforce create-case --subject "Refund please" --type Refund --chat {rid}', contains="valid"
        )
        assert "'Refund' is not a valid Type for Support cases" in refused["msg"] and "Problem" in refused["msg"]
        stack.ask(
            alice, dm, f'!salesforce create-case --subject "Jammed" --type Problem --chat {rid}', contains="created for"
        )
    finally:
        visitor.close()
    [case] = records(stack, "Case", Subject="Jammed")
    assert (case["RecordTypeId"], case["Product__c"], case["Type"]) == (support, "Printers", "Problem")
    [contact] = records(stack, "Contact", Email="cara@case.example")
    assert contact["Customer_Tier__c"] == "Silver"
