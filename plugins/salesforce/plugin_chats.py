"""What happens when a chat is assigned (the agent's private greeting) and what a closure queues
(`closure_payload`), on top of the CRM core and the Omnichannel interface; saving the closure is
`plugin_closure`'s."""
from __future__ import annotations

import logging
from typing import Any

import plugin_cards as cards
from plugin_contacts import VisitorContacts
from plugin_commands import Reply
from plugin_context import ChatContext, Subject

log = logging.getLogger(__name__)


def greeting(contacts: VisitorContacts, ctx: ChatContext, prefix: str) -> list[Reply]:
    """The anchor's private greeting: the contact(s) found, or the command that creates one."""
    crm = contacts.crm
    subject = ctx.subject() or Subject(name=getattr(ctx.room, "visitor_name", "") or "")
    name = subject.name or "This visitor"
    found = contacts.find(subject) if (subject.email or subject.phone or subject.visitor_id) else []
    if len(found) == 1:
        contacts.remember(subject, found[0].record["Id"])
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
        "visitor_token": room.visitor_token,
        "visitor_name": room.visitor_name,
        "agent_username": room.agent_username,
        "closed_at": room.closed_at.isoformat() if room.closed_at else None,
    }
