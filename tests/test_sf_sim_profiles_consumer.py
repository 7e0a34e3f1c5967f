"""The simulated org's consumer-side profiles, over HTTPS through simple-salesforce: `person-accounts` (a B2C
org), `encrypted-email` (Shield Platform Encryption on the email fields) and `no-api` (an org without API
access), each refusing what Salesforce refuses with its code and text, and each leaving the plain org as it
was once turned off. Notes and lead conversion are in test_sf_sim_profiles_consumer_records.py."""

from __future__ import annotations

import pytest
from sf_profile_helpers import client, refusal
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceRefusedRequest

from simulators.salesforce.profiles import FEATURES, NAMES

NAME_REFUSED = [
    {
        "message": "Unable to create/update fields: Name. Please check the security settings of this field and "
        "verify that it is read/write for your profile or permission set.",
        "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
        "fields": ["Name"],
    }
]
API_DISABLED = [{"message": "The REST API is not enabled for this Organization.", "errorCode": "API_DISABLED_FOR_ORG"}]
PAT_EMAIL, PAT_MOBILE = "pat.person@example.com", "+1 212 555 0142"


@pytest.fixture
def org(demo_org):
    """A demo org; the test switches its profiles on (`org.set_profiles([...])`)."""
    return demo_org


@pytest.fixture
def persons(org):
    org.set_profiles(["person-accounts"])
    return org


def person_type(sim) -> str:
    return sim.profiles_info()["record_types"]["Account.PersonAccount"]


def one(sf: Salesforce, soql: str) -> dict:
    [record] = sf.query(soql)["records"]
    return record


# -- person-accounts: what enabling them adds ----------------------------------------------------
def test_account_describes_the_person_fields_and_both_record_types(persons):
    sf = client(persons)
    described = sf.Account.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert {"IsPersonAccount", "PersonContactId", "FirstName", "LastName", "Salutation", "PersonEmail"} <= set(fields)
    assert {"PersonMobilePhone", "PersonHomePhone", "PersonMailingCity", "PersonMailingCountry"} <= set(fields)
    is_person = fields["IsPersonAccount"]
    assert (is_person["type"], is_person["createable"], is_person["updateable"]) == ("boolean", False, False)
    contact_id = fields["PersonContactId"]
    assert (contact_id["referenceTo"], contact_id["createable"], contact_id["updateable"]) == (
        ["Contact"],
        False,
        False,
    )
    assert fields["PersonEmail"]["type"] == "email" and fields["LastName"]["nillable"]  # business accounts have none
    assert fields["RecordTypeId"]["referenceTo"] == ["RecordType"]
    infos = {i["developerName"]: i for i in described["recordTypeInfos"]}
    ids = persons.profiles_info()["record_types"]
    assert set(infos) == {"Business_Account", "PersonAccount", "Master"}
    assert (
        infos["Business_Account"]["defaultRecordTypeMapping"] and not infos["PersonAccount"]["defaultRecordTypeMapping"]
    )
    assert (infos["PersonAccount"]["name"], infos["PersonAccount"]["recordTypeId"]) == (
        "Person Account",
        ids["Account.PersonAccount"],
    )
    contact_fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert not contact_fields["IsPersonAccount"]["createable"] and "HomePhone" in contact_fields


def test_record_types_are_queried_by_is_person_type(persons):
    sf = client(persons)
    rows = sf.query(
        "SELECT Id, DeveloperName, Name, IsPersonType FROM RecordType WHERE SobjectType = 'Account' ORDER BY Name"
    )["records"]
    assert [(r["DeveloperName"], r["Name"], r["IsPersonType"]) for r in rows] == [
        ("Business_Account", "Business Account", False),
        ("PersonAccount", "Person Account", True),
    ]
    person = one(sf, "SELECT Id FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true")
    assert person["Id"] == person_type(persons) and person["Id"].startswith("012")


