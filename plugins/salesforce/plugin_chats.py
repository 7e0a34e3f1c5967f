"""What happens when a chat is assigned (the agent's private greeting) and when it closes
(save the contact, log the transcript), on top of the CRM core and the Omnichannel interface.

Closure work runs from the durable outbox: each step records its result in the item before the
next one, so a retry after an outage or a restart never creates a second contact or Task.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable

import plugin_cards as cards
from crm import Crm
from plugin_commands import Reply
from plugin_context import ChatContext, Subject

log = logging.getLogger(__name__)

TRANSCRIPT_SUBJECT = "Chat transcript: {name} ({when})"


def greeting(crm: Crm, ctx: ChatContext, prefix: str) -> list[Reply]:
    """The anchor's private greeting: the contact(s) found, or the command that creates one."""
    subject = ctx.subject() or Subject(name=getattr(ctx.room, "visitor_name", "") or "")
    name = subject.name or "This visitor"
    found = crm.find_contacts(subject.email, subject.phone) if (subject.email or subject.phone) else []
    if not found:
        text = (f"**This is not a Salesforce Contact** ({name}, {subject.describe()}). Do you want to create it?\n"
                f"`{cards.create_contact_command(prefix, subject.name, subject.email, subject.phone)}`")
        replies: list[Reply] = [text]
        if subject.email or subject.phone:
            replies += [cards.lead_line(lead, crm.record_url) for lead in crm.find_leads(subject.email, subject.phone)[:3]]
        return replies
    first = found[0].record
    head = (f"**{cards.contact_name(first)} is already a Salesforce Contact.**" if len(found) == 1 else
            f"**{len(found)} Salesforce Contacts match {name}** ({subject.describe()}): check which one is right.")
    replies = [head] + [cards.contact_card(m.record, crm.record_url, m.matched_on) for m in found[:5]]
    replies.append(f"Next: `{prefix} cases` · `{prefix} create-case --subject \"…\"` · `{prefix} activities` · `{prefix} help`")
    return replies


def closure_payload(room: Any) -> dict:
    return {
        "room_id": room.id,
        "visitor_id": room.visitor_id,
        "visitor_name": room.visitor_name,
        "agent_username": room.agent_username,
        "closed_at": room.closed_at.isoformat() if room.closed_at else None,
    }


def transcript_text(lines: list[Any]) -> str:
    out = []
    for line in lines:
        stamp = line.ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        out.append(f"[{stamp} UTC] {line.author} ({line.role}): {line.text}")
    return "\n".join(out) or "(no messages)"


class ClosureSaver:
    """Runs one closure's steps; `save_progress` persists the payload between steps."""

    def __init__(self, crm: Crm, omnichannel: Any, autosave: bool, log_transcript: bool,
                 case_of_room: Callable[[str], str | None], save_progress: Callable[[dict], None]):
        self.crm = crm
        self.omni = omnichannel
        self.autosave = autosave
        self.log_transcript = log_transcript
        self.case_of_room = case_of_room
        self.save_progress = save_progress

    def run(self, payload: dict) -> dict:
        if not (self.autosave or self.log_transcript):
            return payload
        visitor = self.omni.visitor(payload["visitor_id"]) if payload.get("visitor_id") else None
        subject = ChatContext(None, visitor).subject() or Subject(name=payload.get("visitor_name") or "")
        if "contact_id" not in payload:
            payload["contact_id"] = self._contact(subject)
            self.save_progress(payload)
        if self.log_transcript and "task_id" not in payload:
            payload["task_id"] = self._transcript(payload, subject)
            self.save_progress(payload)
        return payload

    def _contact(self, subject: Subject) -> str | None:
        if not (subject.email or subject.phone):
            log.info("Closed chat of %r left no email or phone: no contact saved", subject.name)
            return None
        found = self.crm.find_contacts(subject.email, subject.phone)
        if not self.autosave:
            return found[0].record["Id"] if found else None
        first, last = cards.split_name(subject.name)
        fields = {"FirstName": first, "LastName": last, "Email": subject.email, "Phone": subject.phone}
        if found:
            record = found[0].record
            # never overwrite a known name with a guessed split, only fill what is missing
            if record.get("LastName"):
                fields.pop("FirstName"), fields.pop("LastName")
            if found[0].matched_on == "email":
                fields.pop("Email")
            if found[0].matched_on == "phone" and (record.get("Phone") or record.get("MobilePhone")):
                fields.pop("Phone")
            self.crm.update_contact(record["Id"], fields, current=record)
            return record["Id"]
        if not last:
            fields["LastName"] = subject.email or subject.phone
        fields["LeadSource"] = "Web" if "Web" in self.crm.valid_values("Contact", "LeadSource") else None
        return self.crm.create_contact(fields)["Id"]

    def _transcript(self, payload: dict, subject: Subject) -> str | None:
        case_id = self.case_of_room(payload["room_id"])
        if not payload.get("contact_id") and not case_id:
            log.info("Transcript of room %s not logged: no contact or case to attach it to", payload["room_id"])
            return None
        lines = self.omni.transcript(payload["room_id"])
        when = (payload.get("closed_at") or "")[:16].replace("T", " ")
        title = TRANSCRIPT_SUBJECT.format(name=subject.name or subject.describe(), when=when + " UTC" if when else "")
        body = (f"Omnichannel chat {payload['room_id']} with {subject.name or 'a visitor'} ({subject.describe()}), "
                f"served by {payload.get('agent_username') or 'no agent'}.\n\n{transcript_text(lines)}")
        return self.crm.log_transcript(payload.get("contact_id"), title, body, case_id=case_id)
