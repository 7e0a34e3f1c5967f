"""Records of the simulated org: 18-character ids, CaseNumber, dates, and Salesforce's validation.

Errors are raised as `SfError(status, errorCode, message, fields)` and become Salesforce's JSON
array `[{"message", "errorCode", "fields"}]` at the HTTP layer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from simulators.salesforce import content, owners, recordtypes
from simulators.salesforce.errors import ID_RE, SfError
from simulators.salesforce.schema import (
    KEY_PREFIXES,
    NOT_INSERTABLE,
    OBJECT_BY_PREFIX,
    SCHEMA,
    SETUP_OBJECTS,
    Field,
)

__all__ = ["ID_RE", "SfError", "Store", "id18", "parse_sf_datetime", "sf_datetime"]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SETUP_LABELS = {
    "User": "User",
    "Group": "Group",
    "QueueSobject": "Queue Sobject",
    "RecordType": "Record Type",
    "ContentDocument": "Content Document",
}
# "cannot reference converted lead" (CANNOT_UPDATE_CONVERTED_LEAD): updating a converted lead
# (gravityplus/Gravity-Forms-Salesforce#342) or an activity pointing at one (the DML error met by a Task
# change on a converted lead, SFDO-Community/declarative-lookup-rollup-summaries#164)
CONVERTED = SfError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])

# A save's extra rules (record types, duplicate rules, assignment rules): called with the object,
# the record about to be saved and the stored one (None on insert); may raise SfError or adjust it.
Hook = Callable[[str, dict, "dict | None"], None]


def id18(id15: str) -> str:
    """Salesforce's case-safe suffix: one character per 5-character chunk, a bit per upper-case letter."""
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if "A" <= ch <= "Z")
        suffix += _SUFFIX[bits]
    return id15 + suffix


