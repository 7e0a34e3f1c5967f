"""The `record-types` profile of the Salesforce simulator and the UI API picklist-values resource,
over HTTPS through simple-salesforce."""

from __future__ import annotations

import pytest
from sf_profile_helpers import client, refusal
from simple_salesforce.exceptions import SalesforceResourceNotFound

MASTER = "012000000000000AAA"
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.fixture
def org(demo_org):
    demo_org.set_profiles(["record-types"])
    return demo_org


@pytest.fixture
def plain(demo_org):
    return demo_org


def record_types(sim) -> dict[str, str]:
    return sim.profiles_info()["record_types"]


def value(v: str) -> dict:
    return {"attributes": None, "label": v, "validFor": [], "value": v}


def test_record_types_are_queryable_rows(org):
    rows = client(org).query(
        "SELECT Id, DeveloperName, Name, SobjectType, IsActive FROM RecordType WHERE SobjectType = 'Case' ORDER BY Name"
    )["records"]
    assert [(r["DeveloperName"], r["Name"], r["SobjectType"], r["IsActive"]) for r in rows] == [
        ("Billing", "Billing", "Case", True),
        ("Support", "Support", "Case", True),
    ]
    assert all(r["Id"].startswith("012") and len(r["Id"]) == 18 for r in rows)
    assert {r["Id"] for r in rows} == {record_types(org)["Case.Support"], record_types(org)["Case.Billing"]}
    contact = client(org).query("SELECT DeveloperName FROM RecordType WHERE SobjectType = 'Contact'")["records"]
    assert [r["DeveloperName"] for r in contact] == ["Customer"]


def test_case_describe_lists_record_types_and_the_union_of_their_values(org):
    described = client(org).Case.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["RecordTypeId"]["type"] == "reference" and fields["RecordTypeId"]["referenceTo"] == ["RecordType"]
    infos = {i["developerName"]: i for i in described["recordTypeInfos"]}
    assert set(infos) == {"Billing", "Support", "Master"}
    assert infos["Billing"]["defaultRecordTypeMapping"] and not infos["Support"]["defaultRecordTypeMapping"]
    assert infos["Support"]["available"] and infos["Support"]["recordTypeId"] == record_types(org)["Case.Support"]
    assert infos["Master"] == {
        "active": True,
        "available": False,
        "defaultRecordTypeMapping": False,
        "developerName": "Master",
        "master": True,
        "name": "Master",
        "recordTypeId": MASTER,
        "urls": {"layout": f"/services/data/v59.0/sobjects/Case/describe/layouts/{MASTER}"},
    }
    values = {name: [v["value"] for v in fields[name]["picklistValues"]] for name in ("Priority", "Type", "Reason")}
    assert values == {
        "Priority": ["High", "Medium", "Low"],
        "Type": ["Problem", "Question", "Billing Question", "Refund"],
        "Reason": ["Installation", "Performance", "Breakdown", "Invoice", "Payment"],
    }
    assert all(fields[name]["restrictedPicklist"] for name in values)


def test_a_case_saved_without_a_record_type_gets_the_integration_users_wrong_default(org):
    sf = client(org)
    billing, support = record_types(org)["Case.Billing"], record_types(org)["Case.Support"]
    default = sf.Case.create({"Subject": "From a chat"})
    assert sf.Case.get(default["id"])["RecordTypeId"] == billing
    chosen = sf.Case.create({"Subject": "From a chat", "RecordTypeId": support, "Priority": "High", "Type": "Problem"})
    assert sf.Case.get(chosen["id"])["RecordTypeId"] == support
    contact = sf.Contact.create({"LastName": "Typed"})
    assert sf.Contact.get(contact["id"])["RecordTypeId"] == record_types(org)["Contact.Customer"]


