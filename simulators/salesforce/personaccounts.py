"""The `person-accounts` profile: a B2C org whose people are person accounts.

What Salesforce does, and the simulator with it (sources in /work/shared/reference/notes/salesforce-real-orgs.md
§1: SF-PA is the API guide's "Person Account Record Types", PA-REPO lekkimworld/salesforce-personaccount-
field-reference):
- Account gains IsPersonAccount and PersonContactId (read-only), the person contact's standard fields with a
  `Person` prefix (PersonEmail, PersonMobilePhone, PersonMailingCity…) except FirstName, LastName and
  Salutation, which keep their names, and each custom Contact field as `X__pc` (PA-REPO; Change Data Capture
  guide, "Creating and Undeleting a Person Account"). Account Phone is the person contact's Phone (there is no
  PersonPhone) [inf]. Contact gains IsPersonAccount; RecordType gains IsPersonType.
- Record types: "Person Account" (DeveloperName PersonAccount, IsPersonType true: "Salesforce provides one
  default person account record type, PersonAccount", SF-PA) and "Business Account" (Business_Account), the
  users' default: `SELECT Id FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true` finds the
  person type. An Account saved without RecordTypeId is a business account.
- Creating an Account with a person record type and LastName makes the person contact (a Contact with
  IsPersonAccount true, AccountId the account, its fields those of the account) and sets PersonContactId (SF-PA:
  "When a person account is created … a corresponding contact record is also created"). Name on a person
  account is refused: 400 INVALID_FIELD_FOR_INSERT_UPDATE "Unable to create/update fields: Name. Please check
  the security settings of this field and verify that it is read/write for your profile or permission set."
  ["Name"] (SalesforceCommerceCloud/b2c-crm-sync#267, dhoechst/Salesforce-Test-Factory#14,
  forcedotcom/SFDX-Data-Move-Utility#6; a 2015 capture of a REST update, sorenkrabbe/Chrome-Salesforce-
  inspector#38, reads "Account: bad field names on insert/update call: Name"); without LastName it is
  REQUIRED_FIELD_MISSING [LastName] (Segment: "LastName is required for Person Accounts").
- Person fields on a business account: 400 INVALID_FIELD_FOR_INSERT_UPDATE "Account: bad field names on
  insert/update call: MiddleName" (forcedotcom/SFDX-Data-Move-Utility#378; texei/texei-sfdx-plugin#51 for
  `__pc` fields), the fields named.
- The person contact "is the only contact record that can be associated directly with the person account"
  (SF-PA): a Contact created or moved onto a person account is refused, 400 FIELD_INTEGRITY_EXCEPTION "You
  can't link a contact to a Person Account." [AccountId] (the text third-party troubleshooting guides quote
  [belief]); the person contact's own AccountId cannot change: "Account: bad field names on insert/update call:
  AccountId" (sfb2csolutionarchitects/b2c-crm-sync#14), nor its RecordTypeId: 400 INSUFFICIENT_ACCESS_OR_READONLY
  "insufficient access rights on object id" (Help KB 005305352). Its other fields can be updated through Contact
  (SF-FSC: "You can query and update the Contact object via the API"); either side's change shows on the other.
- Task/Event WhoId takes a Contact or a Lead: an Account id is 400 FIELD_INTEGRITY_EXCEPTION "Name ID: id value
  of incorrect type: 001…" ["WhoId"] (jsforce/jsforce#1006); a person account's activities name its person
  contact. A file linked to the person contact instead of the account: 400 INVALID_PERSON_ACCOUNT_OPERATION
  "cannot reference person contact" (UnofficialSF/LightningFlowComponents#1708, ContentDocumentLink insert);
  deleting the person contact through Contact is refused the same way [inf], deleting the account deletes both.
- Changing a record type between person and business together with other fields: 400
  INVALID_FIELD_FOR_INSERT_UPDATE "Cannot specify any additional fields when marrying or separating a
  Person-Account" (salesforce.stackexchange, quoted on isolution.pro sr13283236); the conversion itself is not
  modelled.
The seeded person account is Pat Person, pat.person@example.com, +1 212 555 0142 (PersonMobilePhone).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from simulators.salesforce import recordtypes
from simulators.salesforce.errors import SfError
from simulators.salesforce.schema import Field

if TYPE_CHECKING:
    from simulators.salesforce.store import Store

Schema = dict[str, dict[str, Field]]

PERSON_TYPE, BUSINESS_TYPE = "PersonAccount", "Business_Account"
TYPES = ((BUSINESS_TYPE, "Business Account", False), (PERSON_TYPE, "Person Account", True))
# a person contact's standard field -> its name on the person account (PA-REPO)
STANDARD = {
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Salutation": "Salutation",
    "Email": "PersonEmail",
    "MobilePhone": "PersonMobilePhone",
    "HomePhone": "PersonHomePhone",
    "Title": "PersonTitle",
    "Department": "PersonDepartment",
    "LeadSource": "PersonLeadSource",
    "MailingStreet": "PersonMailingStreet",
    "MailingCity": "PersonMailingCity",
    "MailingState": "PersonMailingState",
    "MailingPostalCode": "PersonMailingPostalCode",
    "MailingCountry": "PersonMailingCountry",
}
SHARED = {"Phone": "Phone"}  # an Account field the person contact shares
SEED = {
    "FirstName": "Pat",
    "LastName": "Person",
    "PersonEmail": "pat.person@example.com",
    "PersonMobilePhone": "+1 212 555 0142",
    "PersonMailingCity": "New York",
    "PersonMailingCountry": "USA",
}
SEED_NAME = "Pat Person"
SEED_TIER = "Silver"  # Customer_Tier__pc when the required-fields profile is on too

IS_PERSON = Field(
    "IsPersonAccount",
    "Is Person Account",
    "boolean",
    nillable=False,
    createable=False,
    updateable=False,
    defaulted=True,
)
CONTACT_FIELDS = (
    Field(
        "Salutation",
        "Salutation",
        "picklist",
        40,
        picklist=tuple((v, True, False) for v in ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
    ),
    Field("HomePhone", "Home Phone", "phone", 40),
    IS_PERSON,
)
PERSON_CONTACT_ID = Field(
    "PersonContactId",
    "Person Contact ID",
    "reference",
    18,
    createable=False,
    updateable=False,
    reference_to=("Contact",),
    relationship="PersonContact",
)
IS_PERSON_TYPE = Field(
    "IsPersonType", "Is Person Type", "boolean", nillable=False, createable=False, updateable=False, defaulted=True
)
NAME_REFUSED = SfError(
    400,
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "Unable to create/update fields: Name. Please check the security settings of this field and verify that it is "
    "read/write for your profile or permission set.",
    ["Name"],
)


def account_name(contact_field: Field) -> str | None:
    """The name CONTACT_FIELD has on a person account (None: it has none there)."""
    if contact_field.custom and contact_field.name.endswith("__c"):
        return contact_field.name[:-3] + "__pc"
    return STANDARD.get(contact_field.name) or SHARED.get(contact_field.name)


def mapping(contact_fields: dict[str, Field]) -> dict[str, str]:
    """Contact field -> Account field, for every contact field a person account carries."""
    return {name: a for name, f in contact_fields.items() if (a := account_name(f)) is not None}


def extend(schema: Schema, record_type_id: Field) -> None:
    """Add what enabling person accounts adds to SCHEMA (a copy the caller owns)."""
    contact = schema["Contact"]
    contact.update({f.name: f for f in CONTACT_FIELDS if f.name not in contact})
    ordered = list(schema["Account"].items())
    if "RecordTypeId" not in schema["Account"]:
        ordered.insert(1, ("RecordTypeId", record_type_id))
    account = dict(ordered)
    account["IsPersonAccount"] = IS_PERSON
    account["PersonContactId"] = PERSON_CONTACT_ID
    for name, a in mapping(contact).items():
        if a not in account:  # nillable: a business account has none of them
            account[a] = replace(contact[name], name=a, nillable=True)
    schema["Account"] = account
    schema["RecordType"] = {**schema["RecordType"], "IsPersonType": IS_PERSON_TYPE}


def person_only(schema: Schema) -> set[str]:
    """The Account fields only a person account may be given."""
    return set(mapping(schema["Contact"]).values()) - set(SHARED.values())


# -- the org's rows ---------------------------------------------------------------------------
def seed(store: Store) -> dict[str, dict[str, str]]:
    """The two record types and Pat Person; returns their ids by kind (profiles_info keys)."""
    types = {
        f"Account.{developer}": store.put(
            "RecordType",
            {
                "Name": name,
                "DeveloperName": developer,
                "SobjectType": "Account",
                "IsActive": True,
                "IsPersonType": person,
            },
        )["Id"]
        for developer, name, person in TYPES
    }
    normalize(store)
    values = {**SEED, "RecordTypeId": types[f"Account.{PERSON_TYPE}"]}
    if "Customer_Tier__pc" in store.schema["Account"]:
        values["Customer_Tier__pc"] = SEED_TIER
    account = store.create("Account", before_create(store, "Account", values))
    after_create(store, "Account", account)
    return {
        "record_types": types,
        "accounts": {SEED_NAME: account["Id"]},
        "person_contacts": {SEED_NAME: account["PersonContactId"]},
    }


def normalize(store: Store) -> None:
    """Rows made before the profile was on get its booleans (false, never null, as Salesforce has them)."""
    for sobject, name in (
        ("Account", "IsPersonAccount"),
        ("Contact", "IsPersonAccount"),
        ("RecordType", "IsPersonType"),
    ):
        for row in store.records[sobject].values():
            if row.get(name) is None:
                row[name] = False


def unseed(store: Store, seeded: dict[str, dict[str, str]]) -> None:
    """Turning the profile off takes away Pat Person and the Account-only fields' values."""
    for account_id in seeded.get("accounts", {}).values():
        store.records["Account"].pop(account_id, None)
    for contact_id in seeded.get("person_contacts", {}).values():
        store.records["Contact"].pop(contact_id, None)
    for row in store.records["Account"].values():
        for name in [n for n in row if _account_only(n)]:
            row.pop(name, None)
    for row in store.records["Contact"].values():
        for name in ("IsPersonAccount", "Salutation", "HomePhone"):
            row.pop(name, None)
    for row in store.records["RecordType"].values():
        row.pop("IsPersonType", None)


