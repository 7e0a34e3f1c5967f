"""The simulated org's schema: standard fields and picklists of the objects the product uses.

Field types, lengths and picklist values follow Salesforce's standard objects (Object Reference,
Contact/Case/Task/Event/Account/Lead). Standard picklists are not restricted through the API;
Task.Status is marked restricted here so that INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST can be met.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Case": "500",
    "Task": "00T",
    "Event": "00U",
    "User": "005",
    "Group": "00G",
    "QueueSobject": "03g",
    "RecordType": "012",
    # Files: a ContentNote is a ContentDocument (the same 069 id: Object Reference, ContentNote "is built on
    # ContentVersion"; the ids ContentDocumentLink.ContentDocumentId takes are the notes' ids)
    "ContentDocument": "069",
    "ContentNote": "069",
    "ContentDocumentLink": "06A",
}
# Setup objects: queried through the API, never written by an integration (Setup makes them).
SETUP_OBJECTS = ("User", "Group", "QueueSobject", "RecordType")
MASTER_RECORD_TYPE_ID = "012000000000000AAA"  # the same in every org (LWC getPicklistValues, RecordTypeInfo)
# the object an id names: 069 is the ContentDocument (its ContentNote is found through it)
OBJECT_BY_PREFIX = {v: k for k, v in KEY_PREFIXES.items() if k != "ContentNote"}
# objects the API reads but never inserts: a ContentDocument is made by its ContentNote (or ContentVersion)
NOT_INSERTABLE = ("ContentDocument",)


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
    custom: bool = False
    encrypted: bool = False  # Shield Platform Encryption, probabilistic scheme (the `encrypted-email` profile)

    @property
    def filterable(self) -> bool:
        """Long text areas, base64 (blob) fields and probabilistically encrypted fields cannot be filtered
        or sorted in SOQL (describe says filterable/sortable false for them too; Shield: "can't be used"
        in WHERE or ORDER BY, help xcloud.security_pe_considerations_general.htm)."""
        return not (self.type == "textarea" and self.length > 255) and self.type != "base64" and not self.encrypted

    @property
    def sortable(self) -> bool:
        return self.filterable

    def describe(self, shield: bool = False) -> dict:
        """The field's describe. SHIELD (an org with Platform Encryption): every field also says whether it
        is `encrypted`, as real describes do (`"encrypted": false` on the rest); the plain org's describe
        is kept as it always was."""
        out = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted,
            "custom": self.custom,
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
        if shield:
            out["encrypted"] = self.encrypted
        return out


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
        Field("Department", "Department", "string", 80),
        Field("AccountId", "Account ID", "reference", 18, reference_to=("Account",), relationship="Account"),
        Field("LeadSource", "Lead Source", "picklist", 255, picklist=LEAD_SOURCE),
        Field("MailingStreet", "Mailing Street", "textarea", 255),
        Field("MailingCity", "Mailing City", "string", 40),
        Field("MailingState", "Mailing State/Province", "string", 80),
        Field("MailingPostalCode", "Mailing Zip/Postal Code", "string", 20),
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
        Field("Title", "Title", "string", 128),
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
        # set by lead conversion only (Object Reference, Lead: IsConverted, ConvertedDate, ConvertedAccountId,
        # ConvertedContactId are read-only; writing one is INVALID_FIELD_FOR_INSERT_UPDATE "Unable to
        # create/update fields: ConvertedOpportunityId…", restforce/restforce#483); see conversion.py
        Field(
            "IsConverted", "Converted", "boolean", nillable=False, createable=False, updateable=False, defaulted=True
        ),
        Field("ConvertedDate", "Converted Date", "date", createable=False, updateable=False),
        Field(
            "ConvertedAccountId",
            "Converted Account ID",
            "reference",
            18,
            createable=False,
            updateable=False,
            reference_to=("Account",),
            relationship="ConvertedAccount",
        ),
        Field(
            "ConvertedContactId",
            "Converted Contact ID",
            "reference",
            18,
            createable=False,
            updateable=False,
            reference_to=("Contact",),
            relationship="ConvertedContact",
        ),
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


def _register_files() -> None:
    """ContentDocument, ContentNote and ContentDocumentLink (Object Reference; see content.py for their rules).

    - ContentNote: Title (required: a note's title must not be empty, ktema.org "Importing Notes"), Content
      (base64: Create, Nillable, Update); ContentSize, FileType ("SNOTE"), FileExtension, TextPreview,
      IsReadOnly are read-only; OwnerId is set only with "Set Audit Fields Upon Record Creation".
    - ContentDocument: read and deleted through the API, never inserted (its note or version makes it).
    - ContentDocumentLink: ContentDocumentId and LinkedEntityId (Create, Filter: not updateable), ShareType
      (restricted V/C/I, nillable), Visibility (restricted AllUsers/InternalUsers/SharedUsers, defaulted);
      no owner, no created date: SystemModstamp only (Field Reference, ContentDocumentLink).
    """
    doc_id, created, modified, owner, deleted = _system("ContentDocument")
    SCHEMA["ContentDocument"] = {
        f.name: f
        for f in [
            doc_id,
            created,
            modified,
            replace(owner, createable=False),
            deleted,
            Field("Title", "Title", "string", 255, nillable=False, createable=False),
            Field("FileType", "File Type", "string", 20, createable=False, updateable=False),
            Field("FileExtension", "File Extension", "string", 40, createable=False, updateable=False),
            Field("ContentSize", "Size", "int", createable=False, updateable=False),
        ]
    }
    SCHEMA["ContentNote"] = {
        f.name: f
        for f in [
            replace(doc_id, label="ContentNote ID"),
            created,
            modified,
            replace(owner, createable=False, updateable=False),
            deleted,
            Field("Title", "Title", "string", 255, nillable=False),
            Field("Content", "Content", "base64"),
            Field("ContentSize", "Size", "int", createable=False, updateable=False),
            Field("FileType", "File Type", "string", 20, createable=False, updateable=False),
            Field("FileExtension", "File Extension", "string", 40, createable=False, updateable=False),
            Field("TextPreview", "Text Preview", "string", 255, createable=False, updateable=False),
            Field(
                "IsReadOnly",
                "Is Read Only",
                "boolean",
                nillable=False,
                createable=False,
                updateable=False,
                defaulted=True,
            ),
        ]
    }
    SCHEMA["ContentDocumentLink"] = {
        f.name: f
        for f in [
            replace(doc_id, label="ContentDocumentLink ID"),
            Field(
                "ContentDocumentId",
                "Content Document ID",
                "reference",
                18,
                nillable=False,
                updateable=False,
                reference_to=("ContentDocument",),
                relationship="ContentDocument",
            ),
            Field(
                "LinkedEntityId",
                "Linked Entity ID",
                "reference",
                18,
                nillable=False,
                updateable=False,
                reference_to=("Account", "Contact", "Lead", "Case", "Task", "Event", "User"),
                relationship="LinkedEntity",
            ),
            Field("ShareType", "Share Type", "picklist", 40, restricted=True, picklist=_pick("V", "C", "I")),
            Field(
                "Visibility",
                "Visibility",
                "picklist",
                40,
                defaulted=True,
                restricted=True,
                picklist=_pick("AllUsers", "InternalUsers", "SharedUsers", default="AllUsers"),
            ),
            deleted,
            Field("SystemModstamp", "System Modstamp", "datetime", nillable=False, createable=False, updateable=False),
        ]
    }


_register_files()


def _read_only(*fields: Field) -> list[Field]:
    """Setup objects' fields: readable through the API, written only in Setup."""
    return [replace(f, createable=False, updateable=False) for f in fields]


def _register_setup(name: str, fields: list[Field]) -> None:
    """Setup objects carry no OwnerId or IsDeleted (Object Reference: User, RecordType, QueueSobject)."""
    SCHEMA[name] = {f.name: f for f in _system(name)[:3] + _read_only(*fields)}


_register_setup(
    "User",
    [
        Field("Username", "Username", "string", 80, nillable=False),
        Field("FirstName", "First Name", "string", 40),
        Field("LastName", "Last Name", "string", 80, nillable=False),
        Field("Name", "Full Name", "string", 121),
        Field("Email", "Email", "email", 128, nillable=False),
        Field("Alias", "Alias", "string", 8, nillable=False),
        Field("FederationIdentifier", "SAML Federation ID", "string", 512),
        Field("IsActive", "Active", "boolean", nillable=False, defaulted=True),
    ],
)
_register_setup(
    "Group",
    [
        Field("Name", "Name", "string", 40),
        Field("DeveloperName", "Developer Name", "string", 80),
        Field("Type", "Type", "picklist", 40, nillable=False, picklist=_pick("Regular", "Role", "Queue")),
        Field("Email", "Email", "email", 255),
    ],
)
_register_setup(
    "QueueSobject",
    [
        Field("QueueId", "Group ID", "reference", 18, nillable=False, reference_to=("Group",), relationship="Queue"),
        Field("SobjectType", "Sobject Type", "picklist", 40, nillable=False, picklist=_pick("Case", "Lead")),
    ],
)
_register_setup(
    "RecordType",
    [
        Field("Name", "Record Type Label", "string", 80, nillable=False),
        Field("DeveloperName", "Record Type Name", "string", 80, nillable=False),
        Field("SobjectType", "SObject Type Name", "picklist", 40, nillable=False, picklist=_pick("Case", "Contact")),
        Field("IsActive", "Active", "boolean", nillable=False, defaulted=True),
        Field("Description", "Description", "string", 255),
    ],
)


def master_record_type_info(sobject: str, version: str) -> dict:
    """What describe's `recordTypeInfos` holds for an object without record types: Master alone,
    available and the default (DescribeSObjectResult.recordTypeInfos; RecordTypeInfo class)."""
    return {
        "active": True,
        "available": True,
        "defaultRecordTypeMapping": True,
        "developerName": "Master",
        "master": True,
        "name": "Master",
        "recordTypeId": MASTER_RECORD_TYPE_ID,
        "urls": {"layout": f"/services/data/v{version}/sobjects/{sobject}/describe/layouts/{MASTER_RECORD_TYPE_ID}"},
    }


@dataclass
class Describe:
    """`GET sobjects/X/describe` (the subset of keys a client reads), of the fields the caller may
    see (FIELDS, default the whole schema) and the record types it may use (RECORD_TYPES)."""

    name: str
    extra: dict = field(default_factory=dict)
    fields: dict[str, Field] | None = None
    record_types: list[dict] | None = None
    shield: bool = False  # Platform Encryption on: each field says whether it is `encrypted`

    def body(self, version: str) -> dict:
        prefix = KEY_PREFIXES[self.name]
        setup = self.name in SETUP_OBJECTS
        fields = self.fields if self.fields is not None else SCHEMA[self.name]
        return {
            "name": self.name,
            "label": self.name,
            "labelPlural": self.name + ("es" if self.name.endswith("s") else "s"),
            "keyPrefix": prefix,
            "custom": False,
            "createable": not setup and self.name not in NOT_INSERTABLE,
            "updateable": not setup,
            "queryable": True,
            "searchable": self.name in ("Account", "Contact", "Lead", "Case"),
            "urls": {
                "sobject": f"/services/data/v{version}/sobjects/{self.name}",
                "describe": f"/services/data/v{version}/sobjects/{self.name}/describe",
                "rowTemplate": f"/services/data/v{version}/sobjects/{self.name}/{{ID}}",
            },
            "fields": [f.describe(self.shield) for f in fields.values()],
            "recordTypeInfos": self.record_types
            if self.record_types is not None
            else [master_record_type_info(self.name, version)],
        }