def test_a_colleagues_default_is_support(org):
    org.set_profiles(["record-types", "users"])
    dave = client(org, sub="dave@acme.example")
    created = dave.Case.create({"Subject": "Agent's case"})
    assert dave.Case.get(created["id"])["RecordTypeId"] == record_types(org)["Case.Support"]
    infos = {i["developerName"]: i["defaultRecordTypeMapping"] for i in dave.Case.describe()["recordTypeInfos"]}
    assert infos == {"Support": True, "Billing": False, "Master": False}


@pytest.mark.parametrize(
    "fields,label,name,bad",
    [
        ({"Priority": "High"}, "Priority", "Priority", "High"),  # in the union, not in Billing
        ({"Type": "Problem"}, "Case Type", "Type", "Problem"),
        ({"Reason": "Breakdown"}, "Case Reason", "Reason", "Breakdown"),
        ({"Priority": "Urgent"}, "Priority", "Priority", "Urgent"),  # in no record type at all
    ],
)
def test_a_value_outside_the_records_record_type_is_refused(org, fields, label, name, bad):
    assert refusal(lambda: client(org).Case.create({"Subject": "Billing case", **fields})) == [
        {
            "message": f"{label}: bad value for restricted picklist field: {bad}",
            "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "fields": [name],
        }
    ]


def test_updates_are_checked_against_the_records_record_type(org):
    sf = client(org)
    support = sf.Case.create({"Subject": "Broken", "RecordTypeId": record_types(org)["Case.Support"]})["id"]
    assert refusal(lambda: sf.Case.update(support, {"Reason": "Invoice"}))[0]["fields"] == ["Reason"]
    sf.Case.update(support, {"Reason": "Breakdown", "Priority": "High"})
    billing = sf.Case.create({"Subject": "Invoice", "Type": "Refund", "Reason": "Invoice"})["id"]
    sf.Case.update(billing, {"Reason": "Payment"})
    row = sf.query(f"SELECT Reason, Type FROM Case WHERE Id = '{billing}'")["records"][0]
    assert (row["Reason"], row["Type"]) == ("Payment", "Refund")


def test_a_record_type_the_user_may_not_use_is_an_invalid_cross_reference(org):
    sf = client(org)
    for wrong in (record_types(org)["Contact.Customer"], MASTER):
        assert refusal(lambda wrong=wrong: sf.Case.create({"Subject": "X", "RecordTypeId": wrong})) == [
            {
                "message": f"Record Type ID: this ID value isn't valid for the user: {wrong}",
                "errorCode": "INVALID_CROSS_REFERENCE_KEY",
                "fields": ["RecordTypeId"],
            }
        ]


def test_the_record_type_applies_in_composite_subrequests(org):
    sf = client(org)
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Case",
                    "referenceId": "bad",
                    "body": {"Subject": "Chat", "Priority": "High"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Case",
                    "referenceId": "good",
                    "body": {"Subject": "Chat", "Priority": "High", "RecordTypeId": record_types(org)["Case.Support"]},
                },
            ],
        },
    )["compositeResponse"]
    assert answer[0]["httpStatusCode"] == 400 and answer[0]["body"][0]["fields"] == ["Priority"]
    assert answer[1]["httpStatusCode"] == 201


# -- UI API picklist values -------------------------------------------------------------------
def test_picklist_values_of_a_record_type_have_the_ui_api_shape(org):
    support = record_types(org)["Case.Support"]
    body = client(org).restful(f"ui-api/object-info/Case/picklist-values/{support}")
    assert set(body) == {"eTag", "picklistFieldValues"} and isinstance(body["eTag"], str) and body["eTag"]
    picklists = body["picklistFieldValues"]
    assert {"Priority", "Type", "Reason", "Status", "Origin"} <= set(picklists)
    priority = picklists["Priority"]
    assert set(priority) == {"controllerValues", "defaultValue", "eTag", "url", "values"}
    assert priority["controllerValues"] == {} and priority["defaultValue"] == value("Medium")
    assert priority["url"] == f"/services/data/v59.0/ui-api/object-info/Case/picklist-values/{support}/Priority"
    assert priority["values"] == [value("High"), value("Medium"), value("Low")]
    assert picklists["Type"]["values"] == [value("Problem"), value("Question")]
    assert picklists["Type"]["defaultValue"] is None
    assert picklists["Reason"]["values"] == [value("Installation"), value("Performance"), value("Breakdown")]
    assert [v["value"] for v in picklists["Status"]["values"]] == ["New", "Working", "Escalated", "Closed"]


