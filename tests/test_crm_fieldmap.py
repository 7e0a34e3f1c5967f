"""FIELD_MAP against the org (crm/fieldmap.py): the configuration check (an unknown or hidden field, one
the integration user may not write, a literal that is no value of the picklist or does not fit the
field's kind, a chat source into a checkbox), the required fields nobody fills with the entry to add,
the words for a REQUIRED_FIELD_MISSING, and values fitted to describe. Pure logic on a small describe
first, then the strict simulated org with its `required-fields` and `field-access` profiles."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from salesforce_omnichannel.crm.errors import CrmNotFound, CrmValidationError
from salesforce_omnichannel.crm.fieldmap import BOT_SETS, FieldMapOrg, mapped_fields
from salesforce_omnichannel.crm.metadata import MetadataCache
from salesforce_omnichannel.crm.operations import Crm


def _field(name, kind="string", length=0, **over):
    described = {
        "name": name,
        "type": kind,
        "length": length,
        "nillable": True,
        "createable": True,
        "updateable": True,
        "defaultedOnCreate": False,
        "picklistValues": [],
        "referenceTo": [],
    }
    described.update(over)
    return described


def _picklist(*values, inactive=()):
    return [{"value": v, "label": v, "active": v not in inactive, "defaultValue": False} for v in values]


CONTACT = {
    "fields": [
        _field("Id", "id", 18, nillable=False, createable=False, updateable=False, defaultedOnCreate=True),
        _field("LastName", length=80, nillable=False),
        _field("Name", length=121, createable=False, updateable=False),
        _field("Email", "email", 80),
        _field("Phone", "phone", 40),
        _field("Department", length=80, createable=False, updateable=False),
        _field("Chat_Source__c", length=10),
        _field("Notes__c", "textarea", 255),
        _field(
            "Customer_Tier__c",
            "picklist",
            255,
            nillable=False,
            picklistValues=_picklist("Gold", "Silver", "Old", inactive=("Old",)),
        ),
        _field("Interests__c", "multipicklist", 4099, picklistValues=_picklist("Billing", "Hardware", "VIP")),
        _field("DoNotCall", "boolean", nillable=False, defaultedOnCreate=True),
        _field("Consent__c", "boolean", nillable=False),
        _field("Visits__c", "double"),
        _field("Birthdate", "date"),
        _field("ReportsToId", "reference", 18, referenceTo=["Contact"]),
        _field("OwnerId", "reference", 18, nillable=False, defaultedOnCreate=True, updateable=False),
        _field("Created_Once__c", length=20, updateable=False),
    ]
}


class FakeClient:
    """Describes Contact; any other object is one the integration user may not see (NOT_FOUND)."""

    def call(self, what, fn):
        if what != "describe Contact":
            raise CrmNotFound("That Salesforce record does not exist (any more).", "NOT_FOUND")
        return fn(SimpleNamespace(Contact=SimpleNamespace(describe=lambda: CONTACT)))


@pytest.fixture
def fake_org():
    metadata = MetadataCache(FakeClient(), 30)
    return FieldMapOrg(metadata, lambda s, f: [p.value for p in metadata.picklist(s, f) if p.active])


def test_a_map_the_org_takes_has_no_problems(fake_org):
    field_map = {
        "Contact.Customer_Tier__c": "=gold",  # the case is mended when written
        "Contact.Interests__c": "=Billing; vip",
        "Contact.Chat_Source__c": "=Chat",
        "Contact.Email": "visitor.email",
        "Contact.Notes__c": "visitor.custom.notes",
        "Contact.Consent__c": "=TRUE",
        "Contact.Visits__c": "=1.5",
        "Contact.Birthdate": "=1990-02-01",
        "Contact.ReportsToId": "=003000000000001AAA",
        "Contact.Created_Once__c": "room.id",  # createable only: filled on create, left out of an update
    }
    assert fake_org.problems(field_map) == []


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        (
            ("Contact.Titel", "=x"),
            "FIELD_MAP 'Contact.Titel': Contact has no field Titel that the integration user can see",
        ),
        (("Contact.Chat_Sourse__c", "=x"), "(did you mean Chat_Source__c?)"),
        (
            ("Contact.Department", "visitor.department"),
            "the integration user may not write Contact.Department (it is read-only for it): give it edit access",
        ),
        (("Contact.Name", "visitor.name"), "may not write Contact.Name"),
        (
            ("Contact.Customer_Tier__c", "=Platinum"),
            "'Platinum' is not an active Contact.Customer_Tier__c value for the bot's record type: use one of Gold, Silver.",
        ),
        (("Contact.Customer_Tier__c", "=Old"), "'Old' is not an active Contact.Customer_Tier__c value"),
        (("Contact.Interests__c", "=Billing;Golf"), "'Golf' is not an active Contact.Interests__c value"),
        (
            ("Contact.Chat_Source__c", "=Chat widget"),
            "the literal is 11 characters, more than Contact.Chat_Source__c holds (10)",
        ),
        (
            ("Contact.Email", "=not-an-address"),
            "Contact.Email is an email field and 'not-an-address' is no email address",
        ),
        (
            ("Contact.Consent__c", "visitor.custom.consent"),
            "Contact.Consent__c is a checkbox: map it to '=true' or '=false', not 'visitor.custom.consent'",
        ),
        (("Contact.Consent__c", "=yes"), "Contact.Consent__c is a checkbox: map it to '=true' or '=false', not '=yes'"),
        (("Contact.Visits__c", "=many"), "Contact.Visits__c is a number: map it to a literal such as '=1'"),
        (
            ("Contact.Birthdate", "=01/02/1990"),
            "Contact.Birthdate is a date: map it to a literal such as '=2025-01-31'",
        ),
        (
            ("Contact.ReportsToId", "agent.username"),
            "Contact.ReportsToId is a lookup to Contact: map it to a literal such as '=<record Id>'",
        ),
        (("Lead.Company", "=Acme"), "FIELD_MAP 'Lead.Company': the integration user cannot see Lead records at all"),
    ],
)
def test_each_entry_the_org_cannot_take_is_named_with_the_fix(fake_org, entry, said):
    [problem] = fake_org.problems(dict([entry]))
    assert problem.startswith(f"FIELD_MAP {entry[0]!r}: ") and said in problem


def test_the_same_field_in_two_spellings_is_named_once_and_other_entries_still_checked(fake_org):
    problems = fake_org.problems(
        {"Contact.Email": "visitor.email", "Contact.email": "agent.email", "Lead.Company": "=A", "Lead.Title": "=B"}
    )
    assert (
        problems[0]
        == "FIELD_MAP 'Contact.email': Contact.Email is mapped twice ('Contact.Email' and 'Contact.email'): keep one."
    )
    assert len(problems) == 2  # the object nobody may see is named once, not per entry


def test_required_fields_nobody_fills_are_listed_with_the_entry_to_add(fake_org):
    assert fake_org.required_unfilled("Contact", set()) == [
        "Contact.Customer_Tier__c is required: add it to FIELD_MAP, e.g. {'Contact.Customer_Tier__c': '=Gold'}.",
        "Contact.Consent__c is required: add it to FIELD_MAP, e.g. {'Contact.Consent__c': '=true'}.",
    ]  # LastName: the bot sets it; DoNotCall and OwnerId: defaulted; Id and Name: not createable
    assert fake_org.required_unfilled("Contact", {"customer_tier__c", "Consent__c"}) == []
    assert [p.split(" ")[0] for p in fake_org.required_unfilled("Contact", {"Consent__c"}, bot_sets=())] == [
        "Contact.LastName",
        "Contact.Customer_Tier__c",
    ]
    assert mapped_fields({"Contact.Consent__c": "=true", "Case.Product__c": "=W"}, "Contact") == {"Consent__c"}
    assert BOT_SETS["Task"] == ("Subject", "Status", "Priority")


def test_a_refused_save_names_the_field_and_the_entry_that_fills_it(fake_org):
    assert fake_org.required_missing("Contact", ["Customer_Tier__c"]) == (
        "Salesforce requires Contact.Customer_Tier__c, which the bot does not fill: an admin can add it to "
        "FIELD_MAP, e.g. {'Contact.Customer_Tier__c': '=Gold'}."
    )
    assert "e.g. {'Contact.Chat_Source__c': '=<value>'} or {'Contact.Chat_Source__c': 'visitor.custom.<key>'}" in (
        fake_org.required_missing("Contact", ["Chat_Source__c"])
    )
    assert fake_org.required_missing("Contact", []) == (
        "Salesforce refused the Contact: a field the org requires is missing (Salesforce named none)."
    )
    assert "{'Lead.Region__c': '=<value>'}" in fake_org.required_missing("Lead", ["Region__c"])  # no describe: text


@pytest.mark.parametrize(
    ("name", "value", "literal", "fitted"),
    [
        ("Chat_Source__c", "Rocket.Chat widget", False, ("Rocket.Cha", None)),
        ("chat_source__c", "  Widget ", False, ("Widget", None)),
        ("Customer_Tier__c", "SILVER", False, ("Silver", None)),
        (
            "Customer_Tier__c",
            "Platinum",
            False,
            (None, "'Platinum' is not a Contact.Customer_Tier__c value for the bot's record type"),
        ),
        ("Interests__c", "vip;Golf;billing;VIP", False, ("VIP;Billing", None)),
        ("Email", "x" * 75 + "@example.com", False, (None, "Contact.Email holds 80 characters and the value has 87")),
        ("Email", "not an address", False, (None, "'not an address' is no email address for Contact.Email")),
        ("Consent__c", "True", True, (True, None)),
        ("Visits__c", "2", True, (2.0, None)),
        ("Consent__c", "yes", False, (None, "Contact.Consent__c is a checkbox and 'yes' does not fit it")),
        ("Gone__c", "x", False, (None, "Contact.Gone__c is not in describe any more")),
        ("Notes__c", "   ", False, (None, None)),
    ],
)
def test_values_are_fitted_to_describe(fake_org, name, value, literal, fitted):
    assert fake_org.fit("Contact", name, value, literal=literal) == fitted
    assert fake_org.key("Contact", "chat_source__c") == "Chat_Source__c"


# -- the simulated org -----------------------------------------------------------------------
@pytest.fixture
def org(demo_org):
    return demo_org


def test_the_org_checks_on_a_customised_org(org):
    org.set_profiles(["required-fields", "field-access"])
    crm = Crm(org.crm_settings())
    check = FieldMapOrg.of(crm)
    good = {
        "Contact.Customer_Tier__c": "=Gold",
        "Contact.Chat_Source__c": "=Chat",
        "Case.Product__c": "visitor.custom.product",
        "Task.Type": "=Other",
        "Lead.LeadSource": "=Web",
        "Account.Industry": "=Retail",
    }
    assert check.problems(good) == []
    problems = check.problems(
        {
            "Contact.Customer_Tier__c": "=Platinum",
            "Contact.Department": "room.department",  # read-only for the integration user
            "Contact.Title": "=Customer",  # hidden from it: describe leaves it out
            "Contact.Shoe_Size__c": "=42",  # no such field
        }
    )
    assert problems == [
        "FIELD_MAP 'Contact.Customer_Tier__c': 'Platinum' is not an active Contact.Customer_Tier__c value for the "
        "bot's record type: use one of Gold, Silver, Bronze.",
        "FIELD_MAP 'Contact.Department': the integration user may not write Contact.Department (it is read-only for "
        "it): give it edit access in the field's field-level security, or remove the entry.",
        "FIELD_MAP 'Contact.Title': Contact has no field Title that the integration user can see: check the API "
        "name in Setup (Object Manager, Contact, Fields & Relationships), or give the integration user access to "
        "the field in its field-level security.",
        "FIELD_MAP 'Contact.Shoe_Size__c': Contact has no field Shoe_Size__c that the integration user can see: "
        "check the API name in Setup (Object Manager, Contact, Fields & Relationships), or give the integration "
        "user access to the field in its field-level security.",
    ]


def test_required_fields_on_the_required_fields_profile(org):
    org.set_profiles(["required-fields"])
    check = FieldMapOrg.of(Crm(org.crm_settings()))
    assert check.required_unfilled("Contact", set()) == [
        "Contact.Customer_Tier__c is required: add it to FIELD_MAP, e.g. {'Contact.Customer_Tier__c': '=Gold'}."
    ]
    assert check.required_unfilled("Case", set()) == [
        "Case.Product__c is required: add it to FIELD_MAP, e.g. {'Case.Product__c': '=<value>'} or "
        "{'Case.Product__c': 'visitor.custom.<key>'}."
    ]
    field_map = {"Contact.Customer_Tier__c": "=Gold", "Case.Product__c": "visitor.custom.product"}
    for sobject in ("Contact", "Case", "Task", "Lead", "Account"):
        assert check.required_unfilled(sobject, mapped_fields(field_map, sobject)) == []
    org.set_profiles([])
    plain = FieldMapOrg.of(Crm(org.crm_settings()))
    assert all(plain.required_unfilled(s, set()) == [] for s in ("Contact", "Case", "Task"))


def test_a_save_refused_for_a_required_field_is_explained_and_mapped_values_are_taken(org):
    org.set_profiles(["required-fields"])
    crm = Crm(org.crm_settings())
    check = FieldMapOrg.of(crm)
    with pytest.raises(CrmValidationError) as refused:
        crm.create_contact({"LastName": "Unmapped"})
    assert refused.value.code == "REQUIRED_FIELD_MISSING" and refused.value.fields == ["Customer_Tier__c"]
    assert check.required_missing("Contact", refused.value.fields) == (
        "Salesforce requires Contact.Customer_Tier__c, which the bot does not fill: an admin can add it to "
        "FIELD_MAP, e.g. {'Contact.Customer_Tier__c': '=Gold'}."
    )
    tier, _ = check.fit("Contact", "Customer_Tier__c", "silver", literal=True)
    source, _ = check.fit("Contact", "Chat_Source__c", "Rocket.Chat livechat widget on the pricing page")
    created = crm.create_contact({"LastName": "Mapped", "Customer_Tier__c": tier, "Chat_Source__c": source})
    [record] = [r for r in org.records("Contact") if r["Id"] == created["Id"]]
    assert (record["Customer_Tier__c"], record["Chat_Source__c"]) == (
        "Silver",
        "Rocket.Chat livechat widget on the prici",
    )


def test_a_literal_is_checked_against_the_record_type_the_bot_uses(org):
    org.set_profiles(["record-types"])
    support = FieldMapOrg.of(Crm(org.crm_settings(record_types=(("Case", "Support"),))))
    assert support.problems({"Case.Type": "=Problem"}) == []
    [problem] = support.problems({"Case.Type": "=Refund"})  # in describe's union, not in Support's values
    assert problem == (
        "FIELD_MAP 'Case.Type': 'Refund' is not an active Case.Type value for the bot's record type: use one of "
        "Problem, Question."
    )
    billing = FieldMapOrg.of(Crm(org.crm_settings()))  # no RECORD_TYPES: the integration user's default, Billing
    assert billing.problems({"Case.Type": "=Refund"}) == []
    assert billing.problems({"Case.Type": "=Problem"})[0].endswith("use one of Billing Question, Refund.")