def sf_datetime(when: dt.datetime | None = None) -> str:
    when = (when or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def parse_sf_datetime(text: str) -> dt.datetime:
    text = text.replace("Z", "+0000")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(text, fmt)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
    raise ValueError(text)


class Store:
    """The org's rows and the checks every save meets, whoever saves. SCHEMA is the org's schema
    (its profiles may add fields: see orgschema); a save may pass the caller's VIEW of an object's
    fields (field-level security) and HOOKS for the org's rules."""

    def __init__(self, org_id: str = "00D5g000004SIMu", username: str = "integration@example.com"):
        self.lock = threading.RLock()
        self.schema: dict[str, dict[str, Field]] = SCHEMA
        self.records: dict[str, dict[str, dict]] = {name: {} for name in SCHEMA}
        self._counter = itertools.count(1)
        self._case_numbers = itertools.count(1001)
        self.org_id = id18(org_id)
        self.user_id = self.new_id("User")
        self.changed_at: dict[str, float] = {}  # record id -> when it was last written (for the search index's lag)
        self.rules: list[tuple[str, str, str, str]] = []  # validation rules: (sobject, field, refused text, message)
        # deleted records stay in the recycle bin (15-character id -> object): reading, changing or pointing a
        # lookup at one is refused with ENTITY_IS_DELETED, where an id that never existed is NOT_FOUND
        self.recycle_bin: dict[str, str] = {}
        # every org has its users: the integration user is a User row, so it can own records
        self.put(
            "User",
            {
                "Username": username,
                "FirstName": "Integration",
                "LastName": "User",
                "Email": username if "@" in username else "integration@example.com",
                "Alias": "integ",
                "IsActive": True,
            },
            record_id=self.user_id,
        )

    def new_id(self, sobject: str) -> str:
        n = next(self._counter)
        digits = ""
        for _ in range(6):
            n, r = divmod(n, 62)
            digits = _B62[r] + digits
        return id18(KEY_PREFIXES[sobject] + "5g0000" + digits)

    def find(self, record_id: str) -> tuple[str, dict] | None:
        if not ID_RE.match(record_id or ""):
            return None
        sobject = OBJECT_BY_PREFIX.get(record_id[:3])
        if sobject is None or sobject not in self.records:
            return None
        for rid, rec in self.records[sobject].items():
            if rid[:15] == record_id[:15]:
                return sobject, rec
        return None

    def get(self, sobject: str, record_id: str) -> dict:
        if not ID_RE.match(record_id or ""):
            raise SfError(400, "MALFORMED_ID", f"{sobject} ID: id value of incorrect type: {record_id}", ["Id"])
        found = self.find(record_id)
        if found is None and self.recycle_bin.get(record_id[:15]) == sobject:
            raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        if found is not None and found[0] != sobject:  # a ContentNote is found through its ContentDocument
            found = next(
                ((sobject, r) for rid, r in self.records.get(sobject, {}).items() if rid[:15] == record_id[:15]), None
            )
        if found is None:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return found[1]

    def delete(self, sobject: str, record_id: str) -> None:
        """Into the recycle bin, as a user's delete or the losing side of a merge does."""
        with self.lock:
            _refuse_setup(sobject, "deleted")
            record = self.get(sobject, record_id)
            content.before_delete(self, sobject, record)
            self.records[sobject].pop(record["Id"], None)
            self.recycle_bin[record["Id"][:15]] = sobject
            content.after_delete(self, sobject, record)

    def snapshot(self) -> dict[str, dict[str, dict]]:
        """Every row as it is now (a composite's allOrNone rollback puts them back)."""
        with self.lock:
            return {name: {rid: dict(row) for rid, row in rows.items()} for name, rows in self.records.items()}

    def restore(self, saved: dict[str, dict[str, dict]]) -> None:
        with self.lock:
            for name, rows in saved.items():
                current = self.records[name]
                for rid in [rid for rid in current if rid not in rows]:
                    del current[rid]
                for rid, row in rows.items():
                    if rid in current:
                        current[rid].clear()
                        current[rid].update(row)
                    else:
                        current[rid] = row

    def put(self, sobject: str, values: dict, record_id: str | None = None) -> dict:
        """A setup row (user, queue, record type) as Setup makes it: no API validation."""
        with self.lock:
            record: dict[str, Any] = {name: None for name in self.schema[sobject]}
            record.update(values)
            record["Id"] = record_id or self.new_id(sobject)
            record["CreatedDate"] = record["LastModifiedDate"] = sf_datetime()
            if sobject == "User":
                record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
            self.records[sobject][record["Id"]] = record
            return record

    def remove(self, sobject: str, record_id: str) -> None:
        """A setup row taken away with the org customisation that made it (no recycle bin)."""
        with self.lock:
            self.records[sobject].pop(record_id, None)

    # -- writes --------------------------------------------------------------------------
    def create(
        self,
        sobject: str,
        values: dict,
        when: dt.datetime | None = None,
        *,
        view: dict[str, Field] | None = None,
        owner: str | None = None,
        hooks: Sequence[Hook] = (),
    ) -> dict:
        with self.lock:
            _refuse_setup(sobject, "inserted")
            if sobject in NOT_INSERTABLE:
                _refuse_setup_entity(sobject, "inserted")
            fields = self.schema[sobject]
            self._check_fields(sobject, values, creating=True, view=view)
            record: dict[str, Any] = {name: None for name in fields}
            for name, f in fields.items():
                if f.type == "picklist" and f.defaulted:
                    record[name] = next((v for v, _a, d in f.picklist if d), None)
                if f.type == "boolean":
                    record[name] = False
            record.update(values)
            missing = [
                n
                for n, f in fields.items()
                if not f.nillable and f.createable and not f.defaulted and record.get(n) in (None, "")
            ]
            if missing:
                raise SfError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            content.before_save(self, sobject, record, None)
            self._check_rules(sobject, record)
            self._check_integrity(sobject, record)
            if "OwnerId" in fields:  # not on a ContentDocumentLink
                record["OwnerId"] = record.get("OwnerId") or owner or self.user_id
            for hook in hooks:
                hook(sobject, record, None)
            stamp = sf_datetime(when)
            record["Id"] = self.new_id(sobject)
            record["CreatedDate"] = record["LastModifiedDate"] = stamp
            record["IsDeleted"] = False
            if sobject == "Case":
                record["CaseNumber"] = f"{next(self._case_numbers):08d}"
            self._derive(sobject, record)
            self.records[sobject][record["Id"]] = record
            self.changed_at[record["Id"]] = time.time()
            content.after_save(self, sobject, record, True)
            return record

    def update(
        self,
        sobject: str,
        record_id: str,
        values: dict,
        *,
        view: dict[str, Field] | None = None,
        hooks: Sequence[Hook] = (),
    ) -> None:
        with self.lock:
            _refuse_setup(sobject, "updated")
            record = self.get(sobject, record_id)
            if sobject == "Lead" and record.get("IsConverted"):
                raise CONVERTED
            self._check_fields(sobject, values, creating=False, view=view)
            merged = {**record, **values}
            missing = [
                n
                for n, f in self.schema[sobject].items()
                if not f.nillable and f.updateable and n in values and merged.get(n) in (None, "")
            ]
            if missing:
                raise SfError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            content.before_save(self, sobject, merged, record)
            self._check_rules(sobject, merged)
            self._check_integrity(sobject, merged)
            self._check_kept_owner(sobject, merged)
            for hook in hooks:
                hook(sobject, merged, record)
            changed = {k: v for k, v in merged.items() if k in values or record.get(k) != v}
            record.update(changed)
            record["LastModifiedDate"] = sf_datetime()
            self.changed_at[record["Id"]] = time.time()
            self._derive(sobject, record)
            content.after_save(self, sobject, record, False)

    def _derive(self, sobject: str, record: dict) -> None:
        if sobject in ("Contact", "Lead"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
        if sobject == "Case":
            closed = record.get("Status") == "Closed"
            if closed and not record.get("IsClosed"):
                record["ClosedDate"] = sf_datetime()
            record["IsClosed"] = closed

    def _check_integrity(self, sobject: str, record: dict) -> None:
        """An activity on a Lead cannot also be related to a record (WhatId): Salesforce refuses the pair;
        nor can it name a converted lead."""
        if sobject in ("Task", "Event") and str(record.get("WhoId") or "").startswith("00Q") and record.get("WhatId"):
            raise SfError(
                400, "FIELD_INTEGRITY_EXCEPTION", "field integrity exception: WhoId, WhatId", ["WhoId", "WhatId"]
            )
        if sobject in ("Task", "Event") and str(record.get("WhoId") or "").startswith("00Q"):
            lead = self.find(str(record["WhoId"]))
            if lead is not None and lead[1].get("IsConverted"):
                raise CONVERTED

    def _check_rules(self, sobject: str, record: dict) -> None:
        """The org's validation rules: a field holding the refused text fails the save."""
        for rule_object, name, refused, message in self.rules:
            if rule_object == sobject and refused.lower() in str(record.get(name) or "").lower():
                raise SfError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", message, [])

    def _check_kept_owner(self, sobject: str, record: dict) -> None:
        """Saving a record an inactive user still owns fails, as without "Update Records with Inactive Owners"."""
        found = self.find(str(record.get("OwnerId") or ""))
        if found is not None and found[0] == "User":
            owners.check_active(found[1], sobject)

    def _check_owner(self, sobject: str, label: str, value: str) -> None:
        owners.check_owner(
            self.find,
            self.records["QueueSobject"].values(),
            lambda rid: rid[:15] in self.recycle_bin,
            sobject,
            label,
            value,
        )

    def _check_fields(self, sobject: str, values: dict, creating: bool, view: dict[str, Field] | None = None) -> None:
        fields = view if view is not None else self.schema[sobject]
        for name, value in values.items():
            f = fields.get(name)
            if f is None:
                raise SfError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on sobject of type {sobject}",
                    None,
                )
            if name == "Id" and creating:
                raise SfError(400, "INVALID_FIELD", "The Id field should not be specified in the sobject data.", None)
            if (creating and not f.createable) or (not creating and not f.updateable):
                raise SfError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    [name],
                )
            if value is None:
                continue
            if f.type in ("string", "textarea", "email", "phone", "url", "combobox", "picklist") and not isinstance(
                value, str
            ):
                raise SfError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of string from {type(value).__name__} value for field {name}",
                    None,
                )
            if isinstance(value, str) and f.length and len(value) > f.length:
                raise SfError(
                    400, "STRING_TOO_LONG", f"{f.label}: data value too large: {value} (max length={f.length})", [name]
                )
            if f.type == "email" and value and not _EMAIL_RE.match(value):
                raise SfError(400, "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [name])
            if f.type == "picklist" and f.restricted and value not in [v for v, active, _d in f.picklist if active]:
                raise SfError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label}: bad value for restricted picklist field: {value}",
                    [name],
                )
            if name == "OwnerId" and value:
                self._check_owner(sobject, f.label, value)
                continue
            if name == "RecordTypeId" and value:
                recordtypes.check_id(self.find, sobject, value)
                continue
            if f.type == "reference" and value:
                target = self.find(value) if ID_RE.match(value) else None
                if not ID_RE.match(value):
                    raise SfError(400, "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [name])
                if target is None and value[:15] in self.recycle_bin:
                    raise SfError(400, "ENTITY_IS_DELETED", "entity is deleted", [])
                if target is None or (f.reference_to and target[0] not in f.reference_to and target[0] != "User"):
                    raise SfError(
                        400, "INVALID_CROSS_REFERENCE_KEY", f"{f.label}: id value of incorrect type: {value}", [name]
                    )
            if f.type == "date" and value:
                try:
                    dt.date.fromisoformat(value)
                except (TypeError, ValueError):
                    raise SfError(
                        400,
                        "JSON_PARSER_ERROR",
                        f'Cannot deserialize value of type `java.util.Date` from String "{value}"',
                        None,
                    ) from None


def _refuse_setup(sobject: str, verb: str) -> None:
    """Users, queues and record types are made in Setup: through the API the save is refused
    ("entity type cannot be inserted: Campaign", CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY, as seen
    for objects a user may not create)."""
    if sobject in SETUP_OBJECTS:
        _refuse_setup_entity(sobject, verb)


def _refuse_setup_entity(sobject: str, verb: str) -> None:
    """The same refusal for an object the API reads but never inserts (a ContentDocument)."""
    raise SfError(
        400, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", f"entity type cannot be {verb}: {_SETUP_LABELS[sobject]}", []
    )
