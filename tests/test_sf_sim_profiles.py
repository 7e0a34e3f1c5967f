"""Org profiles of the Salesforce simulator: the controls that pick them, the plain org they leave
alone, and the `field-access` and `required-fields` customisations, driven over HTTPS through
simple-salesforce as a client we did not write."""

from __future__ import annotations

import pytest
from sf_profile_helpers import client, refusal
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from simulators.salesforce.profiles import NAMES

TAIL = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
READ_ONLY = (
    "Unable to create/update fields: Department. Please check the security settings of this field and verify "
    "that it is read/write for your profile or permission set."
)


@pytest.fixture
def plain(demo_org):
    return demo_org


@pytest.fixture
def org(demo_org):
    """A demo org with PROFILES switched on by the test (`org.set_profiles([...])`)."""
    return demo_org


def jane(sf: Salesforce) -> str:
    return sf.query("SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'")["records"][0]["Id"]


# -- the plain org --------------------------------------------------------------------------
def test_the_plain_org_is_unchanged(plain):
    sf = client(plain)
    row = sf.query("SELECT Id, Title, LeadSource, MailingCity FROM Contact WHERE Email = 'jane.doe@example.com'")
    assert row["records"][0]["Title"] == "Operations Manager" and row["records"][0]["MailingCity"] == "San Francisco"
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert fields["Title"]["createable"] and fields["Department"]["updateable"]
    assert "Customer_Tier__c" not in fields and "RecordTypeId" not in fields
    created = sf.Contact.create(
        {"LastName": "Plain", "Title": "CTO", "Department": "IT", "Email": "jane.doe@example.com"}
    )
    assert sf.Contact.get(created["id"])["Title"] == "CTO"  # no duplicate rule, Title writable
    case = sf.Case.create({"Subject": "Plain case", "Priority": "Urgent"})  # standard picklists are unrestricted
    stored = sf.Case.get(case["id"])
    assert stored["OwnerId"] == plain.profiles_info()["integration_user"]["id"] and "RecordTypeId" not in stored
    assert sf.query("SELECT Id FROM RecordType")["totalSize"] == 0
    assert sf.query("SELECT Id FROM Group WHERE Type = 'Queue'")["totalSize"] == 0
    users = sf.query("SELECT Id, Username, IsActive FROM User")["records"]
    assert [(u["Username"], u["IsActive"]) for u in users] == [("integration@example.com", True)]


def test_custom_fields_do_not_exist_without_their_profile(plain):
    sf = client(plain)
    assert refusal(lambda: sf.Contact.create({"LastName": "X", "Customer_Tier__c": "Gold"})) == [
        {"message": "No such column 'Customer_Tier__c' on sobject of type Contact", "errorCode": "INVALID_FIELD"}
    ]
    error = refusal(lambda: sf.query("SELECT Id, Product__c FROM Case"))[0]
    assert error["errorCode"] == "INVALID_FIELD" and "No such column 'Product__c' on entity 'Case'" in error["message"]


# -- controls -------------------------------------------------------------------------------
def test_profiles_are_switched_at_run_time_and_report_what_they_seeded(org):
    info = org.set_profiles(["assignment-rules"])
    assert info["profiles"] == ["assignment-rules"] and info["effective"] == ["assignment-rules", "users"]
    queue = info["queues"]["Support Queue"]
    assert queue.startswith("00G") and len(queue) == 18
    assert all(uid.startswith("005") and len(uid) == 18 for uid in info["users"].values())
    assert info["usernames"]["dave"] == "dave@acme.example" and info["accounts"]["Web Visitors"].startswith("001")
    assert org.profiles_info() == info
    off = org.set_profiles([])
    assert off["profiles"] == [] and off["users"] == {} and off["queues"] == {}
    sf = client(org)
    assert sf.query("SELECT Id FROM Group")["totalSize"] == 0 and sf.query("SELECT Id FROM User")["totalSize"] == 1
    again = org.set_profiles(["users"])
    assert again["accounts"] == info["accounts"]  # the default account is made once
    assert sf.query("SELECT Id FROM Account WHERE Name = 'Web Visitors'")["totalSize"] == 1


def test_all_turns_every_profile_on_and_an_unknown_name_is_refused(org):
    assert org.set_profiles(["all"])["profiles"] == sorted(NAMES)
    resp = org.http.post(org.url + "/_sim/profiles", json={"profiles": ["nope"]}, timeout=10)
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "INVALID_INPUT"
    assert org.profiles_info()["profiles"] == sorted(NAMES)  # a refused switch changes nothing


def test_a_reset_keeps_the_profiles_and_seeds_them_again(org):
    before = org.set_profiles(["users", "record-types"])
    org.reset("demo")
    after = org.profiles_info()
    assert after["profiles"] == ["record-types", "users"]
    assert set(after["users"]) == set(before["users"]) and set(after["record_types"]) == {
        "Case.Support",
        "Case.Billing",
        "Contact.Customer",
    }
    dave = client(org, sub="dave@acme.example")  # the reset store knows the colleague again
    assert dave.query("SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'")["totalSize"] == 1
    assert dave.query("SELECT Id FROM RecordType")["totalSize"] == 3


