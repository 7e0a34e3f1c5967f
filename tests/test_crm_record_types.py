"""Record types in the CRM core: RECORD_TYPES's record type (else the integration user's default) decides
the picklist values the bot offers, validates and defaults to, and the RecordTypeId its records carry;
`problems()` names what the org does not offer. Real HTTP against the simulated org's `record-types`
profile (Case Support / Billing, the integration user defaulting to Billing; Contact Customer), the
plain org for what stays as it was, and pure logic for what the simulator cannot show."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from sf_profile_helpers import client

from salesforce_omnichannel.crm.errors import CrmNotFound, CrmValidationError
from salesforce_omnichannel.crm.metadata import MetadataCache
from salesforce_omnichannel.crm.operations import Crm
from salesforce_omnichannel.crm.recordtypes import RecordTypes
from salesforce_omnichannel.crm.settings import SalesforceSettings

MASTER = "012000000000000AAA"
UI_CASE = "GET ui-api/object-info/Case/picklist-values/{recordTypeId}"
UI_CONTACT = "GET ui-api/object-info/Contact/picklist-values/{recordTypeId}"
DESCRIBE_CASE = "GET sobjects/Case/describe"
SUPPORT_TYPES = ["Problem", "Question"]


@pytest.fixture
def org(demo_org):
    demo_org.set_profiles(["record-types"])
    return demo_org


@pytest.fixture
def plain(demo_org):
    return demo_org


def ids(sim) -> dict[str, str]:
    return sim.profiles_info()["record_types"]


def crm_for(sim, **record_types: str) -> Crm:
    return Crm(sim.crm_settings(record_types=tuple(sorted(record_types.items()))))


def jane(crm: Crm) -> dict:
    return crm.find_contacts(email="jane.doe@example.com")[0].record


def stored(sim, sobject: str, record_id: str) -> dict:
    return next(r for r in sim.records(sobject) if r["Id"] == record_id)


# -- RECORD_TYPES names the record type ---------------------------------------------------------
def test_a_configured_record_type_gives_its_values_and_its_id(org):
    crm = crm_for(org, Case="Support")
    assert crm.valid_values("Case", "Type") == SUPPORT_TYPES  # describe's union also has Billing's
    assert crm.valid_values("Case", "Priority") == ["High", "Medium", "Low"]
    assert crm.valid_values("Case", "Reason") == ["Installation", "Performance", "Breakdown"]
    assert crm.record_type_id("Case") == ids(org)["Case.Support"]
    assert crm.record_type_id("Contact") is None  # not configured: none is sent
    union = [v["value"] for v in crm.metadata.field("Case", "Type")["picklistValues"]]
    assert set(union) == {"Problem", "Question", "Billing Question", "Refund"}


def test_create_case_carries_the_record_type_and_takes_its_defaults(org):
    crm = crm_for(org, Case="Support")
    contact = jane(crm)
    case = crm.create_case(contact["Id"], {"Subject": "Printer on fire", "Type": "problem"}, contact=contact)
    assert (case["Type"], case["Priority"], case["Status"], case["Origin"]) == ("Problem", "Medium", "New", "Chat")
    assert stored(org, "Case", case["Id"])["RecordTypeId"] == ids(org)["Case.Support"]
    case = crm.create_case(contact["Id"], {"Subject": "Urgent", "Priority": "High"}, contact=contact)
    assert case["Priority"] == "High"  # Support offers High, Billing would not


def test_a_value_outside_the_configured_record_type_is_refused_before_salesforce_is_asked(org):
    crm = crm_for(org, Case="Support")
    crm.valid_values("Case", "Type")
    org.reset_calls()
    with pytest.raises(CrmValidationError) as err:
        crm.create_case(None, {"Subject": "Money back", "Type": "Refund"})
    assert err.value.message == "'Refund' is not a valid Type for Support cases. Choose one of: Problem, Question."
    assert err.value.code == "BAD_PICKLIST_VALUE" and err.value.fields == ["Type"]
    assert "POST sobjects/Case" not in org.calls()


def test_a_configured_contact_record_type_is_carried_by_create_contact(org):
    crm = crm_for(org, Contact="Customer")
    assert crm.record_type_id("Contact") == ids(org)["Contact.Customer"]
    record = crm.create_contact({"LastName": "Typed", "Email": "typed@example.com", "LeadSource": "web"})
    assert record["LeadSource"] == "Web"
    assert stored(org, "Contact", record["Id"])["RecordTypeId"] == ids(org)["Contact.Customer"]


def test_the_record_type_id_serves_a_composite_contact_create(org):
    crm = crm_for(org, Contact="Customer")
    body = {"LastName": "Composite", "RecordTypeId": crm.record_type_id("Contact")}
    answer = client(org).restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact", "referenceId": "c", "body": body}
            ],
        },
    )["compositeResponse"]
    assert answer[0]["httpStatusCode"] == 201
    assert stored(org, "Contact", answer[0]["body"]["id"])["RecordTypeId"] == ids(org)["Contact.Customer"]


# -- no RECORD_TYPES entry on an org with record types ---------------------------------------------
def test_without_the_setting_validation_uses_the_integration_users_default(org):
    crm = crm_for(org)
    assert crm.record_types.in_use("Case").developer_name == "Billing"
    assert crm.valid_values("Case", "Priority") == ["Medium", "Low"]
    assert crm.record_type_id("Case") is None
    with pytest.raises(CrmValidationError) as err:
        crm.create_case(None, {"Subject": "Hurry", "Priority": "High"})
    assert err.value.message == "'High' is not a valid Priority for Billing cases. Choose one of: Medium, Low."


def test_without_the_setting_a_case_is_created_fine_with_the_default(org):
    crm = crm_for(org)
    contact = jane(crm)
    case = crm.create_case(contact["Id"], {"Subject": "Invoice wrong", "Type": "refund"}, contact=contact)
    assert (case["Type"], case["Priority"], case["Origin"]) == ("Refund", "Medium", "Chat")
    assert stored(org, "Case", case["Id"])["RecordTypeId"] == ids(org)["Case.Billing"]


def test_the_contact_default_record_type_gives_the_closures_lead_source(org):
    crm = crm_for(org)
    assert "Web" in crm.valid_values("Contact", "LeadSource")
    assert crm.record_types.in_use("Contact").developer_name == "Customer"


# -- the plain org ---------------------------------------------------------------------------------
def test_the_plain_org_keeps_describes_values_the_master_record_types_and_sends_no_record_type(plain):
    crm = crm_for(plain)
    master = client(plain).restful(f"ui-api/object-info/Case/picklist-values/{MASTER}")["picklistFieldValues"]
    plain.reset_calls()
    for name in ("Type", "Priority", "Status", "Origin", "Reason"):
        assert crm.valid_values("Case", name) == [v["value"] for v in master[name]["values"]]
    assert crm.default_value("Case", "Status") == master["Status"]["defaultValue"]["value"] == "New"
    assert crm.record_types.in_use("Case") is None and crm.record_type_id("Case") is None
    case = crm.create_case(None, {"Subject": "Plain", "Type": "Mechanical"})
    assert (case["Type"], case["Priority"], case["Status"], case["Origin"]) == ("Mechanical", "Medium", "New", "Chat")
    assert not any(route.startswith("GET ui-api") for route in plain.calls())  # Master's are describe's
    with pytest.raises(CrmValidationError) as err:
        crm.create_case(None, {"Subject": "Plain", "Type": "Refund"})
    assert err.value.message.startswith("'Refund' is not a valid Type here. Choose one of: Mechanical, Electrical")


def test_a_record_type_configured_on_an_org_without_any_is_named_and_left_out(plain, caplog):
    crm = crm_for(plain, Case="Support")
    assert crm.record_types.problems() == [
        "RECORD_TYPES names the Case record type Support, but this org has no Case record types: remove the Case entry."
    ]
    with caplog.at_level(logging.WARNING):
        case = crm.create_case(None, {"Subject": "Still works"})  # the plain org refuses any RecordTypeId
        crm.create_case(None, {"Subject": "Warned once"})
    assert case["Origin"] == "Chat"
    assert sum("RECORD_TYPES names the Case record type Support" in r.getMessage() for r in caplog.records) == 1


# -- calls: cached for METADATA_REFRESH_MINUTES ----------------------------------------------------
def test_a_second_case_costs_no_describe_and_no_ui_api_call(org):
    crm = crm_for(org, Case="Support")
    contact = jane(crm)
    org.reset_calls()
    crm.create_case(contact["Id"], {"Subject": "First"}, contact=contact)
    first = org.calls()
    assert first[UI_CASE] == 1 and first[DESCRIBE_CASE] == 1
    assert not any("RecordType" in route for route in first)  # the ids come from describe, no query
    org.reset_calls()
    crm.create_case(contact["Id"], {"Subject": "Second", "Type": "Question"}, contact=contact)
    crm.valid_values("Case", "Reason")
    second = org.calls()
    assert UI_CASE not in second and DESCRIBE_CASE not in second
    assert second == {"POST sobjects/Case": 1, "GET query": 1}
    assert crm.metadata.picklist_fetches == 1


def test_one_ui_api_call_per_object_and_record_type(org):
    crm = crm_for(org, Case="Support", Contact="Customer")
    org.reset_calls()
    for _ in range(3):
        crm.valid_values("Case", "Type")
        crm.valid_values("Contact", "LeadSource")
        crm.default_value("Case", "Status")
    calls = org.calls()
    assert calls[UI_CASE] == 1 and calls[UI_CONTACT] == 1


def test_refresh_fetches_the_record_types_picklists_anew(org):
    crm = crm_for(org, Case="Support")
    crm.valid_values("Case", "Type")
    crm.metadata.refresh()
    org.reset_calls()
    crm.valid_values("Case", "Type")
    assert org.calls()[UI_CASE] == 1
    assert set(crm.metadata.fetched_at) == {"Contact", "Case", "Task"}  # describes only


# -- problems(): the configuration against the org ---------------------------------------------------
def test_problems_is_empty_for_record_types_the_org_has(org):
    assert crm_for(org, Case="Support", Contact="Customer").record_types.problems() == []
    assert crm_for(org, Case="billing").record_types.problems() == []  # DeveloperNames are unique in any case
    assert crm_for(org).record_types.problems() == []


def test_problems_names_an_unknown_developer_name_with_the_ones_there_are(org, caplog):
    crm = crm_for(org, Case="Suport", Contact="Customer")
    assert crm.record_types.problems() == [
        "RECORD_TYPES names the Case record type Suport, which this org does not have. Use the Record Type Name "
        "(DeveloperName, not the label) of one the integration user may use (Billing, Support; Setup → Object "
        "Manager → Case → Record Types), or remove the entry."
    ]
    with caplog.at_level(logging.WARNING):
        assert crm.record_type_id("Case") is None  # the default applies, as Salesforce would
        assert crm.record_types.in_use("Case").developer_name == "Billing"
    assert any("Suport" in r.getMessage() for r in caplog.records)


def test_problems_names_master_and_an_object_without_record_types(org):
    crm = crm_for(org, Case="Master", Lead="Web")
    assert crm.record_types.problems() == [
        "RECORD_TYPES names the Case record type Master, the Master record type, which records cannot be given "
        "once Case has record types: name one of Billing, Support, or remove the entry.",
        "RECORD_TYPES names the Lead record type Web, but this org has no Lead record types: remove the Lead entry.",
    ]


def test_advice_names_the_default_an_unconfigured_object_gets(org):
    assert crm_for(org, Contact="Customer").record_types.advice() == [
        "Case records the bot creates get the integration user's default record type, Billing (Case has Billing, "
        'Support): to choose another, set RECORD_TYPES, e.g. {"Case": "Support"}.'
    ]


def test_no_advice_where_there_is_nothing_to_choose(org, sf_sim):
    assert crm_for(org, Case="Support").record_types.advice() == []  # Contact has only its default, Customer
    sf_sim.set_profiles([])
    assert crm_for(sf_sim).record_types.advice() == []


# -- pure logic: what the simulated org cannot show ----------------------------------------------------
def info(developer, rt_id, default=False, available=True, active=True, master=False):
    return {
        "active": active,
        "available": available,
        "defaultRecordTypeMapping": default,
        "developerName": developer,
        "master": master,
        "name": developer.replace("_", " "),
        "recordTypeId": rt_id,
    }


SALES = "0125g000000AAAAAAA"
SERVICE = "0125g000000BBBBBBB"
OLD = "0125g000000CCCCCCC"
HIDDEN = "0125g000000DDDDDDD"


class FakeOrg:
    """`call(what, fn)` as SalesforceClient: Case's describe and the UI API, counted."""

    def __init__(self, record_type_id_createable=True):
        self.calls: list[str] = []
        self.describe_body = {
            "fields": [
                {
                    "name": "Priority",
                    "type": "picklist",
                    "createable": True,
                    "picklistValues": [
                        {"value": v, "label": v, "active": True, "defaultValue": v == "Medium"}
                        for v in ("High", "Medium", "Low")
                    ],
                },
                {
                    "name": "Status",
                    "type": "picklist",
                    "createable": True,
                    "picklistValues": [{"value": "New", "label": "New", "active": True, "defaultValue": True}],
                },
                {"name": "RecordTypeId", "type": "reference", "createable": record_type_id_createable},
            ],
            "recordTypeInfos": [
                info("Sales", SALES, default=True),
                info("Service", SERVICE),
                info("Old_Process", OLD, active=False),
                info("Partner_Only", HIDDEN, available=False),
                info("Master", MASTER, available=False, master=True),
            ],
        }

    def call(self, what, fn):
        self.calls.append(what)
        return fn(SimpleNamespace(Case=SimpleNamespace(describe=lambda: self.describe_body), restful=self.restful))

    def restful(self, path):
        rt_id = path.rsplit("/", 1)[1]
        priorities = {SALES: (["Medium", "Low"], "Low"), SERVICE: (["High", "Low"], None)}[rt_id]
        return {
            "picklistFieldValues": {
                "Priority": {
                    "values": [{"value": v, "label": v} for v in priorities[0]],
                    "defaultValue": {"value": priorities[1]} if priorities[1] else None,
                }
            }
        }