def _account_only(name: str) -> bool:
    """A field an Account has only while person accounts are on (record types: only with them here)."""
    fixed = {"IsPersonAccount", "PersonContactId", "Salutation", "FirstName", "LastName", "RecordTypeId"}
    return name in fixed or name.startswith("Person") or name.endswith("__pc")


def person_type_ids(store: Store) -> set[str]:
    return {
        r["Id"][:15]
        for r in store.records["RecordType"].values()
        if r.get("SobjectType") == "Account" and r.get("IsPersonType")
    }


def _found(store: Store, record_id: object, sobject: str) -> dict | None:
    found = store.find(str(record_id or ""))
    return found[1] if found is not None and found[0] == sobject else None


def _bad_fields(names: list[str]) -> SfError:
    return SfError(
        400,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Account: bad field names on insert/update call: {', '.join(names)}",
        names,
    )


def _who(store: Store, sobject: str, values: dict) -> None:
    who = values.get("WhoId")
    if sobject in ("Task", "Event") and who and _found(store, who, "Account") is not None:
        label = store.schema[sobject]["WhoId"].label
        raise SfError(400, "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {who}", ["WhoId"])


def _contact_account(store: Store, values: dict) -> None:
    account = _found(store, values.get("AccountId"), "Account")
    if account is not None and account.get("IsPersonAccount"):
        raise SfError(400, "FIELD_INTEGRITY_EXCEPTION", "You can't link a contact to a Person Account.", ["AccountId"])