def test_billing_offers_its_own_values(org):
    billing = record_types(org)["Case.Billing"]
    picklists = client(org).restful(f"ui-api/object-info/Case/picklist-values/{billing}")["picklistFieldValues"]
    assert picklists["Priority"]["values"] == [value("Medium"), value("Low")]
    assert picklists["Type"]["values"] == [value("Billing Question"), value("Refund")]
    assert picklists["Reason"]["values"] == [value("Invoice"), value("Payment")]


def test_the_picklist_values_resource_counts_as_an_api_call(org):
    org.reset_calls()
    resp = org.http.get(
        f"{org.url}/services/data/v59.0/ui-api/object-info/Case/picklist-values/{MASTER}",
        headers={"Authorization": f"Bearer {org.token()['access_token']}"},
        timeout=10,
    )
    assert resp.status_code == 200 and resp.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert org.calls()["GET ui-api/object-info/Case/picklist-values/{recordTypeId}"] == 1
    unauthenticated = org.http.get(f"{org.url}/services/data/v59.0/ui-api/object-info/Case/picklist-values/{MASTER}")
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize("object_name,which", [("Case", "contact"), ("Case", "unknown"), ("Nope", "master")])
def test_an_unknown_record_type_or_object_is_not_found(org, object_name, which):
    rt = {"contact": record_types(org)["Contact.Customer"], "unknown": "0125g00000ZZZZZAAA", "master": MASTER}[which]
    with pytest.raises(SalesforceResourceNotFound) as exc:
        client(org).restful(f"ui-api/object-info/{object_name}/picklist-values/{rt}")
    assert exc.value.content == NOT_FOUND


def test_the_master_record_type_gives_describes_values_in_the_plain_org(plain):
    sf = client(plain)
    for sobject in ("Case", "Lead", "Account", "Contact"):
        picklists = sf.restful(f"ui-api/object-info/{sobject}/picklist-values/{MASTER}")["picklistFieldValues"]
        described = {f["name"]: f for f in getattr(sf, sobject).describe()["fields"] if f["type"] == "picklist"}
        assert set(picklists) == set(described)
        for name, entry in picklists.items():
            assert [v["value"] for v in entry["values"]] == [v["value"] for v in described[name]["picklistValues"]]
    case = sf.restful(f"ui-api/object-info/Case/picklist-values/{MASTER}")["picklistFieldValues"]
    assert case["Type"]["values"][0] == value("Mechanical") and case["Status"]["defaultValue"] == value("New")
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("ui-api/object-info/Case/picklist-values/0125g00000ZZZZZAAA")
    assert refusal(lambda: sf.Case.create({"Subject": "X", "RecordTypeId": MASTER})) == [
        {"message": "No such column 'RecordTypeId' on sobject of type Case", "errorCode": "INVALID_FIELD"}
    ]
    infos = sf.Case.describe()["recordTypeInfos"]
    assert [(i["recordTypeId"], i["master"], i["defaultRecordTypeMapping"]) for i in infos] == [(MASTER, True, True)]


def test_hidden_picklists_are_left_out_of_the_ui_api(org):
    customer = record_types(org)["Contact.Customer"]
    path = f"ui-api/object-info/Contact/picklist-values/{customer}"
    assert "LeadSource" in client(org).restful(path)["picklistFieldValues"]
    org.set_profiles(["record-types", "field-access"])
    assert "LeadSource" not in client(org).restful(path)["picklistFieldValues"]