def test_the_command_line_flag_starts_a_customised_demo_org(start_sf_sim):
    sim = start_sf_sim("demo", profiles=("field-access", "users"))
    info = sim.profiles_info()
    assert info["profiles"] == ["field-access", "users"] and "dave" in info["users"]
    sf = client(sim)
    assert sf.query("SELECT Id FROM Contact WHERE Email = 'jane.doe@example.com'")["totalSize"] == 1  # demo seed intact
    assert "Title" not in {f["name"] for f in sf.Contact.describe()["fields"]}


def test_every_profile_at_once_keeps_the_demo_seed(start_sf_sim):
    sim = start_sf_sim("demo", profiles=("all",))
    assert sim.profiles_info()["profiles"] == sorted(NAMES)
    sf = client(sim)
    cases = sf.query("SELECT Id, CaseNumber, Subject FROM Case ORDER BY CaseNumber")["records"]
    assert len(cases) == 6 and cases[0]["CaseNumber"] == "00001001"
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 2


# -- field-access ---------------------------------------------------------------------------
def test_describe_leaves_out_hidden_fields_and_marks_read_only_ones(org):
    org.set_profiles(["field-access"])
    sf = client(org)
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    hidden = {"Title", "LeadSource", "MailingStreet", "MailingCity", "MailingState", "MailingPostalCode"}
    assert not hidden & set(fields) and "MailingCountry" not in fields
    assert (fields["Department"]["createable"], fields["Department"]["updateable"]) == (False, False)
    assert fields["Email"]["createable"] and fields["Email"]["updateable"]
    assert "Title" not in {f["name"] for f in sf.Lead.describe()["fields"]}


@pytest.mark.parametrize(
    "soql,column,name,entity",
    [
        ("SELECT Id, Title FROM Contact", 12, "Title", "Contact"),
        ("SELECT Id FROM Contact WHERE MailingCity = 'Paris'", 30, "MailingCity", "Contact"),
        ("SELECT Id FROM Contact ORDER BY LeadSource", 33, "LeadSource", "Contact"),
        ("SELECT Id, Title FROM Lead", 12, "Title", "Lead"),
        ("SELECT Id, Contact.Title FROM Case", 12, "Title", "Contact"),
    ],
)
def test_soql_naming_a_hidden_field_fails_as_for_a_field_that_does_not_exist(org, soql, column, name, entity):
    org.set_profiles(["field-access"])
    assert refusal(lambda: client(org).query(soql)) == [
        {
            "message": f"\n{soql}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n"
            f"No such column '{name}' on entity '{entity}'. {TAIL}",
            "errorCode": "INVALID_FIELD",
        }
    ]


def test_sosl_returning_a_hidden_field_fails_and_hidden_values_are_not_searched(org):
    org.set_profiles(["field-access"])
    sf = client(org)
    sosl = "FIND {Doe} IN ALL FIELDS RETURNING Contact(Id, Title)"
    error = refusal(lambda: sf.search(sosl))[0]
    assert error["errorCode"] == "INVALID_FIELD"
    caret = " " * sosl.index("Title") + "^"
    assert (
        error["message"]
        == f"\n{sosl}\n{caret}\nERROR at Row:1:Column:48\nNo such column 'Title' on entity 'Contact'. {TAIL}"
    )
    found = sf.search("FIND {Operations Manager} IN ALL FIELDS RETURNING Contact(Id, Email)")["searchRecords"]
    assert found == []  # Jane's Title says it, but the integration user cannot see Title