def _required_customs(store: Store) -> list[str]:
    """The `__pc` names of the custom Contact fields every contact must have."""
    return [
        f.name[:-3] + "__pc"
        for f in store.schema["Contact"].values()
        if f.custom and not f.nillable and f.createable and not f.defaulted
    ]


def _missing(names: list[str]) -> SfError:
    return SfError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names)


def _full_name(row: dict) -> str:
    return " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)


# -- saves ------------------------------------------------------------------------------------
def before_create(store: Store, sobject: str, values: dict) -> dict:
    """VALUES checked as this org checks them, and completed (a person account's Name)."""
    values = dict(values)
    _who(store, sobject, values)
    if sobject == "Contact":
        _contact_account(store, values)
    if sobject == "ContentDocumentLink":
        contact = _found(store, values.get("LinkedEntityId"), "Contact")
        if contact is not None and contact.get("IsPersonAccount"):
            raise SfError(400, "INVALID_PERSON_ACCOUNT_OPERATION", "cannot reference person contact", [])
    if sobject != "Account":
        return values
    if str(values.get("RecordTypeId") or "")[:15] in person_type_ids(store):
        if "Name" in values:
            raise NAME_REFUSED
        if not values.get("LastName"):
            raise _missing(["LastName"])
        missing = [n for n in _required_customs(store) if values.get(n) in (None, "")]
        if missing:
            raise _missing(missing)
        values["Name"] = _full_name(values)
    else:
        bad = [n for n in values if n in person_only(store.schema)]
        if bad:
            raise _bad_fields(bad)
    return values