def test_the_seeded_person_account_and_its_person_contact(persons):
    sf = client(persons)
    info = persons.profiles_info()
    account_id, contact_id = info["accounts"]["Pat Person"], info["person_contacts"]["Pat Person"]
    account = one(
        sf,
        "SELECT Id, Name, IsPersonAccount, PersonContactId, FirstName, LastName, PersonEmail, PersonMobilePhone, "
        "RecordType.DeveloperName FROM Account WHERE IsPersonAccount = true",
    )
    assert (account["Id"], account["Name"], account["PersonContactId"]) == (account_id, "Pat Person", contact_id)
    assert (account["PersonEmail"], account["PersonMobilePhone"]) == (PAT_EMAIL, PAT_MOBILE)
    assert account["RecordType"]["DeveloperName"] == "PersonAccount"
    contact = one(
        sf,
        f"SELECT Id, Name, Email, MobilePhone, IsPersonAccount, AccountId, Account.Name, Account.IsPersonAccount "
        f"FROM Contact WHERE Email = '{PAT_EMAIL}'",
    )
    assert (contact["Id"], contact["Name"], contact["MobilePhone"], contact["IsPersonAccount"]) == (
        contact_id,
        "Pat Person",
        PAT_MOBILE,
        True,
    )
    assert contact["AccountId"] == account_id and contact["Account"]["Name"] == "Pat Person"
    assert contact["Account"]["IsPersonAccount"] is True
    by_phone = sf.search("FIND {212-555-0142} IN PHONE FIELDS RETURNING Contact(Id, Name, IsPersonAccount)")
    assert [(r["Id"], r["IsPersonAccount"]) for r in by_phone["searchRecords"]] == [(contact_id, True)]
    by_email = sf.search(f"FIND {{{PAT_EMAIL}}} IN EMAIL FIELDS RETURNING Contact(Id), Account(Id, PersonEmail)")
    assert [r["Id"] for r in by_email["searchRecords"]] == [contact_id, account_id]
    businesses = sf.query("SELECT Name, IsPersonAccount, PersonEmail FROM Account WHERE IsPersonAccount = false")
    assert "Acme Corporation" in {r["Name"] for r in businesses["records"]}  # the demo org's accounts: business
    assert {r["PersonEmail"] for r in businesses["records"]} == {None}


def test_a_person_account_create_makes_its_person_contact(persons):
    sf = client(persons)
    created = sf.Account.create(
        {
            "RecordTypeId": person_type(persons),
            "Salutation": "Ms.",
            "FirstName": "Nora",
            "LastName": "Nouveau",
            "PersonEmail": "nora@nouveau.example",
            "PersonMobilePhone": "+33 6 12 34 56 78",
            "Phone": "+33 1 23 45 67 89",
            "PersonMailingCity": "Lyon",
        }
    )
    account = sf.Account.get(created["id"])
    assert (account["Name"], account["IsPersonAccount"], account["RecordTypeId"]) == (
        "Nora Nouveau",
        True,
        person_type(persons),
    )
    contact = sf.Contact.get(account["PersonContactId"])
    assert (contact["AccountId"], contact["IsPersonAccount"], contact["Name"], contact["Salutation"]) == (
        created["id"],
        True,
        "Nora Nouveau",
        "Ms.",
    )
    # the person account field mapping: PersonEmail is Email, PersonMobilePhone MobilePhone, Phone Phone
    assert (contact["Email"], contact["MobilePhone"], contact["Phone"], contact["MailingCity"]) == (
        "nora@nouveau.example",
        "+33 6 12 34 56 78",
        "+33 1 23 45 67 89",
        "Lyon",
    )
    assert contact["OwnerId"] == account["OwnerId"] == persons.profiles_info()["integration_user"]["id"]
    task = sf.Task.create({"Subject": "Chat", "WhoId": contact["Id"], "WhatId": created["id"], "Status": "Completed"})
    assert sf.Task.get(task["id"])["WhoId"] == contact["Id"]


