"""The closure and the CRM core on consumer and regulated orgs (the simulator's `person-accounts`,
`encrypted-email` and `no-api` profiles), and transcripts of any length: real HTTP against the strict
simulated org."""

from __future__ import annotations

import datetime as dt

import pytest
from rc_omnichannel import TranscriptLine
from test_plugin_closure import FakeOmni, item, new_records, saver, visitor

from salesforce_omnichannel.chat.setupcheck import FAIL, run_check
from salesforce_omnichannel.crm.errors import CrmValidationError
from salesforce_omnichannel.crm.operations import Crm


@pytest.fixture
def org(demo_org):
    return demo_org


def by_id(org, sobject):
    return {r["Id"]: r for r in org.records(sobject)}


def test_a_new_visitor_becomes_a_person_account_owned_as_configured_with_the_task_on_its_person_contact(org):
    info = org.set_profiles(["person-accounts", "users"])
    alice = info["users"]["alice"]
    crm = Crm(org.crm_settings())
    assert crm.new_visitors_as() == "person-account"  # the org has person accounts: the default follows
    tasks_before = {r["Id"] for r in org.records("Task")}
    closure = saver(crm, visitor("Penny Person", ["penny@person.example"], ["+1 917 555 0171"]))
    closure.owner_of = lambda sobject, agent: {"OwnerId": alice}
    result = closure.run(item("RPERSON"))
    person = by_id(org, "Contact")[result["contact_id"]]
    account = by_id(org, "Account")[person["AccountId"]]
    assert person["IsPersonAccount"] and account["IsPersonAccount"] and account["PersonContactId"] == person["Id"]
    assert (account["PersonEmail"], account["LastName"], account["OwnerId"]) == (
        "penny@person.example",
        "Person",
        alice,
    )
    assert account["RecordTypeId"] == info["record_types"]["Account.PersonAccount"]
    [task] = new_records(org, "Task", tasks_before)
    assert task["WhoId"] == person["Id"] and task["OwnerId"] == alice
    # the returning visitor is that person, by email and by phone, and the card is the account's
    for email, phone in (("penny@person.example", None), (None, "(917) 555-0171")):
        [match] = crm.lookup(email, phone)[0]
        assert match.record["Id"] == person["Id"] and match.record["IsPersonAccount"]


def test_create_contact_makes_a_person_account_and_its_card_says_so(org):
    from salesforce_omnichannel.chat.cards import contact_card

    org.set_profiles(["person-accounts"])
    crm = Crm(org.crm_settings())
    record = crm.create_contact({"FirstName": "Cole", "LastName": "Create", "Email": "cole@create.example"})
    assert (
        record["IsPersonAccount"] and by_id(org, "Account")[record["AccountId"]]["PersonEmail"] == "cole@create.example"
    )
    card = contact_card(record, crm.record_url)
    assert card["title"] == "Person Account: Cole Create" and f"/Account/{record['AccountId']}/" in card["link"]


def test_new_visitors_as_contact_in_a_person_account_org_is_a_plain_contact_and_the_check_says_so(org):
    org.set_profiles(["person-accounts"])
    crm = Crm(org.crm_settings(new_visitors_as="contact"))
    result = saver(crm, visitor("Bo Business", ["bo@business.example"])).run(item("RBIZ"))
    assert not by_id(org, "Contact")[result["contact_id"]].get("IsPersonAccount")
    assert any("NEW_VISITORS_AS=contact" in f.text for f in run_check(crm, None))


def test_a_converted_leads_visitor_is_greeted_as_the_contact(org):
    crm = Crm(org.crm_settings(new_visitors_as="lead"))
    lead = org.insert(
        "Lead", {"LastName": "Convert", "Company": "C Co", "Email": "conv@lead.example", "Status": "Open"}
    )
    converted = org.convert_lead(lead)
    contacts, leads = crm.lookup("conv@lead.example", None)
    assert [m.record["Id"] for m in contacts] == [converted["contact_id"]] and leads == []


def test_an_encrypted_email_is_found_with_one_search_as_before_with_one_query(org):
    org.set_profiles(["encrypted-email"])
    crm = Crm(org.crm_settings())
    crm.metadata.describe("Contact"), crm.metadata.describe("Lead")
    org.reset_calls()
    [match] = crm.lookup("Jane.Doe@Example.com", None)[0]
    assert match.record["Name"] == "Jane Doe" and match.matched_on == "email"
    assert org.calls() == {"GET search": 1}  # where a plain org answers with one GET query
    lead = org.insert("Lead", {"LastName": "Crypt", "Company": "X", "Email": "crypt@lead.example", "Status": "Open"})
    org.reset_calls()
    assert [r["Id"] for r in crm.lookup("crypt@lead.example", None)[1]] == [lead]
    assert org.calls() == {"GET search": 1}  # the Contact and the Lead in the same search
    # the closure's exactly-once look-up does not filter on the encrypted email either
    result = saver(crm, visitor("Enc Rypted", ["enc@rypted.example"])).run(item("RENC"))
    assert by_id(org, "Contact")[result["contact_id"]]["Email"] == "enc@rypted.example"


def test_a_200000_character_chat_is_whole_in_a_note_linked_to_the_task_the_contact_and_the_case(org):
    crm = Crm(org.crm_settings())
    jane = crm.find_contacts(email="jane.doe@example.com")[0].record
    case = crm.create_case(jane["Id"], {"Subject": "Long chat"}, contact=jane)
    long_lines = [f"line {i:06d} it's <fine> & well " + "x" * 60 for i in range(2300)]
    closure = saver(crm, visitor("Jane Doe", ["jane.doe@example.com"]), case=case["Id"])
    closure.omni = FakeOmni(visitor("Jane Doe", ["jane.doe@example.com"]))
    closure.omni.transcript = lambda room_id: [
        TranscriptLine(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc), "Jane", "visitor", t) for t in long_lines
    ]
    tasks_before = {r["Id"] for r in org.records("Task")}
    result = closure.run(item("RLONG"))
    [task] = new_records(org, "Task", tasks_before)
    assert len(task["Description"]) <= 32000 and "the whole transcript" in task["Description"]
    [note] = [n for n in org.notes() if n["Title"] == task["Subject"]]
    assert len(note["text"]) >= 200_000 and "line 002299 it's <fine> & well" in note["text"]
    assert {link["LinkedEntityId"] for link in note["links"]} >= {task["Id"], jane["Id"], case["Id"]}
    assert result["task_id"] == task["Id"]


def test_an_org_without_api_access_is_named_with_its_fix(org):
    org.set_profiles(["no-api"])
    crm = Crm(org.crm_settings())
    with pytest.raises(CrmValidationError) as err:
        crm.find_contacts(email="jane.doe@example.com")
    assert err.value.code == "API_DISABLED_FOR_ORG" and "API add-on" in err.value.message
    [finding] = run_check(crm, None)
    assert finding.mark == FAIL and "API_DISABLED_FOR_ORG" in finding.text and "API Enabled" in finding.fix
