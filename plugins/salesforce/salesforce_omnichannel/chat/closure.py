"""Saving a closed chat to Salesforce exactly once, whatever instant a crash picks.

Before each Salesforce write the saver records its intent (what it is about to write, with the
Task's Subject, which carries the room id) in the outbox item, in its own transaction; after the
write it records the result. An attempt that finds an intent but no result cannot know whether
its predecessor's write reached Salesforce (killed in flight, or after Salesforce answered but
before the answer was recorded, or timed out). It waits until that write can no longer be under
way, then looks for what it may have created (the Task by its exact Subject; without a
transcript, the Contact by the exact values sent) and writes only when nothing is there. The
contact and the Task travel in one allOrNone composite call, so either both exist or neither.

The transcript is never lost to the visitor's data: values are fitted to the org's field lengths,
a value Salesforce refuses is left out, and if the contact still cannot be saved the Task is
logged on the matching Lead, or alone with the visitor's details; `notes` tell the agent. A record
the chat remembered (its contact, Lead or case) that was deleted or merged away in Salesforce during
the chat is forgotten, and the visitor looked up afresh.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..crm import closure as crm_closure
from ..crm.errors import CrmAuthError, CrmConfigError, CrmError, CrmNotFound, CrmValidationError, owner_refused
from ..crm.fieldmap import FieldMapOrg
from ..crm.operations import task_values
from . import cards
from .contacts import VisitorContacts
from .context import ChatContext, Subject, known_visitor
from .fieldmap import ChatData, FieldMapper
from .omnichannel import Omnichannel, TranscriptLine, Visitor
from .store import OutboxItem
from .times import utc_iso

log = logging.getLogger(__name__)

TRANSCRIPT_SUBJECT = "Chat transcript: {name} ({when}) [{room}]"
NAME_IN_TEXT = 120  # a visitor's name or address is cut here in the Task's text: the conversation must fit
MAX_REPLANS = 4
# a record the write points at no longer exists: in the recycle bin (a delete, or the losing side of a
# merge), or purged; a missing contact updated by id answers NOT_FOUND
GONE = ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY")


class NotYet(Exception):
    """An earlier attempt's write may still be under way: look again at `at`."""

    def __init__(self, at: float):
        super().__init__("waiting for an earlier attempt's outcome")
        self.at = at


@dataclass(frozen=True)
class Plan:
    """One composite write: the contact (create when `contact_id` is None, else update) and the Task."""

    contact_id: str | None
    contact: dict[str, Any] | None
    who_id: str | None  # the Task's WhoId when no contact is created in the same call
    what_id: str | None
    subject: str | None  # None: no transcript
    body: str = ""
    notes: tuple[str, ...] = ()
    lead_subject: Subject | None = field(default=None, compare=False)
    known_leads: tuple[dict, ...] | None = field(default=None, compare=False)  # the greeting's, if it looked
    # the Task's other fields: FIELD_MAP's, and ("OwnerId", the serving agent's user) when OWNER=agent found one
    task_fields: tuple[tuple[str, Any], ...] = ()
    # the whole transcript when it is longer than the Task's Description: it goes into a ContentNote
    whole: str | None = field(default=None, repr=False)
    sobject: str = "Contact"  # what `contact` creates or updates: a Contact, a Lead or a person Account
    note_holder: str | None = None  # where a long transcript's note goes when not on the WhoId (a person's account)

    @property
    def mode(self) -> str | None:
        if self.contact is None:
            return None
        return "update" if self.contact_id else "create"

    def task(self) -> dict[str, Any] | None:
        if self.subject is None:
            return None
        # FIELD_MAP never overrides what makes it the chat's transcript (Subject, Description, Status, Who, What)
        return dict(self.task_fields) | task_values(self.subject, self.body, self.who_id, self.what_id)


def subject_line(name: str, closed_at: str | None, room_id: str) -> str:
    """The Task's Subject: readable, and unique through the room id (kept whole when the name is cut)."""
    when = (closed_at or "")[:16].replace("T", " ")
    line = TRANSCRIPT_SUBJECT.format(name=name, when=f"{when} UTC" if when else "closed", room=room_id)
    excess = len(line) - 255
    return (
        line
        if excess <= 0
        else TRANSCRIPT_SUBJECT.format(name=name[: max(len(name) - excess, 1)], when=f"{when} UTC", room=room_id)
    )


