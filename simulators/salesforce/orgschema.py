"""The org's schema once its profiles are on: fields an admin added (required custom fields, the
RecordTypeId that record types bring, record-type-restricted picklists). The module-global
SCHEMA is never changed: each profile set gets its own copy, built once.

Custom fields (the `required-fields` profile), as a customised org defines them:
- Contact.Customer_Tier__c: a restricted picklist Gold/Silver/Bronze, required (nillable false,
  createable, not defaulted): an insert without it is 400 REQUIRED_FIELD_MISSING "Required fields
  are missing: [Customer_Tier__c]" fields ["Customer_Tier__c"] (the message and code Salesforce
  gives for a required custom field, e.g. "Required fields are missing: [Product_Type__c]" in Adobe
  Marketo Measure's "Error Notifications").
- Case.Product__c: text(80), required the same way.
- Contact.Chat_Source__c: text(40), optional, for mapping chat data.
The `person-accounts` profile adds Account's person fields (personaccounts.py), the `encrypted-email` profile
encrypts the email fields (ENCRYPTED below).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from simulators.salesforce import personaccounts, recordtypes
from simulators.salesforce.schema import SCHEMA, Field

Schema = dict[str, dict[str, Field]]

CUSTOM_FIELDS: dict[str, tuple[Field, ...]] = {
    "Contact": (
        Field(
            "Customer_Tier__c",
            "Customer Tier",
            "picklist",
            255,
            nillable=False,
            restricted=True,
            picklist=(("Gold", True, False), ("Silver", True, False), ("Bronze", True, False)),
            custom=True,
        ),
        Field("Chat_Source__c", "Chat Source", "string", 40, custom=True),
    ),
    "Case": (Field("Product__c", "Product", "string", 80, nillable=False, custom=True),),
}
# the `encrypted-email` profile: Shield Platform Encryption, probabilistic (the default scheme), on the email
# fields; with person accounts the Contact's Email is the Account's PersonEmail, encrypted alike ("encrypting
# Account Phone/Name encrypts the matching Contact fields, and the other way round", SHIELD in
# salesforce-real-orgs.md §5). Such a field is not filterable or sortable (schema.Field.filterable); its
# values are still in the search index, so SOSL finds them, and read in clear by a user who may see the field.
ENCRYPTED = (("Contact", "Email"), ("Lead", "Email"), ("Account", "PersonEmail"))
RECORD_TYPE_ID = Field(
    "RecordTypeId", "Record Type ID", "reference", 18, reference_to=("RecordType",), relationship="RecordType"
)


@cache
def build(profiles: frozenset[str]) -> Schema:
    """SCHEMA with what the active PROFILES add; the same object for the same set."""
    schema: Schema = {name: dict(fields) for name, fields in SCHEMA.items()}
    if "required-fields" in profiles:
        for sobject, extra in CUSTOM_FIELDS.items():
            schema[sobject].update({f.name: f for f in extra})
    if "record-types" in profiles:
        restricted = recordtypes.picklist_fields()
        for sobject in recordtypes.OBJECTS:
            fields = schema[sobject]
            # RecordTypeId sits after the system fields, as in a real describe's field order
            ordered = list(fields.items())
            ordered.insert(1, ("RecordTypeId", RECORD_TYPE_ID))
            fields = dict(ordered)
            for name in restricted.get(sobject, ()):
                fields[name] = recordtypes.restricted_union(fields[name])
            schema[sobject] = fields
    if "person-accounts" in profiles:  # after the custom fields: each has its __pc on Account
        personaccounts.extend(schema, RECORD_TYPE_ID)
    if "encrypted-email" in profiles:
        for sobject, name in ENCRYPTED:
            if name in schema[sobject]:
                schema[sobject][name] = replace(schema[sobject][name], encrypted=True)
    return schema