def after_create(store: Store, sobject: str, record: dict) -> None:
    """A person account's person contact, made with it (the account goes if the contact cannot be made)."""
    if sobject != "Account" or str(record.get("RecordTypeId") or "")[:15] not in person_type_ids(store):
        return
    fields = mapping(store.schema["Contact"])
    values = {c: record[a] for c, a in fields.items() if record.get(a) not in (None, "")}
    values.update(AccountId=record["Id"], OwnerId=record["OwnerId"])
    try:
        contact = store.create("Contact", values)
    except SfError:
        store.records["Account"].pop(record["Id"], None)
        raise
    contact["IsPersonAccount"] = True
    record["IsPersonAccount"], record["PersonContactId"] = True, contact["Id"]


def before_update(store: Store, sobject: str, record: dict, values: dict) -> dict:
    """VALUES for RECORD (the stored one) checked as this org checks them."""
    _who(store, sobject, values)
    if sobject == "Contact" and record.get("IsPersonAccount"):
        if "AccountId" in values:
            raise _bad_fields(["AccountId"])
        if "RecordTypeId" in values:
            raise SfError(400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", [])
    elif sobject == "Contact" and "AccountId" in values:
        _contact_account(store, values)
    if sobject != "Account":
        return values
    person_types = person_type_ids(store)
    if "RecordTypeId" in values and len(values) > 1:
        was, becomes = str(record.get("RecordTypeId") or "")[:15], str(values["RecordTypeId"] or "")[:15]
        if (was in person_types) != (becomes in person_types):
            raise SfError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Cannot specify any additional fields when marrying or separating a Person-Account",
                [],
            )
    if record.get("IsPersonAccount"):
        if "Name" in values:
            raise NAME_REFUSED
        if "LastName" in values and values["LastName"] in (None, ""):
            raise _missing(["LastName"])
    else:
        bad = [n for n in values if n in person_only(store.schema)]
        if bad:
            raise _bad_fields(bad)
    return values


def after_update(store: Store, sobject: str, record: dict) -> None:
    """A person account's change shows on its person contact, and the other way round."""
    fields = mapping(store.schema["Contact"])
    if sobject == "Account" and record.get("IsPersonAccount"):
        contact = _found(store, record.get("PersonContactId"), "Contact")
        if contact is not None:
            contact.update({c: record.get(a) for c, a in fields.items()})
            contact["Name"] = record["Name"] = _full_name(record)
            contact["LastModifiedDate"] = record["LastModifiedDate"]
            store.changed_at[contact["Id"]] = store.changed_at.get(record["Id"], 0.0)
    if sobject == "Contact" and record.get("IsPersonAccount"):
        account = _found(store, record.get("AccountId"), "Account")
        if account is not None:
            account.update({a: record.get(c) for c, a in fields.items()})
            account["Name"] = _full_name(record)
            account["LastModifiedDate"] = record["LastModifiedDate"]
            store.changed_at[account["Id"]] = store.changed_at.get(record["Id"], 0.0)


def before_delete(store: Store, sobject: str, record: dict) -> None:
    if sobject == "Contact" and record.get("IsPersonAccount"):
        raise SfError(400, "INVALID_PERSON_ACCOUNT_OPERATION", "cannot reference person contact", [])


def after_delete(store: Store, sobject: str, record: dict) -> None:
    """The person contact goes to the recycle bin with its account."""
    if sobject == "Account" and record.get("IsPersonAccount"):
        contact = _found(store, record.get("PersonContactId"), "Contact")
        if contact is not None:
            store.records["Contact"].pop(contact["Id"], None)
            store.recycle_bin[contact["Id"][:15]] = "Contact"


def default_account_type(store: Store) -> str | None:
    """The record type an Account saved without one gets (the users' default: Business Account)."""
    return recordtypes.default_id(store.records["RecordType"].values(), "Account", True)