def record_types(fake, **configured):
    settings = SalesforceSettings(
        consumer_key="k", username="integration@acme.example", record_types=tuple(configured.items())
    )
    return RecordTypes(MetadataCache(fake, 30), settings)


def test_the_record_types_default_comes_from_the_ui_api_not_describe():
    fake = FakeOrg()
    types = record_types(fake)
    assert [(p.value, p.default) for p in types.picklist("Case", "Priority")] == [("Medium", False), ("Low", True)]
    assert [p.value for p in record_types(fake, Case="Service").picklist("Case", "Priority")] == ["High", "Low"]
    assert not any(p.default for p in record_types(fake, Case="Service").picklist("Case", "Priority"))
    assert [p.value for p in types.picklist("Case", "Status")] == ["New"]  # left out by the UI API: describe's


@pytest.mark.parametrize(
    ("developer", "problem"),
    [
        (
            "Old_Process",
            "RECORD_TYPES names the Case record type Old_Process, which is inactive: activate it (Setup → Object "
            "Manager → Case → Record Types), or name another (Sales, Service).",
        ),
        (
            "Partner_Only",
            "RECORD_TYPES names the Case record type Partner_Only, which the integration user "
            "(integration@acme.example) may not use: add it to that user's profile or a permission set (Record Type "
            "Settings), or name another (Sales, Service).",
        ),
    ],
)
def test_problems_names_an_inactive_or_unavailable_record_type(developer, problem):
    types = record_types(FakeOrg(), Case=developer)
    assert types.problems() == [problem]
    assert types.record_type_id("Case") is None and types.in_use("Case").developer_name == "Sales"