def test_writes_naming_hidden_or_read_only_fields_are_refused(org):
    org.set_profiles(["field-access"])
    sf = client(org)
    assert refusal(lambda: sf.Contact.create({"LastName": "X", "Title": "CEO"})) == [
        {"message": "No such column 'Title' on sobject of type Contact", "errorCode": "INVALID_FIELD"}
    ]
    assert refusal(lambda: sf.Contact.update(jane(sf), {"MailingCity": "Paris"})) == [
        {"message": "No such column 'MailingCity' on sobject of type Contact", "errorCode": "INVALID_FIELD"}
    ]
    expected = [{"message": READ_ONLY, "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["Department"]}]
    assert refusal(lambda: sf.Contact.create({"LastName": "X", "Department": "Sales"})) == expected
    assert refusal(lambda: sf.Contact.update(jane(sf), {"Department": "Sales"})) == expected
    assert sf.Contact.create({"LastName": "Allowed", "Email": "allowed@example.com"})["success"]


def test_composite_subrequests_meet_the_same_field_security(org):
    org.set_profiles(["field-access"])
    sf = client(org)
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Contact",
                "referenceId": "ok",
                "body": {"LastName": "A"},
            },
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Contact",
                "referenceId": "bad",
                "body": {"LastName": "B", "Department": "Sales"},
            },
        ],
    }
    answer = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert answer[1]["httpStatusCode"] == 400
    assert answer[1]["body"] == [
        {"message": READ_ONLY, "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["Department"]}
    ]
    assert answer[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    got = sf.restful(
        "composite",
        method="POST",
        json={
            "compositeRequest": [
                {"method": "GET", "url": f"/services/data/v59.0/sobjects/Contact/{jane(sf)}", "referenceId": "read"}
            ]
        },
    )["compositeResponse"][0]
    assert got["httpStatusCode"] == 200 and "Title" not in got["body"] and got["body"]["LastName"] == "Doe"


def test_a_record_read_leaves_out_hidden_fields_and_names_one_as_missing(org):
    org.set_profiles(["field-access"])
    sf = client(org)
    record = sf.Contact.get(jane(sf))
    assert record["LastName"] == "Doe" and "Department" in record
    assert not {"Title", "LeadSource", "MailingCity"} & set(record)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful(f"sobjects/Contact/{jane(sf)}", params={"fields": "Id,Title"})
    assert exc.value.content[0]["message"] == "No such column 'Title' on sobject of type Contact"


def test_field_security_is_the_integration_users_not_a_colleagues(org):
    org.set_profiles(["field-access", "users"])
    dave = client(org, sub="dave@acme.example")
    assert "Title" in {f["name"] for f in dave.Contact.describe()["fields"]}
    row = dave.query("SELECT Title FROM Contact WHERE Email = 'jane.doe@example.com'")["records"][0]
    assert row["Title"] == "Operations Manager"


# -- required-fields ------------------------------------------------------------------------
def test_describe_shows_the_required_and_optional_custom_fields(org):
    org.set_profiles(["required-fields"])
    sf = client(org)
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    tier = contact["Customer_Tier__c"]
    assert (tier["type"], tier["nillable"], tier["createable"], tier["defaultedOnCreate"], tier["custom"]) == (
        "picklist",
        False,
        True,
        False,
        True,
    )
    assert tier["restrictedPicklist"] and [v["value"] for v in tier["picklistValues"]] == ["Gold", "Silver", "Bronze"]
    source = contact["Chat_Source__c"]
    assert (source["type"], source["length"], source["nillable"], source["custom"]) == ("string", 40, True, True)
    product = {f["name"]: f for f in sf.Case.describe()["fields"]}["Product__c"]
    assert (product["type"], product["length"], product["nillable"], product["custom"]) == ("string", 80, False, True)


def test_an_insert_without_a_required_custom_field_is_refused(org):
    org.set_profiles(["required-fields"])
    sf = client(org)
    assert refusal(lambda: sf.Contact.create({"LastName": "Tierless"})) == [
        {
            "message": "Required fields are missing: [Customer_Tier__c]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Customer_Tier__c"],
        }
    ]
    assert refusal(lambda: sf.Case.create({"Subject": "No product"})) == [
        {
            "message": "Required fields are missing: [Product__c]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Product__c"],
        }
    ]
    assert refusal(lambda: sf.Contact.create({"LastName": "X", "Customer_Tier__c": "Platinum"})) == [
        {
            "message": "Customer Tier: bad value for restricted picklist field: Platinum",
            "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "fields": ["Customer_Tier__c"],
        }
    ]


def test_required_custom_fields_present_save_and_read_back(org):
    org.set_profiles(["required-fields"])
    sf = client(org)
    created = sf.Contact.create({"LastName": "Tiered", "Customer_Tier__c": "Gold", "Chat_Source__c": "Rocket.Chat"})
    row = sf.query(f"SELECT Customer_Tier__c, Chat_Source__c FROM Contact WHERE Id = '{created['id']}'")["records"][0]
    assert (row["Customer_Tier__c"], row["Chat_Source__c"]) == ("Gold", "Rocket.Chat")
    assert sf.Case.create({"Subject": "With product", "Product__c": "Widget"})["success"]
    sf.Contact.update(jane(sf), {"Phone": "555-0100"})  # records made before the field existed stay editable


def test_a_composite_write_missing_a_required_field_rolls_back(org):
    org.set_profiles(["required-fields"])
    sf = client(org)
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Contact",
                    "referenceId": "contact",
                    "body": {"LastName": "Chatter"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Task",
                    "referenceId": "task",
                    "body": {"Subject": "Chat transcript", "WhoId": "@{contact.id}"},
                },
            ],
        },
    )["compositeResponse"]
    assert answer[0]["httpStatusCode"] == 400 and answer[0]["body"][0]["fields"] == ["Customer_Tier__c"]
    assert answer[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT Id FROM Contact WHERE LastName = 'Chatter'")["totalSize"] == 0
