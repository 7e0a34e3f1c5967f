"""Person accounts (consumer orgs): a new visitor saved as an Account of a person record type, whose
"person contact" Salesforce makes with it. Contact's standard fields are the account's `Person…` fields
(FirstName, LastName and Salutation keep their names; Phone is the account's), Contact's custom fields
its `…__pc` fields; `Name` must not be sent. Activities and files name the person contact and the
account respectively (Task WhoId takes no Account; a file linked to a person contact is refused).
Sources: Salesforce's API guide, "Person Account Record Types"; the person account field reference
(lekkimworld/salesforce-personaccount-field-reference)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .operations import Crm

STANDARD = {
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
SAME = ("FirstName", "LastName", "Salutation", "Phone", "OwnerId")


def person_field(contact_field: str) -> str:
    """The person account's name for a Contact field."""
    if contact_field in SAME:
        return contact_field
    if contact_field.endswith("__c"):
        return contact_field[:-3] + "__pc"
    return STANDARD.get(contact_field, "Person" + contact_field)


class PersonAccounts:
    def __init__(self, crm: Crm):
        self.crm = crm
        self._lock = threading.Lock()
        self._type: tuple[float, str | None] | None = None  # (looked up at, the person record type's Id)

    def record_type_id(self) -> str | None:
        """RECORD_TYPES["Account"] when it names one, else the org's active person record type (one query
        per METADATA_REFRESH_MINUTES); None when the org has none."""
        configured = self.crm.record_type_id("Account")
        if configured:
            return configured
        ttl = self.crm.settings.metadata_refresh_minutes * 60
        with self._lock:
            if self._type is None or time.time() - self._type[0] > ttl:
                rows = self.crm.client.query(
                    "SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true "
                    "AND IsActive = true ORDER BY DeveloperName LIMIT 5",
                    "find person account record type",
                )
                self._type = (time.time(), rows[0]["Id"] if rows else None)
            return self._type[1]

    def values(self, contact_values: dict[str, Any]) -> dict[str, Any]:
        """CONTACT_VALUES as a new person account's: each field under its person name, those the account
        does not have (or the integration user may not set) left out, and the person record type."""
        account = {person_field(k): v for k, v in contact_values.items() if k not in ("AccountId", "RecordTypeId")}
        kept, _ = self.crm.metadata.writable("Account", account, creating=True)
        record_type = self.record_type_id()
        return {**kept, "RecordTypeId": record_type} if record_type else kept
