"""The CRM operations the chat plugin needs, in Salesforce's terms and with few calls: a contact
by email is one SOQL query (the search index lags behind new records), by phone one more query
plus one SOSL search, and only when email found nothing."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from typing import Any

from . import phones
from .client import SalesforceClient
from .errors import CrmNotFound, CrmValidationError
from .fieldmap import mapped_fields
from .metadata import DescribeStore, MetadataCache
from .owners import OwnerDirectory
from .persons import PersonAccounts
from .recordtypes import RecordTypes
from .settings import SalesforceSettings
from .soql import like_escape, quote, sosl_escape

CONTACT_SELECT = (
    "Id",
    "Name",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MobilePhone",
    "Title",
    "AccountId",
    "Account.Name",
    "LeadSource",
    "MailingCity",
    "MailingState",
    "MailingCountry",
    "CreatedDate",
    "IsPersonAccount",  # only in orgs with person accounts (left out elsewhere, as every field describe lacks)
)
CASE_SELECT = (
    "Id",
    "CaseNumber",
    "Subject",
    "Description",
    "Status",
    "Priority",
    "Origin",
    "Type",
    "Reason",
    "ContactId",
    "IsClosed",
    "CreatedDate",
)
# the fields each look-up selects (the phone search compares Phone and MobilePhone, so it selects both)
LEAD_SELECT = ("Id", "Name", "FirstName", "LastName", "Company", "Email", "Phone", "MobilePhone", "Status")
_SELECT_OF = {"Contact": CONTACT_SELECT, "Lead": LEAD_SELECT}
PREFIXES = {"001": "Account", "003": "Contact", "00Q": "Lead", "500": "Case", "00T": "Task", "00U": "Event"}
TRIMMED = "\n[trimmed]"
MAX_EMAIL = 80


@dataclass(frozen=True)
class ContactMatch:
    record: dict
    matched_on: str  # "email" | "phone"


def task_values(subject: str, body: str, who_id: str | None, what_id: str | None) -> dict[str, Any]:
    """A completed Task; a Task on a Lead cannot have a WhatId (FIELD_INTEGRITY_EXCEPTION), so none is set."""
    values: dict[str, Any] = {
        "Subject": subject,
        "Description": body,
        "Status": "Completed",
        "ActivityDate": dt.date.today().isoformat(),
        "Priority": "Normal",
    }
    if who_id:
        values["WhoId"] = who_id
    if what_id and not (who_id or "").startswith("00Q"):
        values["WhatId"] = what_id
    return values


def _usable_email(email: str | None) -> str:
    """EMAIL stripped when it can be looked up (an address, short enough for the Email field), else ""."""
    text = (email or "").strip()
    return text if text and len(text) <= MAX_EMAIL and "@" in text else ""


def _type_of(record: dict) -> str:
    return str((record.get("attributes") or {}).get("type") or "")


class Crm:
    def __init__(
        self,
        settings: SalesforceSettings,
        client: SalesforceClient | None = None,
        describes: DescribeStore | None = None,
    ):
        self.settings = settings
        self.client = client or SalesforceClient(settings)
        self.metadata = MetadataCache(self.client, settings.metadata_refresh_minutes, keep=describes)
        self.record_types = RecordTypes(self.metadata, settings)  # RECORD_TYPES and each object's picklists
        self._default_account: tuple[float, str | None] | None = None  # (looked up at, Id) of NEW_CONTACT_ACCOUNT
        self.owners = OwnerDirectory(self.client, settings)  # who owns what the bot creates (OWNER)
        self.persons = PersonAccounts(self)  # new visitors as person accounts (NEW_VISITORS_AS)

    def __repr__(self) -> str:
        return f"Crm(username={self.settings.username!r})"

    # -- contacts ------------------------------------------------------------------------
    def find_contacts(self, email: str | None = None, phone: str | None = None) -> list[ContactMatch]:
        usable = _usable_email(email)
        if usable:
            found = self._contacts_by_email(usable)
            if found:
                return found
        if phone and phones.usable(phone):
            return [ContactMatch(r, "phone") for r in self._by_phone(("Contact",), phone)]
        return []

    def lookup(self, email: str | None, phone: str | None) -> tuple[list[ContactMatch], list[dict]]:
        """Contacts, else open Leads, of a visitor in at most two calls: the contact by email (SOQL: the
        search index lags), then, only when that found nothing, one SOSL search by phone returning
        Contact and Lead together (or, without a phone, the Lead by email)."""
        usable = _usable_email(email)
        email_leads: list[dict] | None = None
        if usable and not self.filterable("Contact", "Email"):
            # encrypted email: one search returns the Contact and the Lead together, as the phone search does
            hits = self._by_email(("Contact", "Lead"), usable)
            contacts = [ContactMatch(r, "email") for r in hits if _type_of(r) == "Contact"]
            if contacts:
                return contacts, []
            email_leads = [r for r in hits if _type_of(r) == "Lead" and r.get("Status") != "Closed - Converted"]
        elif usable:
            found = self._contacts_by_email(usable)
            if found:
                return found, []
        if phone and phones.usable(phone):
            hits = self._by_phone(("Contact", "Lead"), phone)
            contacts = [ContactMatch(r, "phone") for r in hits if _type_of(r) == "Contact"]
            leads = [r for r in hits if _type_of(r) == "Lead" and r.get("Status") != "Closed - Converted"]
            return contacts, ([] if contacts else (email_leads or leads))
        if email_leads is not None:
            return [], email_leads
        if usable:
            return [], self.find_leads(usable, None)
        return [], []

    def find_leads(self, email: str | None = None, phone: str | None = None) -> list[dict]:
        usable = _usable_email(email)
        if usable and not self.filterable("Lead", "Email"):
            records = [r for r in self._by_email(("Lead",), usable) if r.get("Status") != "Closed - Converted"][:5]
            if records:
                return records
        elif usable:
            records = self.client.query(
                f"SELECT {self._fields('Lead', LEAD_SELECT)} FROM Lead WHERE Email = {quote(usable)} AND Status != 'Closed - Converted' LIMIT 5",
                "find lead by email",
            )
            if records:
                return records
        if phone and phones.usable(phone):
            return self._by_phone(("Lead",), phone)
        return []

    def _contacts_by_email(self, email: str) -> list[ContactMatch]:
        if not self.filterable("Contact", "Email"):
            return [ContactMatch(r, "email") for r in self._by_email(("Contact",), email)]
        records = self.client.query(
            f"SELECT {self._fields('Contact', CONTACT_SELECT)} FROM Contact WHERE Email = {quote(email)} ORDER BY CreatedDate DESC LIMIT 20",
            "find contact by email",
        )
        return [ContactMatch(r, "email") for r in records]

    def filterable(self, sobject: str, field: str) -> bool:
        """False when describe says FIELD cannot be filtered (Shield Platform Encryption's probabilistic
        scheme): a WHERE on it fails whole, so it is searched with SOSL instead. Unknown: True."""
        return bool((self.metadata.field(sobject, field) or {}).get("filterable", True))

    def _by_email(self, sobjects: tuple[str, ...], email: str) -> list[dict]:
        """One SOSL search in email fields returning SOBJECTS (an encrypted email is still in the search
        index), then an exact, case-insensitive comparison here; newest first."""
        returning = ", ".join(f"{name}({self._fields(name, _SELECT_OF[name])})" for name in sobjects)
        hits = self.client.search(
            f"FIND {{{sosl_escape(email)}}} IN EMAIL FIELDS RETURNING {returning} LIMIT 50",
            f"find {' or '.join(name.lower() for name in sobjects)} by email",
        )
        found = [h for h in hits if (h.get("Email") or "").lower() == email.lower()]
        return sorted(found, key=lambda r: r.get("CreatedDate") or "", reverse=True)

    def _by_phone(self, sobjects: tuple[str, ...], phone: str) -> list[dict]:
        """One SOSL search on digits returning SOBJECTS, then an exact comparison of normalised numbers
        here; newest first."""
        term = sosl_escape(phones.search_term(phone))
        returning = ", ".join(f"{name}({self._fields(name, _SELECT_OF[name])})" for name in sobjects)
        hits = self.client.search(
            f"FIND {{{term}}} IN PHONE FIELDS RETURNING {returning} LIMIT 50",
            f"find {' or '.join(name.lower() for name in sobjects)} by phone",
        )
        found = [
            h
            for h in hits
            if phones.same_number(h.get("Phone"), phone) or phones.same_number(h.get("MobilePhone"), phone)
        ]
        return sorted(found, key=lambda r: r.get("CreatedDate") or "", reverse=True)

    def get_contact(self, contact_id: str) -> dict:
        self._check_id(contact_id, "003")
        records = self.client.query(
            f"SELECT {self._fields('Contact', CONTACT_SELECT)} FROM Contact WHERE Id = {quote(contact_id)}",
            "get contact",
        )
        if not records:
            raise CrmNotFound("That Salesforce contact does not exist (any more).", "NOT_FOUND")
        return records[0]

    def create_contact(self, fields: dict[str, Any]) -> dict:
        values = {k: v for k, v in fields.items() if v not in (None, "")}
        if not values.get("LastName"):
            raise CrmValidationError(
                "A contact needs a last name: add --last-name.", "REQUIRED_FIELD_MISSING", fields=["LastName"]
            )
        values = self._writable("Contact", values)
        if self.new_visitors_as() == "person-account" and not values.get("AccountId"):
            return self._create_person(values)
        if not values.get("AccountId") and self.default_account_id():
            values["AccountId"] = self.default_account_id()  # a contact without an account is private to its owner
        self._check_picklists("Contact", values)
        values = self._with_record_type("Contact", values)
        created = self.client.call(
            "create contact", lambda sf: sf.Contact.create(values, headers=self.contact_headers())
        )
        return self.get_contact(created["id"])

    def _create_person(self, values: dict[str, Any]) -> dict:
        """A person account for VALUES (a contact's); its person contact, as `get_contact` reads it."""
        self._check_picklists("Contact", values)
        account = self.persons.values(values)
        created = self.client.call(
            "create person account", lambda sf: sf.Account.create(account, headers=self.contact_headers())
        )
        rows = self.client.query(
            f"SELECT PersonContactId FROM Account WHERE Id = {quote(created['id'])}", "get person contact"
        )
        return self.get_contact(rows[0]["PersonContactId"])

    def update_contact(self, contact_id: str, fields: dict[str, Any], current: dict | None = None) -> dict[str, Any]:
        """Send only fields that changed and are not empty (never blank a field); returns what was sent."""
        current = current if current is not None else self.get_contact(contact_id)
        changes = {k: v for k, v in fields.items() if v not in (None, "") and str(current.get(k) or "") != str(v)}
        changes = self._writable("Contact", changes, creating=False) if changes else changes
        if changes:
            self.client.call("update contact", lambda sf: sf.Contact.update(contact_id, changes))
        return changes

    def new_visitors_as(self) -> str:
        """What a new visitor is saved as: NEW_VISITORS_AS, else a person account in an org that has
        person accounts (Account's describe shows IsPersonAccount), else a contact."""
        chosen = self.settings.new_visitors_as
        if chosen:
            return chosen
        return "person-account" if self.has_person_accounts() else "contact"

    def has_person_accounts(self) -> bool:
        """Account's describe shows IsPersonAccount; an integration user who may not see Account at all
        (describe answers NOT_FOUND or a refusal) works with Contacts, as in an org without them."""
        try:
            return self.metadata.field("Account", "IsPersonAccount") is not None
        except (CrmNotFound, CrmValidationError):
            return False

    def default_account_id(self) -> str | None:
        """NEW_CONTACT_ACCOUNT as an Account Id (an Id is taken as it is, a Name looked up exactly), cached
        for METADATA_REFRESH_MINUTES so it costs no call per chat; None when unset."""
        wanted = self.settings.new_contact_account.strip()
        if not wanted:
            return None
        now = time.time()
        if (
            self._default_account is None
            or now - self._default_account[0] > self.settings.metadata_refresh_minutes * 60
        ):
            if re.fullmatch(r"001[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?", wanted):
                found: str | None = wanted
            else:
                records = self.client.query(
                    f"SELECT Id, Name FROM Account WHERE Name = {quote(wanted[:255])} LIMIT 2", "find account"
                )
                found = records[0]["Id"] if len(records) == 1 else None
            self._default_account = (now, found)
        return self._default_account[1]

    def find_account(self, name: str) -> dict:
        """The one Account named NAME (exactly, else by prefix); a clear error for none or several."""
        text = (name or "").strip()[:255]
        if not text:
            raise CrmValidationError('Name the account, e.g. --account "Acme Corporation".', "BAD_ACCOUNT")
        records = self.client.query(f"SELECT Id, Name FROM Account WHERE Name = {quote(text)} LIMIT 2", "find account")
        if not records:
            records = self.client.query(
                f"SELECT Id, Name FROM Account WHERE Name LIKE '{like_escape(text)}%' ORDER BY Name LIMIT 6",
                "find account by prefix",
            )
        if len(records) == 1:
            return records[0]
        if not records:
            raise CrmNotFound(
                f"No Salesforce account is named {text!r}; check the name (or leave --account out).", "NOT_FOUND"
            )
        names = ", ".join(r["Name"] for r in records[:5])
        raise CrmValidationError(f"Several accounts match {text!r}: {names}. Give the full name.", "AMBIGUOUS_ACCOUNT")

    # -- cases ---------------------------------------------------------------------------
    def contact_cases(self, contact_id: str, limit: int = 20) -> list[dict]:
        self._check_id(contact_id, "003")
        return self.client.query(
            f"SELECT {self._fields('Case', CASE_SELECT)} FROM Case WHERE ContactId = {quote(contact_id)} ORDER BY CreatedDate DESC LIMIT {int(limit)}",
            "list cases",
        )

    def case_by_number(self, text: str) -> dict:
        raw = (text or "").strip().lstrip("#")
        if not raw.isdigit() or len(raw) > 30:
            raise CrmValidationError(
                f"A case number is digits only, like 1026 or 00001026; {text[:30]!r} is not one.", "BAD_CASE_NUMBER"
            )
        number = raw.zfill(8) if len(raw) < 8 else raw
        records = self.client.query(
            f"SELECT {self._fields('Case', CASE_SELECT)} FROM Case WHERE CaseNumber = {quote(number)} LIMIT 1",
            "get case by number",
        )
        if not records:
            raise CrmNotFound(f"There is no case {number} in Salesforce.", "NOT_FOUND")
        return records[0]

    def create_case(self, contact_id: str | None, fields: dict[str, Any], contact: dict | None = None) -> dict:
        """`contact`: the contact's record when the caller has it (saves the query for its AccountId)."""
        values = self._writable("Case", {k: v for k, v in fields.items() if v not in (None, "")})
        self._check_picklists("Case", values)
        # the defaults are the record type's (RECORD_TYPES's, else the integration user's default)
        for name in ("Status", "Priority"):
            if name not in values:
                default = self.default_value("Case", name)
                if default:
                    values[name] = default
        if "Origin" not in values:
            chosen = "Chat" if "Chat" in self.valid_values("Case", "Origin") else self.default_value("Case", "Origin")
            if chosen:
                values["Origin"] = chosen
        values = self._with_record_type("Case", values)
        if contact_id:
            if contact is None or contact.get("Id") != contact_id or "AccountId" not in contact:
                contact = self.get_contact(contact_id)
            values["ContactId"] = contact_id
            if contact.get("AccountId"):
                values["AccountId"] = contact["AccountId"]
        values, _ = self.metadata.writable("Case", values, creating=True)  # the defaults it may not write stay unset
        created = self.client.call("create case", lambda sf: sf.Case.create(values, headers=self.case_headers()))
        records = self.client.query(
            f"SELECT {self._fields('Case', CASE_SELECT)} FROM Case WHERE Id = {quote(created['id'])}", "get case"
        )
        return records[0]

    # -- activities ----------------------------------------------------------------------
    def log_transcript(
        self, contact_id: str | None, subject: str, body: str, case_id: str | None = None, lead_id: str | None = None
    ) -> str:
        subject, body = self.fit_task(subject, body)
        values, _ = self.metadata.writable("Task", task_values(subject, body, contact_id or lead_id, case_id), True)
        created = self.client.call("log transcript", lambda sf: sf.Task.create(values))
        return created["id"]

    def fit_task(self, subject: str, body: str) -> tuple[str, str]:
        """Subject and Description cut to the org's Task field lengths (the transcript marked as trimmed)."""
        limit = self.metadata.length("Task", "Description", 32000)
        if len(body) > limit:
            body = body[: limit - len(TRIMMED)] + TRIMMED
        return subject[: self.metadata.length("Task", "Subject", 255)], body

    def activities(self, contact_id: str, kind: str, limit: int = 10) -> list[dict]:
        self._check_id(contact_id, "003")
        who = quote(contact_id)
        if kind == "events":
            return self.client.query(
                f"SELECT Id, Subject, StartDateTime, EndDateTime, Location FROM Event WHERE WhoId = {who} ORDER BY StartDateTime DESC LIMIT {int(limit)}",
                "list events",
            )
        # SOQL demands parentheses wherever AND, OR and NOT mix; `!=` also matches empty values
        where = (
            "(TaskSubtype = 'Call' OR Type = 'Call')" if kind == "calls" else "TaskSubtype != 'Call' AND Type != 'Call'"
        )
        return self.client.query(
            f"SELECT Id, Subject, Status, ActivityDate, CreatedDate FROM Task WHERE WhoId = {who} AND {where} ORDER BY CreatedDate DESC LIMIT {int(limit)}",
            f"list {kind}",
        )

    # -- helpers -------------------------------------------------------------------------
    def case_headers(self) -> dict[str, str]:
        """A case the bot creates stays with its owner unless CASE_ASSIGNMENT_RULES lets the org's active
        assignment rule (or its default case owner) take it (Sforce-Auto-Assign defaults to TRUE)."""
        return {} if self.settings.case_assignment_rules else {"Sforce-Auto-Assign": "FALSE"}

    def contact_headers(self) -> dict[str, str]:
        """The org's duplicate rules decide, unless ALLOW_DUPLICATES saves over an "Allow" rule's alert."""
        return {"Sforce-Duplicate-Rule-Header": "allowSave=true"} if self.settings.allow_duplicates else {}

    def _fields(self, sobject: str, wanted: tuple[str, ...]) -> str:
        """The SELECT list: WANTED and the fields FIELD_MAP fills (so that a closure fills them only when
        empty), less what the integration user may not read (cards leave those out)."""
        mapped = tuple(sorted(mapped_fields(self.settings.field_map_dict, sobject) - set(wanted)))
        return ", ".join(self.metadata.readable(sobject, wanted + mapped))

    def _writable(self, sobject: str, values: dict[str, Any], creating: bool = True) -> dict[str, Any]:
        """VALUES, refused with the field's name when the integration user may not write one of them."""
        kept, refused = self.metadata.writable(sobject, values, creating)
        if refused:
            names = ", ".join(refused)
            raise CrmValidationError(
                f"This Salesforce integration may not write {sobject} {names}: leave it out, or ask your "
                f"Salesforce admin to give the integration user edit access to it (`!salesforce check` lists "
                "what it may write).",
                "FIELD_NOT_WRITABLE",
                fields=refused,
            )
        return kept

    def record_url(self, record_id: str) -> str:
        sobject = PREFIXES.get(record_id[:3], "")
        base = self.client.instance_url
        return f"{base}/lightning/r/{sobject}/{record_id}/view" if sobject else f"{base}/{record_id}"

    def record_type_id(self, sobject: str) -> str | None:
        """The RecordTypeId new SOBJECT records carry: the one RECORD_TYPES names (when the org lets the
        integration user use it), else None: send none, the integration user's default applies."""
        return self.record_types.record_type_id(sobject)

    def _with_record_type(self, sobject: str, values: dict[str, Any]) -> dict[str, Any]:
        chosen = self.record_type_id(sobject)
        return {**values, "RecordTypeId": chosen} if chosen and not values.get("RecordTypeId") else values

    def valid_values(self, sobject: str, field: str) -> list[str]:
        """FIELD's active values for the record type new SOBJECT records get (RECORD_TYPES's, else the
        integration user's default; describe's when the object has no record types)."""
        return [p.value for p in self.record_types.picklist(sobject, field) if p.active]

    def default_value(self, sobject: str, field: str) -> str | None:
        """FIELD's default for the record type new SOBJECT records get, None when it has none."""
        return next((p.value for p in self.record_types.picklist(sobject, field) if p.default and p.active), None)

    def _check_picklists(self, sobject: str, values: dict[str, Any]) -> None:
        """Every value written to a picklist field (as describe says) must be one of the active values of
        the record type in use (a multi-select picklist's `;`-separated values each); the case of the
        agent's spelling is mended to the org's."""
        for name in values:
            kind = (self.metadata.field(sobject, name) or {}).get("type")
            if kind not in ("picklist", "multipicklist"):
                continue
            valid = self.valid_values(sobject, name)
            given = [str(values[name])] if kind == "picklist" else [v.strip() for v in str(values[name]).split(";")]
            mended = []
            for value in given:
                match = next((v for v in valid if v.lower() == value.lower()), None)
                if match is None:
                    chosen = self.record_types.in_use(sobject)
                    where = f"for {chosen.records()}" if chosen else "here"
                    raise CrmValidationError(
                        f"{value!r} is not a valid {name} {where}. Choose one of: {', '.join(valid)}.",
                        "BAD_PICKLIST_VALUE",
                        fields=[name],
                    )
                mended.append(match)
            values[name] = ";".join(mended)

    @staticmethod
    def _check_id(record_id: str, prefix: str) -> None:
        if not re.fullmatch(r"[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?", record_id or "") or not record_id.startswith(prefix):
            raise CrmValidationError("That is not a valid Salesforce record id.", "MALFORMED_ID")

    def status(self) -> dict[str, Any]:
        """For the admins' `status`: reachable, who, token and metadata age, API usage."""
        now = time.time()
        info: dict[str, Any] = {"reachable": False, "username": self.settings.username}
        try:
            identity = self.client.identity()
            info.update(
                reachable=True,
                username=identity.get("username") or self.settings.username,
                display_name=identity.get("display_name"),
            )
        except Exception as exc:  # noqa: BLE001 - status reports, never raises
            info["error"] = getattr(exc, "message", "Salesforce could not be reached.")
            info["error_detail"] = getattr(exc, "admin_detail", type(exc).__name__)
        minted = self.client.auth.minted_at
        info["token_age_seconds"] = round(now - minted) if minted else None
        info["metadata_age_seconds"] = {k: round(now - v) for k, v in self.metadata.fetched_at.items()}
        info["api_usage"] = self.client.api_usage
        return info
