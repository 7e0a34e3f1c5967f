"""The CRM side of saving a closed chat: values fitted to the org's field lengths, the contact and
its transcript Task written in one composite call, and the look-ups that tell whether an
attempt whose outcome was never seen (a crash, a timeout) did reach Salesforce.

Those look-ups use SOQL on values this integration wrote itself (the Task's exact Subject, the
Contact's exact Email or Phone), never SOSL: the search index lags behind new records.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
from typing import Any

from . import composite as crm_composite
from .operations import Crm
from .soql import quote

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
ID_FIELDS = ("Email", "Phone", "MobilePhone")  # a shortened identifier would be a wrong one: left out instead


def plausible_email(value: str) -> bool:
    return bool(_EMAIL.match(value or ""))


def fit_contact(
    crm: Crm, values: dict[str, Any], creating: bool = True, sobject: str = "Contact"
) -> tuple[dict[str, Any], list[str]]:
    """VALUES cut to SOBJECT's (a Contact, or a Lead saved instead) field lengths from describe, less the
    fields the integration user may not write; notes say what was cut or left out. Non-text values
    (FIELD_MAP's checkboxes, numbers) are kept as they are."""
    fitted: dict[str, Any] = {}
    notes: list[str] = []
    values, hidden = crm.metadata.writable(sobject, {k: v for k, v in values.items() if v not in (None, "")}, creating)
    if hidden:
        notes.append(f"the {', '.join(_label(n) for n in hidden)} was left out: the integration user may not write it")
    for name, value in values.items():
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            fitted[name] = value
            continue
        text = value
        if name == "Email" and not plausible_email(text):
            notes.append(f"the email address {text[:80]!r} was left out: it is not a valid address")
            continue
        limit = crm.metadata.length(sobject, name, 0)
        if limit and len(text) > limit:
            if name in ID_FIELDS:
                notes.append(f"the {name.lower()} was left out: {len(text)} characters, Salesforce allows {limit}")
                continue
            notes.append(f"the {_label(name)} was shortened to {limit} characters")
            text = text[:limit]
        fitted[name] = text
    return fitted, notes


def write(
    crm: Crm,
    contact_id: str | None,
    contact: dict[str, Any] | None,
    task: dict[str, Any] | None,
    note: tuple[str, str] | None = None,
    sobject: str = "Contact",
    note_holder: str | None = None,
) -> tuple[str | None, str | None]:
    """Create (no CONTACT_ID) or update the contact and create the Task, all or nothing, in one call;
    returns (contact id, task id). SOBJECT: Lead or Account (a person account, read back for its person
    contact, which the Task names and whose id is returned) for a new visitor saved as such (the
    subrequest keeps the reference "contact"). NOTE_HOLDER: the record a note goes on instead of the
    Task's WhoId (an existing person contact's account). NOTE, (title, text): a transcript longer than the Task's Description,
    kept whole as a ContentNote linked to the Task, its contact or lead and its case, in the same call (so
    a Task found by its Subject after an unknown outcome means the note exists too)."""
    creating = contact is not None and contact_id is None
    person = creating and sobject == "Account"  # a person account: the Task names its person contact
    who = "@{person.PersonContactId}" if person else "@{contact.id}"
    subrequests = []
    if creating:
        subrequests.append(
            crm_composite.SubRequest("contact", "POST", f"sobjects/{sobject}", contact, crm.contact_headers() or None)
        )
        if person:
            subrequests.append(crm_composite.SubRequest("person", "GET", "sobjects/Account/@{contact.id}", None))
    elif contact:
        subrequests.append(crm_composite.SubRequest("contact", "PATCH", f"sobjects/{sobject}/{contact_id}", contact))
    if task is not None:
        task, _ = crm.metadata.writable("Task", task, creating=True)  # e.g. a Priority it may not set stays unset
        body = {**task, "WhoId": who} if creating else dict(task)
        subrequests.append(crm_composite.SubRequest("task", "POST", "sobjects/Task", body))
    if task is not None and note is not None:
        # a file goes on a person account, never on its person contact (INVALID_PERSON_ACCOUNT_OPERATION)
        holder = "@{contact.id}" if person else (note_holder or body.get("WhoId"))
        subrequests += note_subrequests(note, ["@{task.id}", holder, body.get("WhatId")])
    if not subrequests:
        return contact_id, None
    results = crm_composite.run(crm.client, subrequests, "save closed chat")
    if person:
        created = (results.get("person") or {}).get("PersonContactId")
    else:
        created = (results.get("contact") or {}).get("id") if creating else contact_id
    return created, (results.get("task") or {}).get("id") if task is not None else None


def note_subrequests(note: tuple[str, str], linked: list[str | None]) -> list[crm_composite.SubRequest]:
    """A ContentNote holding TEXT whole, and a ContentDocumentLink to each record in LINKED, so everyone who
    sees the record sees the note (ShareType I: the record's own sharing). A note's Content is HTML,
    base64-encoded, its special characters escaped (ContentNote, Object Reference)."""
    title, text = note
    # Salesforce's note editor takes &#39; for an apostrophe, not html.escape's &#x27; (nor &apos;)
    escaped = html.escape(text).replace("&#x27;", "&#39;").replace("\n", "<br>")
    content = base64.b64encode(f"<p>{escaped}</p>".encode()).decode()
    subrequests = [
        crm_composite.SubRequest("note", "POST", "sobjects/ContentNote", {"Title": title[:255], "Content": content})
    ]
    for i, record in enumerate(dict.fromkeys(r for r in linked if r)):
        link = {"ContentDocumentId": "@{note.id}", "LinkedEntityId": record, "ShareType": "I", "Visibility": "AllUsers"}
        subrequests.append(crm_composite.SubRequest(f"link{i}", "POST", "sobjects/ContentDocumentLink", link))
    return subrequests


def task_by_subject(crm: Crm, subject: str) -> dict | None:
    records = crm.client.query(
        f"SELECT Id, WhoId, WhatId FROM Task WHERE Subject = {quote(subject)} LIMIT 1", "find logged transcript"
    )
    return records[0] if records else None


def contact_created_since(
    crm: Crm, values: dict[str, Any], since: dt.datetime, sobject: str = "Contact"
) -> dict | None:
    """The contact an unconfirmed create may have made: same Email (else Phone, else LastName), created since."""
    # an encrypted (unfilterable) Email cannot be looked up by SOQL: the Phone or the LastName then
    name = next((n for n in ("Email", "Phone", "LastName") if values.get(n) and crm.filterable(sobject, n)), None)
    if name is None:
        return None
    stamp = since.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = crm.client.query(
        f"SELECT Id FROM {sobject} WHERE {name} = {quote(str(values[name]))} AND CreatedDate >= {stamp} "
        "ORDER BY CreatedDate DESC LIMIT 1",
        "find saved contact",
    )
    return records[0] if records else None


def _label(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r" \1", name).lower()