def transcript_text(lines: list[TranscriptLine]) -> str:
    out = []
    for line in lines:
        stamp = line.ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        out.append(f"[{stamp} UTC] {_short(line.author)} ({line.role}): {line.text}")
    return "\n".join(out) or "(no messages)"


def _short(text: str | None) -> str:
    return cards.cut(text, NAME_IN_TEXT)


def _record_gone(exc: CrmError) -> bool:
    """The write pointed at a record Salesforce no longer has (the contact's own update answers NOT_FOUND)."""
    return exc.code in GONE or (exc.ref == "contact" and isinstance(exc, CrmNotFound))


def _owner_of(plan: Plan) -> str:
    return str((plan.contact or {}).get("OwnerId") or dict(plan.task_fields).get("OwnerId") or "")


def _known_refusal(exc: CrmError) -> bool:
    """True when Salesforce certainly saved nothing (a refusal, or the call never left)."""
    return exc.ref is not None or isinstance(exc, (CrmValidationError, CrmAuthError, CrmConfigError, CrmNotFound))


class ClosureSaver:
    def __init__(
        self,
        contacts: VisitorContacts,
        omnichannel: Omnichannel,
        autosave: bool,
        log_transcript: bool,
        context_of_room: Callable[[str], dict],
        save_progress: Callable[[OutboxItem], None],
        grace_seconds: float,
        clock: Callable[[], float] = time.time,
        owner_of: Callable[[str, str | None], dict[str, str]] | None = None,
        chat_of: Callable[[dict, Visitor | None], ChatData] | None = None,
        forget_owner: Callable[[str], None] | None = None,
    ):
        self.contacts = contacts
        self.crm = contacts.crm
        self.omni = omnichannel
        self.autosave = autosave
        self.log_transcript = log_transcript
        self.context_of_room = context_of_room
        self.save_progress = save_progress
        self.grace = grace_seconds
        self.clock = clock
        # (object, serving agent's username) -> {"OwnerId": …} or {}: who owns what the closure creates
        self.owner_of = owner_of or (lambda sobject, agent: {})
        self.forget_owner = forget_owner or (lambda owner_id: None)
        # (payload, the visitor as remembered) -> what FIELD_MAP's chat sources read (room, agent, custom fields)
        self.chat_of = chat_of or (lambda payload, visitor: ChatData(visitor))

    def run(self, item: OutboxItem) -> dict:
        """Save one closure; returns its result (`contact_id`, `task_id`, `notes`), also kept in `item.progress`."""
        progress = item.progress
        if "result" in progress:
            return progress["result"]
        if not (self.autosave or self.log_transcript):
            return self._done(item, {"contact_id": None, "task_id": None, "notes": []})
        intent = progress.get("intent")
        if intent:
            ready = float(intent["at"]) + self.grace
            if self.clock() < ready:
                raise NotYet(ready)
            found = self._resolve(intent)
            progress.pop("intent")
            if found is not None:
                log.info("Closed chat %s: an earlier attempt had saved it; nothing written again", item.room_id)
                return self._done(item, found)
            self.save_progress(item)
        payload = self._complete(item)
        plan = self._plan(payload)
        looked_afresh = False
        for _ in range(MAX_REPLANS):
            progress["intent"] = {
                "at": self.clock(),
                "subject": plan.subject,
                "mode": plan.mode,
                "sobject": plan.sobject,
                "contact": plan.contact,
            }
            self.save_progress(item)
            try:
                note = (plan.subject, plan.whole) if plan.whole and plan.subject else None
                contact_id, task_id = crm_closure.write(
                    self.crm, plan.contact_id, plan.contact, plan.task(), note, plan.sobject, plan.note_holder
                )
            except CrmError as exc:
                if not _known_refusal(exc):
                    raise  # outcome unknown: the intent stays, the next attempt looks before writing
                progress.pop("intent")
                self.save_progress(item)
                if owner_refused(exc) and _owner_of(plan):
                    plan = self._without_owner(plan)
                    continue
                if _record_gone(exc):
                    plan = self._without_gone_record(payload, plan, looked_afresh)
                    looked_afresh = True
                    continue
                better = self._degrade(plan, exc) if exc.ref == "contact" else None
                if better is None:
                    raise
                plan = better
                continue
            progress.pop("intent")
            saved = contact_id or plan.contact_id
            if plan.sobject == "Lead":  # a Lead saved for the visitor: found again by its email or phone
                return self._done(
                    item, {"contact_id": None, "lead_id": saved, "task_id": task_id, "notes": list(plan.notes)}
                )
            self.contacts.remember(plan.lead_subject, saved)
            return self._done(item, {"contact_id": saved, "task_id": task_id, "notes": list(plan.notes)})
        raise CrmError("Salesforce kept refusing the visitor's details.", "TOO_MANY_REFUSALS")

    @staticmethod
    def _done(item: OutboxItem, result: dict) -> dict:
        item.progress["result"] = result
        return result

    # -- an attempt whose outcome was never seen ---------------------------------------------
    def _resolve(self, intent: dict) -> dict | None:
        if intent.get("subject"):
            task = crm_closure.task_by_subject(self.crm, intent["subject"])
            if task is None:
                return None  # allOrNone: no Task means the contact was not written either
            who = task.get("WhoId") or ""
            return {"contact_id": who if who.startswith("003") else None, "task_id": task["Id"], "notes": []}
        if intent.get("mode") == "create":
            since = dt.datetime.fromtimestamp(float(intent["at"]) - 300, dt.timezone.utc)
            sobject = intent.get("sobject") or "Contact"
            made = crm_closure.contact_created_since(self.crm, intent.get("contact") or {}, since, sobject)
            if made is None:
                return None
            return {"contact_id": made["Id"] if sobject == "Contact" else None, "task_id": None, "notes": []}
        return None  # an update alone: writing it again changes nothing

    # -- what to write ---------------------------------------------------------------------
    def _complete(self, item: OutboxItem) -> dict:
        """The payload, filled in from Rocket.Chat for items recovered from unreadable old storage."""
        payload = dict(item.payload)
        if "visitor_id" not in payload:
            room = self.omni.room(item.room_id)
            if room is not None:
                payload.update(
                    visitor_id=room.visitor_id,
                    visitor_name=room.visitor_name,
                    agent_username=room.agent_username,
                    closed_at=payload.get("closed_at") or utc_iso(room.closed_at) or None,
                )
        payload.setdefault("room_id", item.room_id)
        return payload

    def _plan(self, payload: dict) -> Plan:
        room_id = payload["room_id"]
        known = self.context_of_room(room_id) or {}
        visitor = known_visitor(known, self.omni, payload.get("visitor_id"))
        who = ChatContext(None, visitor).subject() or Subject(name=payload.get("visitor_name") or "")
        name = who.name or payload.get("visitor_name") or ""
        case_id = known.get("case_id")
        subject = body = None
        if self.log_transcript:
            subject = subject_line(name or who.describe(), payload.get("closed_at"), room_id)
            lines = self.omni.transcript(room_id)
            body = (
                f"Omnichannel chat {room_id} with {_short(name) or 'a visitor'} ({_short(who.describe())}), "
                f"served by {payload.get('agent_username') or 'no agent'}.\n\n{transcript_text(lines)}"
            )
        looked = tuple(known.get("leads") or ()) if known.get("looked_up") else None
        agent = payload.get("agent_username")
        mapper = FieldMapper(self.crm.settings.field_map_dict, self.chat_of(payload, visitor), FieldMapOrg.of(self.crm))
        task_fields = (mapper.values_for("Task") | self.owner_of("Task", agent)) if subject is not None else {}
        base = Plan(
            None,
            None,
            None,
            case_id,
            subject,
            body or "",
            lead_subject=who,
            known_leads=looked,
            task_fields=tuple(task_fields.items()),
        )
        if not (who.email or who.phone):
            return self._without_contact(base, "no contact was saved: the visitor left no email or phone")
        found = self.contacts.find(who, known)
        first, last = cards.split_name(name)
        wanted = {"FirstName": first, "LastName": last, "Email": who.email, "Phone": who.phone}
        if found:
            record = found[0].record
            holder = record.get("AccountId") if record.get("IsPersonAccount") else None
            plan = replace(base, contact_id=record["Id"], who_id=record["Id"], note_holder=holder)
            if not self.autosave:
                return self._fitted_task(plan)
            # FIELD_MAP fills a field only when the contact has it empty (and it was selected, so it is known)
            mapped = {k: v for k, v in mapper.values_for("Contact").items() if k in record and not record[k]}
            fitted, notes = crm_closure.fit_contact(self.crm, mapped | _still_empty(record, wanted), creating=False)
            return self._fitted_task(replace(plan, contact=fitted or None, notes=(*mapper.notes, *notes)))
        if not self.autosave:
            return self._without_contact(base, None)
        new_as = self.crm.new_visitors_as()
        if new_as == "lead":
            return self._new_lead(base, who, wanted, mapper, agent)
        # the visitor's own details win over FIELD_MAP's; FIELD_MAP wins over the bot's LeadSource guess
        given = {k: v for k, v in wanted.items() if v not in (None, "")}
        fitted, notes = crm_closure.fit_contact(self.crm, mapper.values_for("Contact") | given)
        if not fitted.get("LastName"):
            fitted["LastName"] = (fitted.get("Email") or fitted.get("Phone") or who.email or who.phone or "Visitor")[
                :80
            ]
        if "LeadSource" not in fitted and "Web" in self.crm.valid_values("Contact", "LeadSource"):
            fitted["LeadSource"] = "Web"
        if new_as == "person-account":
            # a person account: the Account carries the person's fields; FIELD_MAP's Account.X under them
            account = mapper.values_for("Account") | self.crm.persons.values(fitted | self.owner_of("Account", agent))
            plan = replace(base, contact=account, sobject="Account", notes=(*mapper.notes, *notes))
            return self._fitted_task(plan)
        account_id = self.crm.default_account_id()
        if account_id:
            fitted["AccountId"] = account_id  # visible to the agents: a contact without an account is private
        fitted.update(self.owner_of("Contact", agent))
        record_type = self.crm.record_type_id("Contact")
        if record_type:
            fitted["RecordTypeId"] = record_type  # RECORD_TYPES's, so its picklists are the ones checked
        return self._fitted_task(replace(base, contact=fitted, notes=(*mapper.notes, *notes)))

    def _new_lead(self, base: Plan, who: Subject, wanted: dict, mapper: FieldMapper, agent: str | None) -> Plan:
        """NEW_VISITORS_AS=lead: a visitor who is neither a Contact nor an open Lead becomes a Lead (Company
        from FIELD_MAP, else Salesforce's usual "[not provided]"), and the Task goes on it; one who is a
        Lead already gets the Task on that Lead."""
        leads = list(base.known_leads) if base.known_leads is not None else self.crm.find_leads(who.email, who.phone)
        if leads:
            return self._fitted_task(replace(base, who_id=leads[0]["Id"], what_id=None))
        given = {k: v for k, v in wanted.items() if v not in (None, "")}
        fitted, notes = crm_closure.fit_contact(self.crm, mapper.values_for("Lead") | given, sobject="Lead")
        fitted.setdefault("LastName", (who.email or who.phone or "Visitor")[:80])
        fitted.setdefault("Company", "[not provided]")
        if "LeadSource" not in fitted and "Web" in self.crm.valid_values("Lead", "LeadSource"):
            fitted["LeadSource"] = "Web"
        fitted.update(self.owner_of("Lead", agent))
        record_type = self.crm.record_type_id("Lead")
        if record_type:
            fitted["RecordTypeId"] = record_type
        # a Task on a Lead cannot have a WhatId (FIELD_INTEGRITY_EXCEPTION): the chat's case is named instead
        body = f"Related case: {base.what_id}.\n\n{base.body}" if base.what_id else base.body
        plan = replace(base, contact=fitted, sobject="Lead", what_id=None, body=body, notes=(*mapper.notes, *notes))
        return self._fitted_task(plan)

    def _without_owner(self, plan: Plan) -> Plan:
        """Salesforce refused the owner the cache named (deactivated since): the integration user owns the
        records instead, and the owner directory stops offering that user until its next refresh."""
        owner_id = _owner_of(plan)
        log.info("Closed chat: Salesforce refused owner %s; saving with the integration user as owner", owner_id)
        self.forget_owner(owner_id)
        contact = {k: v for k, v in (plan.contact or {}).items() if k != "OwnerId"} if plan.contact else plan.contact
        return replace(plan, contact=contact, task_fields=tuple(i for i in plan.task_fields if i[0] != "OwnerId"))

    def _duplicate(self, plan: Plan, matches: list[tuple[str, str]]) -> Plan:
        """The org's duplicate rules say the visitor exists: the Task goes on the matching Contact (its empty
        fields filled) or, with none, on the matching Lead; the org's rules are never overridden."""
        contact_id = next((i for kind, i in matches if kind == "Contact"), None)
        if contact_id is not None:
            record = self.crm.get_contact(contact_id)
            self.contacts.remember(plan.lead_subject, contact_id)
            # an existing contact keeps its owner, account and lead source: only its empty details are filled
            wanted = {k: v for k, v in (plan.contact or {}).items() if k not in ("LeadSource", "OwnerId", "AccountId")}
            fitted, notes = crm_closure.fit_contact(self.crm, _still_empty(record, wanted), creating=False)
            note = f"Salesforce's duplicate rules matched the existing contact {cards.contact_name(record)}"
            log.info("Closed chat: the duplicate rules matched contact %s; the transcript goes there", contact_id)
            return replace(
                plan,
                contact_id=contact_id,
                who_id=contact_id,
                contact=fitted or None,
                notes=(*plan.notes, note, *notes),
            )
        lead_id = next(i for kind, i in matches if kind == "Lead")
        log.info("Closed chat: the duplicate rules matched Lead %s; the transcript goes there", lead_id)
        return self._without_contact(
            replace(plan, contact=None, known_leads=({"Id": lead_id, "Name": lead_id},)),
            "no contact was saved: Salesforce's duplicate rules matched an existing Lead",
        )

    def _without_contact(self, plan: Plan, why: str | None) -> Plan:
        """The Task alone: on the visitor's Lead when there is one, else with the visitor's details in it."""
        who = plan.lead_subject or Subject()
        if plan.known_leads is not None:
            leads = list(plan.known_leads)  # the greeting looked already: no second search
        else:
            leads = self.crm.find_leads(who.email, who.phone) if (who.email or who.phone) else []
        notes = plan.notes + ((why,) if why else ())
        details = f"Visitor: {_short(who.name) or 'unknown'}; email {_short(who.email) or 'none'}; phone {_short(who.phone) or 'none'}."
        if why:
            details += f" Not saved as a contact: {why.split(': ', 1)[-1]}."
        if plan.what_id and leads:
            details += f" Related case: {plan.what_id}."
        lead_id = leads[0]["Id"] if leads else None
        if lead_id and why:
            notes = notes[:-1] + (f"{why}; the transcript is on the Lead {cards.contact_name(leads[0])}",)
        fitted = replace(
            plan, contact_id=None, contact=None, who_id=lead_id, body=f"{details}\n\n{plan.body}", notes=notes
        )
        return self._fitted_task(fitted)

    def _fitted_task(self, plan: Plan) -> Plan:
        """Subject and Description fitted to the org's Task; a transcript too long for the Description
        keeps its beginning there, saying where the whole is: a note attached to the same records."""
        if plan.subject is None:
            return plan
        limit = self.crm.metadata.length("Task", "Description", 32000)
        whole = plan.whole or (plan.body if len(plan.body) > limit else None)
        if whole is None:
            subject, body = self.crm.fit_task(plan.subject, plan.body)
            return replace(plan, subject=subject, body=body)
        subject, _ = self.crm.fit_task(plan.subject, "")
        pointer = (
            f"\n[…] This is the beginning of the chat; the whole transcript ({len(whole):,} characters) is the "
            f'note "{subject[:80]}" attached to this task and its contact, lead or case.'
        )
        return replace(plan, subject=subject, body=plan.body[: limit - len(pointer)] + pointer, whole=whole)

    def _without_gone_record(self, payload: dict, plan: Plan, looked_afresh: bool) -> Plan:
        """Salesforce no longer has a record the plan points at. First the chat's contact, Lead and the
        visitor's link are forgotten and the visitor looked up afresh; when that finds the same person
        (or has been done), the gone record is the chat's case, and the Task goes without it."""
        room_id = payload["room_id"]
        if not looked_afresh and (plan.contact_id or plan.who_id):
            log.info(
                "Closed chat %s: a record it remembered was deleted or merged in Salesforce; looking again", room_id
            )
            self.contacts.forget(room_id, plan.lead_subject)
            fresh = self._plan(payload)
            if (fresh.contact_id, fresh.who_id) != (plan.contact_id, plan.who_id) or not fresh.what_id:
                return fresh
            plan = fresh
        if plan.what_id:
            log.info(
                "Closed chat %s: its case %s was deleted in Salesforce; the transcript goes without it",
                room_id,
                plan.what_id,
            )
            self.contacts.forget_case(room_id)
            return replace(plan, what_id=None, notes=plan.notes + ("the chat's case no longer exists in Salesforce",))
        raise CrmError("A record this chat refers to no longer exists in Salesforce.", "ENTITY_IS_DELETED")

    def _degrade(self, plan: Plan, exc: CrmError) -> Plan | None:
        """A plan without what Salesforce refused in the contact; None when nothing is left to drop."""
        matches = getattr(exc, "duplicates", None)
        if exc.code == "DUPLICATES_DETECTED" and matches and not plan.contact_id:
            return self._duplicate(plan, matches)
        contact = dict(plan.contact or {})
        refused = [f for f in getattr(exc, "fields", []) if f in contact and f != "LastName"]
        if exc.code == "INVALID_EMAIL_ADDRESS" and "Email" in contact:
            refused = ["Email"]
        if refused and exc.code in (
            "INVALID_EMAIL_ADDRESS",
            "STRING_TOO_LONG",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ):
            for name in refused:
                contact.pop(name)
            note = f"the {', '.join(n.lower() for n in refused)} was left out: {exc.message}"
            log.info("Closed chat: contact field(s) %s refused (%s); saving without them", refused, exc.code)
            if plan.contact_id and not contact:
                return replace(plan, contact=None, notes=plan.notes + (note,))
            return replace(plan, contact=contact, notes=plan.notes + (note,))
        if plan.contact_id:
            log.info("Closed chat: contact update refused (%s); logging the transcript without it", exc.code)
            return replace(
                plan, contact=None, notes=plan.notes + (f"the contact's new details were not saved: {exc.message}",)
            )
        if plan.subject is None and plan.contact is not None:
            return None  # no transcript to save either: the refusal is the outcome
        log.info("Closed chat: contact refused (%s); logging the transcript without a contact", exc.code)
        why = exc.message
        if exc.code == "REQUIRED_FIELD_MISSING":  # an org's required field: say which, and where to fill it
            why = FieldMapOrg.of(self.crm).required_missing("Contact", getattr(exc, "fields", []))
            log.warning("Closed chat: %s", why)
        return self._without_contact(replace(plan, contact=None), f"no contact was saved: {why}")


def _still_empty(record: dict, wanted: dict) -> dict:
    """What of WANTED the contact lacks: a known value is never overwritten, nor a name split anew."""
    wanted = dict(wanted)
    if record.get("LastName"):
        wanted.pop("FirstName", None), wanted.pop("LastName", None)
    if record.get("Phone") or record.get("MobilePhone"):
        wanted.pop("Phone", None)
    return {k: v for k, v in wanted.items() if not record.get(k)}
