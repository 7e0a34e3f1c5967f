"""Field-level security of the integration user under the `field-access` profile.

A real integration user has the "Minimum Access - API Only" profile plus permission sets, and
rarely every field: here Contact.Title, LeadSource and the mailing address and Lead.Title are not
granted at all, and Contact.Department is read-only. Salesforce treats a field the user may not see
as a field that does not exist:
- describe leaves it out; a read-only field is described createable=false, updateable=false;
- SOQL and SOSL naming it fail with INVALID_FIELD "No such column 'Title' on entity 'Contact'. If
  you are attempting to use a custom field, …" (the same text as for a misspelt field);
- a write naming it fails with INVALID_FIELD "No such column 'Title' on sobject of type Contact";
  a write naming a read-only one with INVALID_FIELD_FOR_INSERT_UPDATE "Unable to create/update
  fields: Department. Please check the security settings of this field and verify that it is
  read/write for your profile or permission set." [Department] (the text quoted in Adobe Marketo
  Measure's "Error Notifications" for bizible2__UniqueId__c).
Other users (the agents of the `users` profile) see every field. The schema itself is not changed:
each caller gets a filtered view of it.
"""

from __future__ import annotations

from dataclasses import replace

from simulators.salesforce import personaccounts
from simulators.salesforce.schema import Field

Schema = dict[str, dict[str, Field]]

HIDDEN: dict[str, frozenset[str]] = {
    "Contact": frozenset(
        {"Title", "LeadSource", "MailingStreet", "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry"}
    ),
    "Lead": frozenset({"Title"}),
}
READ_ONLY: dict[str, frozenset[str]] = {"Contact": frozenset({"Department"})}


def restrict(schema: Schema) -> Schema:
    """SCHEMA as the integration user sees it under `field-access` (a new mapping; SCHEMA is kept). With
    person accounts, a Contact field's security is also its Person field's on Account: "person contact
    fields … are managed separately from" Account's field security, on the Contact fields (Veeva support,
    "Account Object Person Contact Fields Cannot be Modified")."""
    out: Schema = {}
    on_account = {name: a for name, a in personaccounts.STANDARD.items() if a in schema["Account"]}
    hidden_of = {**HIDDEN, "Account": frozenset(on_account[n] for n in HIDDEN["Contact"] if n in on_account)}
    read_only_of = {**READ_ONLY, "Account": frozenset(on_account[n] for n in READ_ONLY["Contact"] if n in on_account)}
    for sobject, fields in schema.items():
        hidden, read_only = hidden_of.get(sobject, frozenset()), read_only_of.get(sobject, frozenset())
        out[sobject] = {
            name: replace(f, createable=False, updateable=False) if name in read_only else f
            for name, f in fields.items()
            if name not in hidden
        }
    return out
