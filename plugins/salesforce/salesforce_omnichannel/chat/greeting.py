"""What happens when a chat is assigned (the agent's private greeting) and what a closure queues
(`closure_payload`), on top of the CRM core and the Omnichannel interface; saving the closure is
`plugin_closure`'s."""

from __future__ import annotations

import logging

from . import cards
from .cards import Reply
from .contacts import VisitorContacts
from .context import ChatContext, Subject
from .omnichannel import LivechatRoom
from .times import utc_iso

log = logging.getLogger(__name__)


def greeting(contacts: VisitorContacts, ctx: ChatContext, prefix: str) -> list[Reply]:
    """The anchor's private greeting, as ONE message: the contact's card carrying the next steps, or
    "not a contact yet" with the command that creates it. What was found is kept for the chat."""
    crm = contacts.crm
    subject = ctx.subject() or Subject(name=getattr(ctx.room, "visitor_name", "") or "")
    name = cards.shown_name(subject.name) or "This visitor"
    found, leads = contacts.lookup(subject) if (subject.email or subject.phone or subject.visitor_id) else ([], [])
    if ctx.room_id:
        contacts.remember_room(ctx.room_id, subject, found, leads)
    if not found:
        command = cards.create_contact_command(prefix, subject.name, subject.email, subject.phone)
        create = command.replace(f"{prefix} create-contact", f"{prefix} create-contact --chat {ctx.room_id}", 1)
        return [
            {
                "title": "",
                "body": cards.not_a_contact(name, subject.describe(), command, leads, crm.record_url),
                "actions": [cards.button("Create contact", create)] if ctx.room_id else [],
            }
        ]
    first = found[0]
    kind = "Person Account" if first.record.get("IsPersonAccount") else "Contact"
    head = (
        f"{cards.contact_name(first.record)} is already a Salesforce {kind}."
        if len(found) == 1
        else f"{len(found)} Salesforce Contacts match {name} ({subject.describe()}); the newest is shown, "
        f"`{prefix} contact` lists all."
    )
    card = cards.contact_card(first.record, crm.record_url, first.matched_on)
    steps = f'Next: `{prefix} cases` · `{prefix} create-case --subject "…"` · `{prefix} activities` · `{prefix} help`'
    card["body"] = "\n".join(p for p in (f"**{head}**", card.get("body"), steps) if p)
    card["actions"] = cards.next_steps(prefix, ctx.room_id)
    return [card]


def held_greeting(ctx: ChatContext, prefix: str, why: str) -> list[Reply]:
    """The greeting while the API budget guard holds: who the visitor is by Rocket.Chat alone, why there
    is no Salesforce look-up, and the command (or button) that looks the visitor up now."""
    subject = ctx.subject() or Subject(name=getattr(ctx.room, "visitor_name", "") or "")
    name = cards.shown_name(subject.name) or "a visitor"
    described = subject.describe()
    who = f"{name} ({described})" if described not in (subject.name, "this visitor") else name
    target = f" --chat {ctx.room_id}" if ctx.room_id else ""
    body = (
        f"**You now serve {who}.** No Salesforce look-up for this chat: {why}. "
        f"`{prefix} contact{target}` looks the visitor up now."
    )
    return [
        {"title": "", "body": body, "actions": [cards.button("Look up", f"{prefix} contact{target}")] if target else []}
    ]


def closure_payload(room: LivechatRoom) -> dict:
    return {
        "room_id": room.id,
        "visitor_id": room.visitor_id,
        "visitor_token": room.visitor_token,
        "visitor_name": room.visitor_name,
        "agent_username": room.agent_username,
        "closed_at": utc_iso(room.closed_at) or None,
    }
