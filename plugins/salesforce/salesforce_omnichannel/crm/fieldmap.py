"""FIELD_MAP on the Salesforce side: which "Object.Field" keys make sense at all, whether the org has
and lets the integration user write each mapped field (describe, and the record type's picklist
values), what a value must look like to fit a field, and which required fields nobody fills.

A FIELD_MAP entry is "Object.Field" -> source; this module only needs to know whether a source is a
literal ("=Gold") or comes from the chat (anything else: chat/fieldmap.py knows the chat sources).
Describe answers "does the field exist" for the integration user: a field its field-level security
hides is left out of describe, exactly as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from .errors import CrmError, CrmNotFound

OBJECTS = ("Contact", "Case", "Task", "Lead", "Account")
# fields another setting owns: FIELD_MAP refuses them whatever the org says
MANAGED = {
    "Id": "is the record's own Id",
    "OwnerId": "is set by OWNER and FALLBACK_OWNER",
    "RecordTypeId": "is set by RECORD_TYPES",
}
# what the bot itself always writes when it creates each object: never reported as unfilled
BOT_SETS: dict[str, tuple[str, ...]] = {
    "Contact": ("LastName",),
    "Case": ("Subject",),
    "Task": ("Subject", "Status", "Priority"),
    "Lead": ("LastName", "Company"),
    "Account": ("Name",),
}
# an API name: a letter, then letters, digits and single underscores (custom: Name__c, ns__Name__c)
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:__?[A-Za-z0-9]+)*")
MAX_FIELD_NAME = 80
# describe types a chat value (text) may go into; the others take a literal of their own kind
TEXT_TYPES = frozenset(
    {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox", "encryptedstring"}
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent", "long"})
_RECORD_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def split_key(text: str) -> tuple[str, str]:
    """("Contact", "Customer_Tier__c") from "Contact.Customer_Tier__c" (the object's case mended);
    ValueError with the reason, in words an admin can act on."""
    sobject, dot, name = text.strip().partition(".")
    if not dot or not sobject or not name:
        raise ValueError("is not Object.Field, e.g. 'Contact.Customer_Tier__c'")
    canonical = next((o for o in OBJECTS if o.lower() == sobject.strip().lower()), None)
    if canonical is None:
        raise ValueError(f"names {sobject.strip()[:40]!r}: FIELD_MAP fills fields of {', '.join(OBJECTS)}")
    name = name.strip()
    if len(name) > MAX_FIELD_NAME or not _FIELD_NAME.fullmatch(name):
        raise ValueError(
            f"has {name[:40]!r}, which is no Salesforce field API name (a letter, then letters, digits and "
            "underscores, e.g. Customer_Tier__c)"
        )
    managed = next((why for field, why in MANAGED.items() if field.lower() == name.lower()), None)
    if managed:
        raise ValueError(f"names {name}, which {managed}, not by FIELD_MAP")
    return canonical, name


def is_literal(source: str) -> bool:
    return source.startswith("=")


def mapped_fields(field_map: Mapping[str, str], sobject: str) -> set[str]:
    """The fields of SOBJECT that FIELD_MAP fills (for `required_unfilled`'s FILLED)."""
    return {key.partition(".")[2] for key in field_map if key.partition(".")[0] == sobject}


class Describes(Protocol):
    """What this module reads of the describe cache (crm/metadata.py MetadataCache)."""

    def describe(self, sobject: str) -> dict: ...
    def field(self, sobject: str, name: str) -> dict | None: ...
    def writable(self, sobject: str, values: dict, creating: bool) -> tuple[dict, list[str]]: ...


class FieldMapOrg:
    """FIELD_MAP against one org: METADATA is the CRM core's describe cache (`crm.metadata`) and
    VALID_VALUES the active picklist values of a field for the record type the bot uses
    (`crm.valid_values`). Describe errors other than an object the user may not see propagate
    (CrmError): the org cannot be checked now."""

    def __init__(self, metadata: Describes, valid_values: Callable[[str, str], list[str]]):
        self.metadata = metadata
        self.valid_values = valid_values

    @classmethod
    def of(cls, crm: Any) -> FieldMapOrg:
        return cls(crm.metadata, crm.valid_values)

    # -- the configuration check ---------------------------------------------------------------
    def problems(self, field_map: Mapping[str, str]) -> list[str]:
        """One sentence per entry the org cannot take, naming the entry and the fix: the field is
        unknown (or hidden from the integration user), not writable for it, of a kind the source
        cannot fill, or the literal is no valid value for it. [] when every entry fits."""
        found: list[str] = []
        missing_objects: set[str] = set()
        seen: dict[str, str] = {}  # the described field -> the first entry naming it
        for key, source in field_map.items():
            sobject, _, name = key.partition(".")
            if sobject in missing_objects:
                continue
            try:
                described = self._field(sobject, name)
            except CrmNotFound:
                missing_objects.add(sobject)
                found.append(
                    f"FIELD_MAP {key!r}: the integration user cannot see {sobject} records at all: give its "
                    f"profile or permission set access to {sobject}, or remove the {sobject} entries."
                )
                continue
            if described is None:
                found.append(self._unknown(sobject, name, key))
                continue
            name = described["name"]
            first = seen.setdefault(f"{sobject}.{name}", key)
            if first != key:  # the same field spelt in another case: Salesforce's names are case-insensitive
                found.append(f"FIELD_MAP {key!r}: {sobject}.{name} is mapped twice ({first!r} and {key!r}): keep one.")
                continue
            kept, _ = self.metadata.writable(sobject, {name: ""}, creating=True)
            kept_update, _ = self.metadata.writable(sobject, {name: ""}, creating=False)
            if not kept and not kept_update:
                found.append(
                    f"FIELD_MAP {key!r}: the integration user may not write {sobject}.{name} (it is read-only "
                    "for it): give it edit access in the field's field-level security, or remove the entry."
                )
                continue
            problem = self._source_problem(sobject, described, source)
            if problem:
                found.append(f"FIELD_MAP {key!r}: {problem}")
        return found

    def _field(self, sobject: str, name: str) -> dict | None:
        """NAME's describe on SOBJECT, matched case-insensitively as Salesforce matches API names."""
        exact = self.metadata.field(sobject, name)
        if exact is not None:
            return exact
        return next(
            (f for f in self.metadata.describe(sobject)["fields"] if str(f.get("name", "")).lower() == name.lower()),
            None,
        )

    def _unknown(self, sobject: str, name: str, key: str) -> str:
        names = [str(f.get("name")) for f in self.metadata.describe(sobject)["fields"]]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return (
            f"FIELD_MAP {key!r}: {sobject} has no field {name} that the integration user can see{hint}: check the "
            f"API name in Setup (Object Manager, {sobject}, Fields & Relationships), or give the integration user "
            "access to the field in its field-level security."
        )

    def _source_problem(self, sobject: str, described: dict, source: str) -> str | None:
        name, kind = described["name"], str(described.get("type") or "string")
        if not is_literal(source):
            if kind in TEXT_TYPES:
                return None
            return f"{sobject}.{name} is {_kind_words(described)}: {_literal_advice(described)}, not {source[:40]!r}."
        literal = source[1:]
        if kind in ("picklist", "multipicklist"):
            valid = self.valid_values(sobject, name)
            wanted = [part.strip() for part in literal.split(";")] if kind == "multipicklist" else [literal]
            bad = [w for w in wanted if not any(v.lower() == w.lower() for v in valid)]
            if bad:
                return (
                    f"{bad[0][:40]!r} is not an active {sobject}.{name} value for the bot's record type: use one "
                    f"of {', '.join(valid) or '(none: the field has no active values)'}."
                )
            return None
        if kind in TEXT_TYPES:
            length = int(described.get("length") or 0)
            if length and len(literal) > length:
                return f"the literal is {len(literal)} characters, more than {sobject}.{name} holds ({length})."
            if kind == "email" and not _EMAIL.fullmatch(literal):
                return f"{sobject}.{name} is an email field and {literal[:40]!r} is no email address."
            return None
        if _literal_value(described, literal) is None:
            return f"{sobject}.{name} is {_kind_words(described)}: {_literal_advice(described)}, not {source[:40]!r}."
        return None

    # -- required fields -------------------------------------------------------------------
    def required(self, sobject: str) -> list[dict]:
        """SOBJECT's fields that a create must name: not nillable, createable, not defaulted on create."""
        return [
            f
            for f in self.metadata.describe(sobject)["fields"]
            if f.get("nillable") is False and f.get("createable") and not f.get("defaultedOnCreate")
        ]

    def required_unfilled(
        self, sobject: str, filled: Iterable[str], bot_sets: Iterable[str] | None = None
    ) -> list[str]:
        """One sentence per required SOBJECT field that neither the bot (BOT_SETS[sobject] unless
        BOT_SETS is given) nor FILLED (FIELD_MAP's fields of SOBJECT: `mapped_fields`) fills, with the
        FIELD_MAP entry to add. Fields are compared case-insensitively."""
        taken = {f.lower() for f in filled} | {
            f.lower() for f in (BOT_SETS.get(sobject, ()) if bot_sets is None else bot_sets)
        }
        return [
            f"{sobject}.{f['name']} is required: add it to FIELD_MAP, e.g. {self.example(sobject, f['name'])}."
            for f in self.required(sobject)
            if str(f["name"]).lower() not in taken
        ]

    def required_missing(self, sobject: str, fields: Iterable[str]) -> str:
        """For a save of SOBJECT that Salesforce refused with REQUIRED_FIELD_MISSING (FIELDS: the
        error's `fields`): which fields, and the FIELD_MAP entries that would fill them."""
        names = [f for f in fields if f]
        if not names:
            return f"Salesforce refused the {sobject}: a field the org requires is missing (Salesforce named none)."
        where = ", ".join(f"{sobject}.{n}" for n in names)
        examples = "; ".join(self.example(sobject, n) for n in names)
        return (
            f"Salesforce requires {where}, which the bot does not fill: an admin can add it to FIELD_MAP, "
            f"e.g. {examples}."
        )

    def example(self, sobject: str, name: str) -> str:
        """A FIELD_MAP entry that fills SOBJECT.NAME: a valid picklist value as a literal, the right
        chat source for an email or phone, a literal of the field's kind otherwise."""
        key = f"{sobject}.{name}"
        try:
            described = self._field(sobject, name) or {}
        except CrmError:  # describe unreachable now: a text example still helps
            described = {}
        kind = str(described.get("type") or "string")
        if kind in ("picklist", "multipicklist"):
            try:
                valid = self.valid_values(sobject, described.get("name") or name)
            except CrmError:
                valid = []
            if valid:
                return repr({key: f"={valid[0]}"})
        if kind == "email":
            return repr({key: "visitor.email"})
        if kind == "phone":
            return repr({key: "visitor.phone"})
        if kind in TEXT_TYPES:
            return f"{repr({key: '=<value>'})} or {repr({key: 'visitor.custom.<key>'})}"
        return repr({key: _LITERAL_EXAMPLE.get(kind, "=<value>")})

    # -- values ----------------------------------------------------------------------------
    def fit(self, sobject: str, name: str, value: Any, literal: bool = False) -> tuple[Any, str | None]:
        """(VALUE made to fit SOBJECT.NAME, None) or (None, why it was left out). Text is cut to the
        field's length (an email or phone too long is left out instead: cut, it would be wrong), a
        picklist value is mended to the org's spelling or left out when the record type lacks it, a
        LITERAL for a checkbox, number or date becomes that type. The field name is described's."""
        described = self._field(sobject, name)
        if described is None:
            return None, f"{sobject}.{name} is not in describe any more"
        name, kind = described["name"], str(described.get("type") or "string")
        if kind not in TEXT_TYPES:
            converted = _literal_value(described, str(value)) if literal else None
            if converted is None:
                return None, f"{sobject}.{name} is {_kind_words(described)} and {str(value)[:40]!r} does not fit it"
            return converted, None
        text = str(value).strip()
        if not text:
            return None, None
        if kind in ("picklist", "multipicklist"):
            valid = self.valid_values(sobject, name)
            parts = [p.strip() for p in text.split(";")] if kind == "multipicklist" else [text]
            mended = [next((v for v in valid if v.lower() == p.lower()), None) for p in parts]
            kept = [m for m in mended if m is not None]
            if not kept or (kind == "picklist" and len(kept) != len(parts)):
                return None, f"{text[:40]!r} is not a {sobject}.{name} value for the bot's record type"
            return ";".join(dict.fromkeys(kept)), None
        length = int(described.get("length") or 0)
        if kind == "email" and not _EMAIL.fullmatch(text):
            return None, f"{text[:40]!r} is no email address for {sobject}.{name}"
        if length and len(text) > length:
            if kind in ("email", "phone"):
                return None, f"{sobject}.{name} holds {length} characters and the value has {len(text)}"
            text = text[:length]
        return text, None

    def key(self, sobject: str, name: str) -> str:
        """NAME as describe spells it (FIELD_MAP may spell it in another case), NAME when unknown."""
        described = self._field(sobject, name)
        return str(described["name"]) if described else name


_LITERAL_EXAMPLE = {
    "boolean": "=true",
    "date": "=2025-01-31",
    "datetime": "=2025-01-31T09:00:00Z",
    "reference": "=<record Id>",
    **{kind: "=1" for kind in NUMBER_TYPES},
}


def _kind_words(described: dict) -> str:
    kind = str(described.get("type") or "string")
    if kind == "reference":
        targets = "/".join(described.get("referenceTo") or []) or "record"
        return f"a lookup to {targets}"
    return {
        "boolean": "a checkbox",
        "date": "a date",
        "datetime": "a date and time",
        "time": "a time",
    }.get(kind, "a number" if kind in NUMBER_TYPES else f"a {kind} field")


def _literal_advice(described: dict) -> str:
    kind = str(described.get("type") or "string")
    if kind == "boolean":
        return "map it to '=true' or '=false'"
    if kind in _LITERAL_EXAMPLE:
        return f"map it to a literal such as {_LITERAL_EXAMPLE[kind]!r}"
    return "FIELD_MAP cannot fill it"


def _literal_value(described: dict, text: str) -> Any:
    """TEXT as the value a checkbox, number, date, date-time or lookup field takes; None when it is none."""
    kind, text = str(described.get("type") or "string"), text.strip()
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower())
    if kind in NUMBER_TYPES:
        try:
            return int(text) if kind in ("int", "long") else float(text)
        except ValueError:
            return None
    if kind == "date":
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            return None
    if kind == "datetime":
        try:
            dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return text
    if kind == "reference":
        return text if _RECORD_ID.fullmatch(text) else None
    return None
