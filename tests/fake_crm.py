"""An in-memory stand-in for the CRM core (it fits `crm.api.CrmApi`) and for the state store's
contact links, so that the commands and the greeting run in unit tests without a server. It keeps
Salesforce's rules the chat side relies on (a contact needs a last name, picklists are checked,
records get ids with the right prefixes) and counts the calls made to it. The contact links and
room context stay the real SQLite state store's."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

from salesforce_omnichannel.crm import phones
from salesforce_omnichannel.crm.errors import CrmNotFound, CrmValidationError
from salesforce_omnichannel.crm.operations import ContactMatch

PICKLISTS = {
    ("Case", "Status"): ["New", "Working", "Escalated", "Closed"],
    ("Case", "Priority"): ["High", "Medium", "Low"],
    ("Case", "Origin"): ["Phone", "Email", "Web", "Chat"],
    ("Case", "Type"): ["Problem", "Question"],
    ("Case", "Reason"): ["Installation", "Performance"],
    ("Contact", "LeadSource"): ["Web", "Phone Inquiry", "Other"],
}


class FakeMetadata:
    def __init__(self) -> None:
        self.fetched_at: dict[str, float] = {}
        self.refreshes = 0

    def refresh(self) -> dict[str, float]:
        self.refreshes += 1
        self.fetched_at = {"Contact": 1000.0, "Case": 1000.0, "Task": 1000.0}
        return self.fetched_at


class FakeOwners:
    def __init__(self) -> None:
        self.refreshes = 0

    def refresh(self) -> None:
        self.refreshes += 1


class FakeCrm:
    def __init__(self) -> None:
        self.contacts: dict[str, dict] = {}
        self.leads: dict[str, dict] = {}
        self.cases: dict[str, dict] = {}
        self.accounts: dict[str, dict] = {}
        self.tasks: list[dict] = []
        self.calls: Counter[str] = Counter()
        self.metadata = FakeMetadata()
        self.owners = FakeOwners()
        self._ids = itertools.count(1)

    # -- seeding -------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):015d}"

    def add_contact(self, first: str, last: str, email: str | None = None, phone: str | None = None, **more) -> dict:
        record = {
            "attributes": {"type": "Contact"},
            "Id": self._id("003"),
            "FirstName": first,
            "LastName": last,
            "Name": f"{first} {last}".strip(),
            "Email": email,
            "Phone": phone,
            "CreatedDate": f"2026-01-{len(self.contacts) + 1:02d}T10:00:00.000+0000",
            **more,
        }
        self.contacts[record["Id"]] = record
        return record

    def add_lead(self, first: str, last: str, email: str | None = None, phone: str | None = None) -> dict:
        record = {
            "attributes": {"type": "Lead"},
            "Id": self._id("00Q"),
            "Name": f"{first} {last}",
            "FirstName": first,
            "LastName": last,
            "Email": email,
            "Phone": phone,
            "Company": "Acme",
            "Status": "Open",
        }
        self.leads[record["Id"]] = record
        return record

    def add_account(self, name: str) -> dict:
        record = {"Id": self._id("001"), "Name": name}
        self.accounts[record["Id"]] = record
        return record

    # -- CrmApi --------------------------------------------------------------------------
    def _called(self, name: str) -> None:
        self.calls[name] += 1

    def lookup(self, email, phone):
        self._called("lookup")
        found = self._find(email, phone)
        return found, ([] if found else self._leads(email, phone))

    def find_contacts(self, email=None, phone=None):
        self._called("find_contacts")
        return self._find(email, phone)

    def find_leads(self, email=None, phone=None):
        self._called("find_leads")
        return self._leads(email, phone)

    def get_contact(self, contact_id):
        self._called("get_contact")
        if contact_id not in self.contacts:
            raise CrmNotFound("That Salesforce contact does not exist (any more).", "NOT_FOUND")
        return self.contacts[contact_id]

    def create_contact(self, fields: dict[str, Any]) -> dict:
        self._called("create_contact")
        values = {k: v for k, v in fields.items() if v not in (None, "")}
        if not values.get("LastName"):
            raise CrmValidationError("A contact needs a last name: add --last-name.", "REQUIRED_FIELD_MISSING")
        self._check("Contact", values)
        record = self.add_contact(values.pop("FirstName", ""), values.pop("LastName"), **_lower_keys(values))
        return record

    def find_account(self, name):
        self._called("find_account")
        hits = [a for a in self.accounts.values() if a["Name"].lower().startswith(name.strip().lower())]
        if len(hits) != 1:
            raise CrmNotFound(f"No Salesforce account is named {name!r}; check the name.", "NOT_FOUND")
        return hits[0]

    def contact_cases(self, contact_id, limit=20):
        self._called("contact_cases")
        return [c for c in self.cases.values() if c["ContactId"] == contact_id][:limit]

    def case_by_number(self, text):
        self._called("case_by_number")
        number = text.strip().zfill(8)
        found = [c for c in self.cases.values() if c["CaseNumber"] == number]
        if not found:
            raise CrmNotFound(f"There is no case {number} in Salesforce.", "NOT_FOUND")
        return found[0]

    def create_case(self, contact_id, fields, contact=None):
        self._called("create_case")
        values = {k: v for k, v in fields.items() if v not in (None, "")}
        self._check("Case", values)
        number = f"{1000 + len(self.cases) + 1:08d}"
        case = {"Id": self._id("500"), "CaseNumber": number, "ContactId": contact_id, "Status": "New", **values}
        self.cases[case["Id"]] = case
        return case

    def activities(self, contact_id, kind, limit=10):
        self._called(f"activities {kind}")
        return [t for t in self.tasks if t.get("WhoId") == contact_id and t.get("kind") == kind][:limit]

    def record_url(self, record_id):
        return f"https://fake.example/{record_id}"

    # -- rules ---------------------------------------------------------------------------
    def _find(self, email, phone) -> list[ContactMatch]:
        if email:
            hits = [c for c in self.contacts.values() if (c.get("Email") or "").lower() == email.lower()]
            if hits:
                return [ContactMatch(c, "email") for c in hits]
        if phone:
            return [
                ContactMatch(c, "phone") for c in self.contacts.values() if phones.same_number(c.get("Phone"), phone)
            ]
        return []

    def _leads(self, email, phone) -> list[dict]:
        return [
            lead
            for lead in self.leads.values()
            if (email and (lead.get("Email") or "").lower() == email.lower())
            or (phone and phones.same_number(lead.get("Phone"), phone))
        ]

    @staticmethod
    def _check(sobject: str, values: dict) -> None:
        for (obj, field), valid in PICKLISTS.items():
            if obj == sobject and field in values and values[field] not in valid:
                raise CrmValidationError(
                    f"{values[field]!r} is not a valid {field} here. Choose one of: {', '.join(valid)}.",
                    "BAD_PICKLIST_VALUE",
                    fields=[field],
                )


def _lower_keys(values: dict) -> dict:
    """`Email=…` as add_contact's keyword `email=…`, other fields as they are."""
    return {("email" if k == "Email" else "phone" if k == "Phone" else k): v for k, v in values.items()}
