"""The CRM core and the closure on customised orgs (the simulator's org profiles): an integration user
that may not read every field, the org's duplicate rules, its case assignment rule, and contacts that the
agents can see. Real HTTP against the strict simulated org; the plain org is covered everywhere else."""

from __future__ import annotations

import pytest
from test_plugin_closure import item, new_records, saver, visitor

from salesforce_omnichannel.crm.errors import CrmValidationError
from salesforce_omnichannel.crm.operations import Crm


@pytest.fixture
def org(demo_org):
    return demo_org


def test_a_user_who_may_not_read_title_leadsource_or_the_address_still_finds_the_contact(org):
    org.set_profiles(["field-access"])
    crm = Crm(org.crm_settings())
    [match] = crm.find_contacts(email="jane.doe@example.com")
    assert match.record["Name"] == "Jane Doe" and match.record["Email"] == "jane.doe@example.com"
    assert not {"Title", "LeadSource", "MailingCity"} & set(match.record)
    contacts, leads = crm.lookup(None, "+1 (415) 555-0134")  # the greeting's SOSL, Contact and Lead
    assert [m.record["Name"] for m in contacts] == ["Jane Doe"]
    with pytest.raises(CrmValidationError) as err:
        crm.create_contact({"LastName": "Roe", "LeadSource": "Web"})
    assert err.value.code == "FIELD_NOT_WRITABLE" and err.value.fields == ["LeadSource"]


def test_a_closure_leaves_out_what_the_user_may_not_write_and_saves_the_rest(org):
    org.set_profiles(["field-access"])
    crm = Crm(org.crm_settings())
    before = {r["Id"] for r in org.records("Contact")}
    result = saver(crm, visitor("Fern Field", ["fern@field.example"])).run(item("RFIELD"))
    [contact] = new_records(org, "Contact", before)
    assert contact["Email"] == "fern@field.example" and not contact.get("LeadSource")
    assert result["task_id"]


def test_the_duplicate_rule_matching_a_lead_gets_the_transcript_not_an_error(org):
    org.set_profiles(["duplicate-rules"])
    crm = Crm(org.crm_settings())
    lead_id = org.insert(
        "Lead", {"LastName": "Dupe", "Company": "Dup Inc", "Email": "dupe@lead.example", "Status": "Open"}
    )
    crm.metadata.describe("Contact")
    contacts_before, tasks_before = {r["Id"] for r in org.records("Contact")}, {r["Id"] for r in org.records("Task")}
    result = saver(crm, visitor("Dana Dupe", ["dupe@lead.example"])).run(item("RDUPE"))
    [task] = new_records(org, "Task", tasks_before)
    assert task["WhoId"] == lead_id and not new_records(org, "Contact", contacts_before)
    assert any("duplicate rules matched an existing Lead" in n for n in result["notes"])


def test_the_duplicate_rule_matching_a_contact_logs_on_it(org):
    org.set_profiles(["duplicate-rules"])
    crm = Crm(org.crm_settings())
    other = org.insert("Contact", {"FirstName": "Ann", "LastName": "Other", "Email": "ann.other@example.com"})
    # no greeting ran (the bot was down when the chat was served): the closure's create meets the rule
    tasks_before = {r["Id"] for r in org.records("Task")}
    result = saver(crm, visitor("Ann Other", ["ann.other@example.com"])).run(item("RDUPC"))
    [task] = new_records(org, "Task", tasks_before)
    assert task["WhoId"] == other == result["contact_id"]


def test_allow_duplicates_saves_over_the_rule(org):
    org.set_profiles(["duplicate-rules"])
    org.insert("Lead", {"LastName": "Twin", "Company": "Twins", "Email": "twin@example.com", "Status": "Open"})
    crm = Crm(org.crm_settings(allow_duplicates=True))
    record = crm.create_contact({"LastName": "Twin", "Email": "twin@example.com"})
    assert record["Email"] == "twin@example.com"
    with pytest.raises(CrmValidationError) as err:
        Crm(org.crm_settings()).create_contact({"LastName": "Twin", "Email": "twin@example.com"})
    assert err.value.code == "DUPLICATES_DETECTED" and err.value.duplicates