def test_name_is_refused_on_a_person_account_and_last_name_is_required(persons):
    sf = client(persons)
    person = person_type(persons)
    assert refusal(lambda: sf.Account.create({"RecordTypeId": person, "Name": "Nora N", "LastName": "N"})) == (
        NAME_REFUSED
    )
    assert refusal(lambda: sf.Account.create({"RecordTypeId": person, "FirstName": "Nora"})) == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]
    pat = persons.profiles_info()["accounts"]["Pat Person"]
    assert refusal(lambda: sf.Account.update(pat, {"Name": "Patricia Person"})) == NAME_REFUSED
    assert refusal(lambda: sf.Account.update(pat, {"LastName": ""}))[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT Id FROM Account WHERE FirstName = 'Nora'")["totalSize"] == 0  # nothing half-made


def test_a_business_account_takes_no_person_fields(persons):
    sf = client(persons)
    business = persons.profiles_info()["record_types"]["Account.Business_Account"]
    created = sf.Account.create({"Name": "Nouveau SARL", "Phone": "+33 1 00 00 00 00"})
    account = sf.Account.get(created["id"])
    assert (account["RecordTypeId"], account["IsPersonAccount"], account["PersonContactId"]) == (business, False, None)
    assert refusal(lambda: sf.Account.create({"Name": "X SARL", "LastName": "X", "PersonEmail": "x@x.example"})) == [
        {
            "message": "Account: bad field names on insert/update call: LastName, PersonEmail",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": ["LastName", "PersonEmail"],
        }
    ]
    assert refusal(lambda: sf.Account.update(created["id"], {"PersonMobilePhone": "1"}))[0]["message"] == (
        "Account: bad field names on insert/update call: PersonMobilePhone"
    )
    assert refusal(lambda: sf.Account.create({"Phone": "1"}))[0]["fields"] == ["Name"]  # still required


def test_no_contact_is_linked_to_a_person_account(persons):
    sf = client(persons)
    pat = persons.profiles_info()["accounts"]["Pat Person"]
    linked = [
        {
            "message": "You can't link a contact to a Person Account.",
            "errorCode": "FIELD_INTEGRITY_EXCEPTION",
            "fields": ["AccountId"],
        }
    ]
    assert refusal(lambda: sf.Contact.create({"LastName": "Extra", "AccountId": pat})) == linked
    john = one(sf, "SELECT Id FROM Contact WHERE Email = 'john.smith@globex.example'")["Id"]
    assert refusal(lambda: sf.Contact.update(john, {"AccountId": pat})) == linked
    acme = one(sf, "SELECT Id FROM Account WHERE Name = 'Acme Corporation'")["Id"]
    assert sf.Contact.create({"LastName": "Employee", "AccountId": acme})["success"]  # business accounts take them


def test_a_task_names_a_person_by_the_person_contact_not_the_account(persons):
    sf = client(persons)
    info = persons.profiles_info()
    pat = info["accounts"]["Pat Person"]
    assert refusal(lambda: sf.Task.create({"Subject": "Chat", "WhoId": pat})) == [
        {
            "message": f"Name ID: id value of incorrect type: {pat}",
            "errorCode": "FIELD_INTEGRITY_EXCEPTION",
            "fields": ["WhoId"],
        }
    ]
    task = sf.Task.create({"Subject": "Chat", "WhoId": info["person_contacts"]["Pat Person"], "WhatId": pat})
    assert refusal(lambda: sf.Task.update(task["id"], {"WhoId": pat}))[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_person_fields_change_on_both_sides(persons):
    sf = client(persons)
    info = persons.profiles_info()
    pat, contact_id = info["accounts"]["Pat Person"], info["person_contacts"]["Pat Person"]
    sf.Account.update(pat, {"PersonEmail": "pat@new.example", "FirstName": "Patricia", "Phone": "+1 212 555 0100"})
    contact = sf.Contact.get(contact_id)
    assert (contact["Email"], contact["Name"], contact["Phone"]) == (
        "pat@new.example",
        "Patricia Person",
        "+1 212 555 0100",
    )
    sf.Contact.update(contact_id, {"MobilePhone": "+1 212 555 0199", "LastName": "Personne"})
    account = sf.Account.get(pat)
    assert (account["PersonMobilePhone"], account["LastName"], account["Name"]) == (
        "+1 212 555 0199",
        "Personne",
        "Patricia Personne",
    )
    assert one(sf, "SELECT Id FROM Contact WHERE Email = 'pat@new.example'")["Id"] == contact_id
    assert refusal(lambda: sf.Contact.update(contact_id, {"AccountId": None})) == [
        {
            "message": "Account: bad field names on insert/update call: AccountId",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": ["AccountId"],
        }
    ]
    assert refusal(lambda: sf.Contact.update(contact_id, {"IsPersonAccount": False}))[0]["errorCode"] == (
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    )


def test_the_person_contact_keeps_its_record_type_and_goes_only_with_its_account(persons):
    info = persons.set_profiles(["person-accounts", "record-types"])
    sf = client(persons)
    pat, contact_id = info["accounts"]["Pat Person"], info["person_contacts"]["Pat Person"]
    customer = info["record_types"]["Contact.Customer"]
    assert refusal(lambda: sf.Contact.update(contact_id, {"RecordTypeId": customer})) == [
        {
            "message": "insufficient access rights on object id",
            "errorCode": "INSUFFICIENT_ACCESS_OR_READONLY",
            "fields": [],
        }
    ]
    assert refusal(lambda: sf.Contact.delete(contact_id)) == [
        {"message": "cannot reference person contact", "errorCode": "INVALID_PERSON_ACCOUNT_OPERATION", "fields": []}
    ]
    assert refusal(
        lambda: sf.Account.update(pat, {"RecordTypeId": info["record_types"]["Account.Business_Account"], "Phone": "1"})
    ) == [
        {
            "message": "Cannot specify any additional fields when marrying or separating a Person-Account",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": [],
        }
    ]
    sf.Account.delete(pat)
    assert sf.query(f"SELECT Id FROM Contact WHERE Id = '{contact_id}'")["totalSize"] == 0


def test_required_contact_fields_are_required_on_a_person_account_as_their_pc_mirrors(persons):
    persons.set_profiles(["person-accounts", "required-fields"])
    sf = client(persons)
    fields = {f["name"] for f in sf.Account.describe()["fields"]}
    assert {"Customer_Tier__pc", "Chat_Source__pc"} <= fields and "Customer_Tier__c" not in fields
    person = person_type(persons)
    assert refusal(lambda: sf.Account.create({"RecordTypeId": person, "LastName": "Tierless"})) == [
        {
            "message": "Required fields are missing: [Customer_Tier__pc]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Customer_Tier__pc"],
        }
    ]
    created = sf.Account.create(
        {"RecordTypeId": person, "LastName": "Tiered", "Customer_Tier__pc": "Gold", "Chat_Source__pc": "Widget"}
    )
    contact = sf.Contact.get(sf.Account.get(created["id"])["PersonContactId"])
    assert (contact["Customer_Tier__c"], contact["Chat_Source__c"]) == ("Gold", "Widget")
    assert refusal(lambda: sf.Account.create({"Name": "Biz", "Chat_Source__pc": "x"}))[0]["message"] == (
        "Account: bad field names on insert/update call: Chat_Source__pc"
    )


def test_the_contact_duplicate_rule_matches_a_person_contact(persons):
    info = persons.set_profiles(["person-accounts", "duplicate-rules"])
    sf = client(persons)
    dupe = refusal(lambda: sf.Contact.create({"LastName": "Person", "Email": PAT_EMAIL}))[0]
    [match] = dupe["duplicateResut"]["matchResults"]
    assert (match["entityType"], match["matchRecords"][0]["record"]["Id"]) == (
        "Contact",
        info["person_contacts"]["Pat Person"],
    )


def test_field_security_on_a_contact_field_is_its_person_fields_too(persons):
    persons.set_profiles(["person-accounts", "field-access"])
    sf = client(persons)
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert "PersonTitle" not in fields and "PersonMailingCity" not in fields and "PersonEmail" in fields
    assert not fields["PersonDepartment"]["updateable"]
    error = refusal(lambda: sf.query("SELECT PersonTitle FROM Account"))[0]
    assert (
        error["errorCode"] == "INVALID_FIELD" and "No such column 'PersonTitle' on entity 'Account'" in error["message"]
    )


def test_a_failed_composite_takes_the_person_contact_back_with_its_account(persons):
    sf = client(persons)
    person = person_type(persons)
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Account",
                    "referenceId": "person",
                    "body": {"RecordTypeId": person, "LastName": "Rolledback", "PersonEmail": "rb@example.com"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Task",
                    "referenceId": "task",
                    "body": {"Subject": "Chat", "WhoId": "@{person.id}"},
                },
            ],
        },
    )["compositeResponse"]
    assert [a["httpStatusCode"] for a in answer] == [400, 400]
    assert answer[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert answer[1]["body"][0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert sf.query("SELECT Id FROM Contact WHERE Email = 'rb@example.com'")["totalSize"] == 0
    assert sf.query("SELECT Id FROM Account WHERE LastName = 'Rolledback'")["totalSize"] == 0


def test_a_note_is_linked_to_the_person_account_not_its_person_contact(persons):
    sf = client(persons)
    info = persons.profiles_info()
    note = sf.ContentNote.create({"Title": "Chat transcript", "Content": "PHA+SGk8L3A+"})  # <p>Hi</p>
    link = {"ContentDocumentId": note["id"], "ShareType": "I", "Visibility": "AllUsers"}
    assert refusal(
        lambda: sf.ContentDocumentLink.create({**link, "LinkedEntityId": info["person_contacts"]["Pat Person"]})
    ) == [{"message": "cannot reference person contact", "errorCode": "INVALID_PERSON_ACCOUNT_OPERATION", "fields": []}]
    assert sf.ContentDocumentLink.create({**link, "LinkedEntityId": info["accounts"]["Pat Person"]})["success"]


# -- encrypted-email ----------------------------------------------------------------------------
@pytest.fixture
def shield(org):
    org.set_profiles(["encrypted-email"])
    return org


def not_filterable(column: int, name: str, query: str, verb: str = "filtered") -> str:
    article = "a " if verb == "sorted" else ""
    return f"\n{query}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\nfield '{name}' can not be {verb} in {article}query call"


def test_encrypted_email_is_described_unfilterable(shield):
    sf = client(shield)
    for sobject in ("Contact", "Lead"):
        fields = {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}
        email = fields["Email"]
        assert (email["encrypted"], email["filterable"], email["sortable"], email["type"]) == (
            True,
            False,
            False,
            "email",
        )
        assert fields["LastName"]["encrypted"] is False and fields["LastName"]["filterable"]
    account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert account["Name"]["encrypted"] is False


def test_a_query_filtering_or_sorting_on_an_encrypted_email_is_refused(shield):
    sf = client(shield)
    where = "SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'"
    assert refusal(lambda: sf.query(where)) == [
        {"message": not_filterable(where.index("Email") + 1, "Email", where), "errorCode": "INVALID_FIELD"}
    ]
    order = "SELECT Id FROM Lead ORDER BY Email"
    assert refusal(lambda: sf.query(order)) == [
        {"message": not_filterable(order.index("Email") + 1, "Email", order, "sorted"), "errorCode": "INVALID_FIELD"}
    ]
    for soql in (
        "SELECT Id FROM Lead WHERE Email LIKE '%example.com'",
        "SELECT Id FROM Contact WHERE Email IN ('a@b.example')",
        "SELECT Id FROM Case WHERE Contact.Email = 'jane.doe@example.com'",
    ):
        assert (
            "field 'Email' can not be filtered in query call" in refusal(lambda soql=soql: sf.query(soql))[0]["message"]
        )


def test_an_encrypted_email_is_read_in_clear_and_found_by_sosl(shield):
    sf = client(shield)
    jane = one(sf, "SELECT Id, Email FROM Contact WHERE LastName = 'Doe'")
    assert jane["Email"] == "jane.doe@example.com"
    found = sf.search(
        "FIND {jane.doe@example.com} IN EMAIL FIELDS RETURNING Contact(Id, Name, Email), Lead(Id, Name, Email)"
    )["searchRecords"]
    assert [(r["attributes"]["type"], r["Id"], r["Email"]) for r in found] == [
        ("Contact", jane["Id"], "jane.doe@example.com")
    ]
    lead = sf.search("FIND {lee.lead@example.com} IN EMAIL FIELDS RETURNING Contact(Id), Lead(Id, Email)")
    assert [(r["attributes"]["type"], r["Email"]) for r in lead["searchRecords"]] == [("Lead", "lee.lead@example.com")]
    created = sf.Contact.create({"LastName": "Crypt", "Email": "crypt@example.com"})
    assert sf.Contact.get(created["id"])["Email"] == "crypt@example.com"


def test_person_email_is_encrypted_with_person_accounts(shield):
    shield.set_profiles(["encrypted-email", "person-accounts"])
    sf = client(shield)
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert fields["PersonEmail"]["encrypted"] and not fields["PersonEmail"]["filterable"]
    query = f"SELECT Id FROM Account WHERE PersonEmail = '{PAT_EMAIL}'"
    assert "field 'PersonEmail' can not be filtered in query call" in refusal(lambda: sf.query(query))[0]["message"]
    found = sf.search(f"FIND {{{PAT_EMAIL}}} IN EMAIL FIELDS RETURNING Account(Id, PersonEmail)")["searchRecords"]
    assert [r["PersonEmail"] for r in found] == [PAT_EMAIL]


# -- no-api -------------------------------------------------------------------------------------
def test_an_org_without_api_access_mints_tokens_and_refuses_every_rest_call(org):
    org.set_profiles(["no-api"])
    token = org.token()
    assert token["access_token"] and token["instance_url"] == org.url
    identity = org.http.get(token["id"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert identity.status_code == 200 and identity.json()["username"] == "integration@example.com"
    assert org.http.get(org.url + "/services/data/", timeout=10).status_code == 200  # the versions list
    sf = Salesforce(instance_url=org.url, session_id=token["access_token"], version="59.0", session=org.http)
    calls = [
        lambda: sf.query("SELECT Id FROM Contact"),
        lambda: sf.Contact.create({"LastName": "X"}),
        lambda: sf.Contact.describe(),
        lambda: sf.describe(),
        lambda: sf.search("FIND {jane} RETURNING Contact(Id)"),
        lambda: sf.limits(),
        lambda: sf.restful("composite", method="POST", json={"compositeRequest": []}),
        lambda: sf.restful("ui-api/object-info/Case/picklist-values/012000000000000AAA"),
    ]
    for call in calls:
        with pytest.raises(SalesforceRefusedRequest) as exc:
            call()
        assert exc.value.status == 403 and exc.value.content == API_DISABLED
    assert org.http.get(org.url + "/_sim/calls", timeout=10).json()["api_used"] == 0


# -- each profile off: the plain org ------------------------------------------------------------
def describes(sf: Salesforce) -> dict:
    return {name: getattr(sf, name).describe() for name in ("Account", "Contact", "Lead", "Task", "RecordType")}


def test_each_new_profile_turned_off_leaves_the_plain_org_as_it_was(org):
    sf = client(org)
    plain, accounts = describes(sf), sf.query("SELECT Id, Name FROM Account ORDER BY Name")["records"]
    assert "IsPersonAccount" not in {f["name"] for f in plain["Account"]["fields"]}
    assert all("encrypted" not in f for f in plain["Contact"]["fields"])
    for name in FEATURES:
        org.set_profiles([name])
        org.set_profiles([])
        sf = client(org)
        assert describes(sf) == plain, name
        assert sf.query("SELECT Id, Name FROM Account ORDER BY Name")["records"] == accounts, name
        assert sf.query("SELECT Id FROM RecordType")["totalSize"] == 0
        assert sf.query("SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'")["totalSize"] == 1
    account = accounts[0]["Id"]
    assert refusal(lambda: sf.Task.create({"Subject": "X", "WhoId": account}))[0]["errorCode"] == (
        "INVALID_CROSS_REFERENCE_KEY"  # the plain org answers as it always has
    )


def test_all_leaves_the_consumer_profiles_off_and_takes_them_by_name(org):
    assert org.set_profiles(["all"])["profiles"] == sorted(NAMES)
    both = org.set_profiles(["all", "person-accounts", "encrypted-email"])
    assert both["profiles"] == sorted((*NAMES, "person-accounts", "encrypted-email"))
    assert {"Account.PersonAccount", "Case.Support"} <= set(both["record_types"])
    assert set(both["accounts"]) == {"Web Visitors", "Pat Person"}
    sf = client(org)
    assert one(sf, "SELECT Name FROM Account WHERE IsPersonAccount = true")["Name"] == "Pat Person"


def test_the_command_line_starts_a_person_account_org(start_sf_sim):
    sim = start_sf_sim("demo", profiles=("person-accounts", "encrypted-email"))
    info = sim.profiles_info()
    assert info["profiles"] == ["encrypted-email", "person-accounts"] and "Pat Person" in info["person_contacts"]
    sf = client(sim)
    assert one(sf, "SELECT Name, PersonEmail FROM Account WHERE IsPersonAccount = true")["PersonEmail"] == PAT_EMAIL