def test_problems_names_a_record_type_field_the_integration_user_may_not_set():
    types = record_types(FakeOrg(record_type_id_createable=False), Case="Service")
    assert types.problems() == [
        "RECORD_TYPES names the Case record type Service, but the integration user may not set the record type of "
        "new Case records: give it edit access to the Case Record Type field, or remove the entry."
    ]
    assert types.record_type_id("Case") is None


def test_problems_names_an_object_the_integration_user_cannot_see():
    class NoCase(FakeOrg):
        def call(self, what, fn):
            raise CrmNotFound("That Salesforce record does not exist (any more).", "NOT_FOUND")

    assert record_types(NoCase(), Case="Sales").problems() == [
        "RECORD_TYPES names the Case record type Sales, but the integration user cannot see Case records: give its "
        "profile read and create access to Case, or remove the Case entry."
    ]


def test_a_default_master_record_type_keeps_describes_values():
    fake = FakeOrg()
    fake.describe_body["recordTypeInfos"] = [
        info("Service", SERVICE),
        info("Master", MASTER, default=True, master=True),
    ]
    types = record_types(fake)
    assert types.in_use("Case") is None
    assert [p.value for p in types.picklist("Case", "Priority")] == ["High", "Medium", "Low"]
    assert fake.calls == ["describe Case"]