def test_a_case_the_bot_creates_is_not_moved_by_the_assignment_rule_unless_allowed(org):
    info = org.set_profiles(["assignment-rules"])
    queue = info["queues"]["Support Queue"]
    jane = Crm(org.crm_settings()).find_contacts(email="jane.doe@example.com")[0].record
    kept = Crm(org.crm_settings()).create_case(jane["Id"], {"Subject": "Stays with us"}, contact=jane)
    moved = Crm(org.crm_settings(case_assignment_rules=True)).create_case(
        jane["Id"], {"Subject": "Routed"}, contact=jane
    )
    owners = {r["Id"]: r["OwnerId"] for r in org.records("Case")}
    assert owners[kept["Id"]] != queue and owners[moved["Id"]] == queue


def test_with_new_contact_account_a_colleague_can_see_the_contact_the_closure_made(org):
    info = org.set_profiles(["users"])
    account = info["accounts"]["Web Visitors"]
    dave = org.token(sub="dave@acme.example")

    def seen_by_dave(contact_id):
        resp = org.http.get(
            f"{dave['instance_url']}/services/data/v59.0/sobjects/Contact/{contact_id}",
            headers={"Authorization": f"Bearer {dave['access_token']}"},
            timeout=10,
        )
        return resp.status_code == 200

    private = saver(Crm(org.crm_settings()), visitor("Pia Private", ["pia@private.example"])).run(item("RPRIV"))
    shared = saver(
        Crm(org.crm_settings(new_contact_account="Web Visitors")), visitor("Sam Shared", ["sam@shared.example"])
    ).run(item("RSHARE"))
    assert {r["Id"]: r.get("AccountId") for r in org.records("Contact")}[shared["contact_id"]] == account
    assert seen_by_dave(shared["contact_id"]) and not seen_by_dave(private["contact_id"])


def test_a_contact_the_closure_creates_gets_the_record_type_record_types_names(org):
    info = org.set_profiles(["record-types"])
    crm = Crm(org.crm_settings(record_types=(("Contact", "Customer"),)))
    result = saver(crm, visitor("Rita Type", ["rita@type.example"])).run(item("RTYPE"))
    contact = {r["Id"]: r for r in org.records("Contact")}[result["contact_id"]]
    assert contact["RecordTypeId"] == info["record_types"]["Contact.Customer"]


def test_an_inactive_owner_is_refused_then_the_closure_saves_as_the_integration_user(org):
    info = org.set_profiles(["users"])
    carol = info["users"]["carol"]  # inactive in Salesforce
    crm = Crm(org.crm_settings())
    forgotten = []
    closure = saver(crm, visitor("Ina Active", ["ina@active.example"]))
    closure.owner_of = lambda sobject, agent: {"OwnerId": carol}
    closure.forget_owner = forgotten.append
    result = closure.run(item("RINACT"))
    contact = {r["Id"]: r for r in org.records("Contact")}[result["contact_id"]]
    assert contact["OwnerId"] == info["integration_user"]["id"] and forgotten == [carol]


def test_new_visitors_as_lead_makes_a_lead_with_the_task_on_it_and_a_returning_one_reuses_it(org):
    crm = Crm(org.crm_settings(new_visitors_as="lead"))
    contacts_before, tasks_before = {r["Id"] for r in org.records("Contact")}, {r["Id"] for r in org.records("Task")}
    first = saver(crm, visitor("Lea Lead", ["lea@lead.example"], ["+1 646 555 0190"])).run(item("RLEAD1"))
    [lead] = [r for r in org.records("Lead") if r.get("Email") == "lea@lead.example"]
    assert (lead["FirstName"], lead["LastName"], lead["Company"]) == ("Lea", "Lead", "[not provided]")
    assert first["lead_id"] == lead["Id"] and first["contact_id"] is None
    [task] = new_records(org, "Task", tasks_before)
    assert task["WhoId"] == lead["Id"] and not task.get("WhatId") and not new_records(org, "Contact", contacts_before)
    again = saver(crm, visitor("Lea Lead", ["lea@lead.example"])).run(item("RLEAD2"))
    assert len([r for r in org.records("Lead") if r.get("Email") == "lea@lead.example"]) == 1
    assert {t["WhoId"] for t in new_records(org, "Task", tasks_before)} == {lead["Id"]} and again["task_id"]
