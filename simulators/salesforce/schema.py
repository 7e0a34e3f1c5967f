"""The simulated org's schema: standard fields and picklists of the objects the product uses.

Field types, lengths and picklist values follow Salesforce's standard objects (Object Reference,
Contact/Case/Task/Event/Account/Lead). Standard picklists are not restricted through the API;
Task.Status is marked restricted here so that INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST can be met.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Case": "500",
    "Task": "00T",
    "Event": "00U",
    "User": "005",
}
OBJECT_BY_PREFIX = {v: k for k, v in KEY_PREFIXES.items()}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str = "string"
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False
    picklist: tuple[tuple[str, bool, bool], ...] = ()  # (value, active, default)
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None

    @property
    def filterable(self) -> bool:
        """Long text areas cannot be filtered or sorted in SOQL (Salesforce's describe says so too)."""
        return not (self.type == "textarea" and self.length > 255)

    @property
    def sortable(self) -> bool:
        return self.filterable

    def describe(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted,
            "custom": False,
            "restrictedPicklist": self.restricted,
            "filterable": self.filterable,
            "sortable": self.sortable,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship,
            "picklistValues": [
                {"active": active, "defaultValue": default, "label": value, "validFor": None, "value": value}
                for value, active, default in self.picklist
            ],
        }


def _pick(
    *values: str, default: str | None = None, inactive: tuple[str, ...] = ()
) -> tuple[tuple[str, bool, bool], ...]:
    return tuple((v, v not in inactive, v == default) for v in values)


def _system(prefix_obj: str) -> list[Field]:
    return [
        Field("Id", f"{prefix_obj} ID", "id", 18, nillable=False, createable=False, updateable=False, defaulted=True),
        Field(
            "CreatedDate",
            "Created Date",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
        ),
        Field(
            "LastModifiedDate",
            "Last Modified Date",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
        ),
        Field(
            "OwnerId",
            "Owner ID",
            "reference",
            18,
            nillable=False,
            defaulted=True,
            reference_to=("User",),
            relationship="Owner",
        ),
        Field("IsDeleted", "Deleted", "boolean", nillable=False, createable=False, updateable=False, defaulted=True),
    ]


LEAD_SOURCE = _pick("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")

SCHEMA: dict[str, dict[str, Field]] = {}


def _register(name: str, fields: list[Field]) -> None:
    SCHEMA[name] = {f.name: f for f in _system(name) + fields}


_register(
    "Account",
    [
        Field("Name", "Account Name", "string", 255, nillable=False),
        Field("Phone", "Account Phone", "phone", 40),
        Field("Website", "Website", "url", 255),
        Field(
            "Industry",
            "Industry",
            "picklist",
            255,
            picklist=_pick("Technology", "Retail", "Manufacturing", "Healthcare", "Other"),
        ),
        Field("BillingCity", "Billing City", "string", 40),
        Field("BillingCountry", "Billing Country", "string", 80),
    ],
)
_register(
    "Contact",
    [
        Field("FirstName", "First Name", "string", 40),
        Field("LastName", "Last Name", "string", 80, nillable=False),
        Field("Name", "Full Name", "string", 121, createable=False, updateable=False),
        Field("Email", "Email", "email", 80),
        Field("Phone", "Business Phone", "phone", 40),
        Field("MobilePhone", "Mobile Phone", "phone", 40),
        Field("Title", "Title", "string", 128),
        Field("AccountId", "Account ID", "reference", 18, reference_to=("Account",), relationship="Account"),
        Field("LeadSource", "Lead Source", "picklist", 255, picklist=LEAD_SOURCE),
        Field("MailingCity", "Mailing City", "string", 40),
        Field("MailingState", "Mailing State/Province", "string", 80),
        Field("MailingCountry", "Mailing Country", "string", 80),
        Field("Description", "Contact Description", "textarea", 32000),
    ],
)
_register(
    "Lead",
    [
        Field("FirstName", "First Name", "string", 40),
        Field("LastName", "Last Name", "string", 80, nillable=False),
        Field("Name", "Full Name", "string", 121, createable=False, updateable=False),
        Field("Company", "Company", "string", 255, nillable=False),
        Field("Email", "Email", "email", 80),
        Field("Phone", "Phone", "phone", 40),
        Field("MobilePhone", "Mobile Phone", "phone", 40),
        Field(
            "Status",
            "Lead Status",
            "picklist",
            255,
            nillable=False,
            defaulted=True,
            picklist=_pick(
                "Open - Not Contacted",
                "Working - Contacted",
                "Closed - Converted",
                "Closed - Not Converted",
                default="Open - Not Contacted",
            ),
        ),
        Field("LeadSource", "Lead Source", "picklist", 255, picklist=LEAD_SOURCE),
    ],
)
_register(
    "Case",
    [
        Field(
            "CaseNumber",
            "Case Number",
            "string",
            30,
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
        ),
        Field("Subject", "Subject", "string", 255),
        Field("Description", "Description", "textarea", 32000),
        Field(
            "Status",
            "Status",
            "picklist",
            40,
            defaulted=True,
            picklist=_pick("New", "Working", "Escalated", "Closed", default="New"),
        ),
        Field(
            "Priority",
            "Priority",
            "picklist",
            40,
            defaulted=True,
            picklist=_pick("High", "Medium", "Low", default="Medium"),
        ),
        Field("Origin", "Case Origin", "picklist", 40, picklist=_pick("Phone", "Email", "Web", "Chat")),
        Field(
            "Type",
            "Case Type",
            "picklist",
            40,
            picklist=_pick("Mechanical", "Electrical", "Electronic", "Structural", "Other"),
        ),
        Field(
            "Reason",
            "Case Reason",
            "picklist",
            40,
            picklist=_pick(
                "Installation",
                "Equipment Complexity",
                "Performance",
                "Breakdown",
                "Equipment Design",
                "Feedback",
                "Other",
            ),
        ),
        Field("ContactId", "Contact ID", "reference", 18, reference_to=("Contact",), relationship="Contact"),
        Field("AccountId", "Account ID", "reference", 18, reference_to=("Account",), relationship="Account"),
        Field("IsClosed", "Closed", "boolean", nillable=False, createable=False, updateable=False, defaulted=True),
        Field("ClosedDate", "Closed Date", "datetime", createable=False, updateable=False),
        Field("SuppliedEmail", "Web Email", "email", 80),
    ],
)
_register(
    "Task",
    [
        Field("Subject", "Subject", "combobox", 255),
        Field("Description", "Description", "textarea", 32000),
        Field(
            "Status",
            "Status",
            "picklist",
            40,
            nillable=False,
            defaulted=True,
            restricted=True,
            picklist=_pick(
                "Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred", default="Not Started"
            ),
        ),
        Field(
            "Priority",
            "Priority",
            "picklist",
            40,
            nillable=False,
            defaulted=True,
            picklist=_pick("High", "Normal", "Low", default="Normal"),
        ),
        Field("ActivityDate", "Due Date Only", "date"),
        Field("WhoId", "Name ID", "reference", 18, reference_to=("Contact", "Lead"), relationship="Who"),
        Field("WhatId", "Related To ID", "reference", 18, reference_to=("Account", "Case"), relationship="What"),
        Field("Type", "Type", "picklist", 40, picklist=_pick("Call", "Email", "Meeting", "Other")),
        Field("TaskSubtype", "Task Subtype", "picklist", 40, picklist=_pick("Task", "Email", "Call"), updateable=False),
        Field("CallDurationInSeconds", "Call Duration", "int"),
    ],
)
_register(
    "Event",
    [
        Field("Subject", "Subject", "combobox", 255),
        Field("Description", "Description", "textarea", 32000),
        Field("StartDateTime", "Start Date Time", "datetime"),
        Field("EndDateTime", "End Date Time", "datetime"),
        Field("DurationInMinutes", "Duration", "int"),
        Field("Location", "Location", "string", 255),
        Field("WhoId", "Name ID", "reference", 18, reference_to=("Contact", "Lead"), relationship="Who"),
        Field("WhatId", "Related To ID", "reference", 18, reference_to=("Account", "Case"), relationship="What"),
    ],
)


@dataclass
class Describe:
    """`GET sobjects/X/describe` (the subset of keys a client reads)."""

    name: str
    extra: dict = field(default_factory=dict)

    def body(self, version: str) -> dict:
        prefix = KEY_PREFIXES[self.name]
        return {
            "name": self.name,
            "label": self.name,
            "labelPlural": self.name + ("es" if self.name.endswith("s") else "s"),
            "keyPrefix": prefix,
            "custom": False,
            "createable": True,
            "updateable": True,
            "queryable": True,
            "searchable": self.name in ("Account", "Contact", "Lead", "Case"),
            "urls": {
                "sobject": f"/services/data/v{version}/sobjects/{self.name}",
                "describe": f"/services/data/v{version}/sobjects/{self.name}/describe",
                "rowTemplate": f"/services/data/v{version}/sobjects/{self.name}/{{ID}}",
            },
            "fields": [f.describe() for f in SCHEMA[self.name].values()],
        }