def test_kept_picklists_outlive_the_process_and_refresh_ignores_what_was_kept():
    class Keep:
        def __init__(self):
            self.rows = {}

        def load_describe(self, key):
            return self.rows.get(key)

        def save_describe(self, key, fetched_at, body):
            self.rows[key] = (fetched_at, body)

    keep, fake = Keep(), FakeOrg()
    settings = SalesforceSettings(consumer_key="k", username="i@acme.example", record_types=(("Case", "Service"),))
    RecordTypes(MetadataCache(fake, 30, keep=keep), settings).picklist("Case", "Priority")
    assert fake.calls == ["describe Case", "picklist values Case"]
    assert set(keep.rows) == {"Case", f"Case/picklist-values/{SERVICE}"}
    again = MetadataCache(fake, 30, keep=keep)  # a restarted bot
    RecordTypes(again, settings).picklist("Case", "Priority")
    assert len(fake.calls) == 2
    again.refresh(("Case",))  # `!salesforce refresh`: describes anew, never from what was kept
    RecordTypes(again, settings).picklist("Case", "Priority")
    assert fake.calls[2:] == ["describe Case", "picklist values Case"]


def test_each_value_of_a_multi_select_picklist_is_checked_against_the_record_type():
    fake = FakeOrg()
    fake.describe_body["fields"].append(
        {
            "name": "Products__c",
            "type": "multipicklist",
            "createable": True,
            "picklistValues": [{"value": v, "label": v, "active": True} for v in ("Alpha", "Beta", "Gamma")],
        }
    )
    fake.restful = lambda path: {
        "picklistFieldValues": {
            "Products__c": {"values": [{"value": "Alpha"}, {"value": "Beta"}], "defaultValue": None}
        }
    }
    settings = SalesforceSettings(consumer_key="k", username="i@acme.example", record_types=(("Case", "Service"),))
    crm = Crm(settings, client=fake)
    values = {"Products__c": "alpha; BETA"}
    crm._check_picklists("Case", values)
    assert values == {"Products__c": "Alpha;Beta"}
    with pytest.raises(CrmValidationError) as err:
        crm._check_picklists("Case", {"Products__c": "Alpha;Gamma"})
    assert err.value.message == "'Gamma' is not a valid Products__c for Service cases. Choose one of: Alpha, Beta."
