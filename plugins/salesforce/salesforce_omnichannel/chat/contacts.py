"""Which Salesforce contact is this visitor: the one remembered for the visitor first, read by id.

Salesforce's search index lags behind new and changed records (seconds, minutes under load), so
a visitor whose contact this integration just created or matched may not be found again by a
phone search. The link from the Rocket.Chat visitor (id and widget token) to the contact lives in
the state store; only when there is none, or its contact is gone, is the visitor looked up by
email (SOQL) and phone (SOSL).
"""

from __future__ import annotations

import time

from ..crm import phones
from ..crm.api import CrmApi
from ..crm.errors import CrmNotFound
from ..crm.operations import ContactMatch
from .context import RememberedVisitor, Subject
from .store import StateStore

LINKED = "this visitor's earlier chats"  # shown on the card as "Matched on …"
KEEP_LINK_SECONDS = 365 * 24 * 3600


class VisitorContacts:
    def __init__(self, crm: CrmApi, links: StateStore | None):
        self.crm = crm
        self.links = links

    def find(self, subject: Subject, known: dict | None = None) -> list[ContactMatch]:
        return self.lookup(subject, known)[0]

    def lookup(self, subject: Subject, known: dict | None = None) -> tuple[list[ContactMatch], list[dict]]:
        """(contacts, leads) of the visitor. KNOWN is the chat's room context: the contact the greeting
        found is reused without asking Salesforce again, and so is "none found" (with its leads)."""
        known = known or {}
        linked_id = (
            self.links.linked_contact(subject.visitor_id, subject.token)
            if (self.links is not None and subject.visitor_id and subject.token)
            else None
        )
        remembered = known.get("contact")
        if isinstance(remembered, dict) and remembered.get("Id") and linked_id in (None, remembered["Id"]):
            return [ContactMatch(remembered, _matched_on(remembered, subject))], []
        linked = self._linked(subject, linked_id) if linked_id else None
        if linked is not None:
            return [linked], []
        if known.get("looked_up") and not remembered:
            return [], list(known.get("leads") or [])
        return self.crm.lookup(subject.email, subject.phone)

    def remember_room(self, room_id: str, subject: Subject, found: list[ContactMatch], leads: list[dict]) -> None:
        """Keep what the greeting learnt for the commands and the closure of this chat."""
        if self.links is None:
            return
        contact = found[0].record if found else None
        self.links.set_room_context(
            room_id,
            time.time(),
            contact_id=contact["Id"] if contact else None,
            data={
                "visitor": RememberedVisitor.stored(subject),
                "contact": contact,
                "looked_up": True,
                "leads": leads[:3],
            },
        )
        if len(found) == 1:
            self.remember(subject, contact["Id"])

    def remember_contact(self, room_id: str | None, subject: Subject | None, record: dict) -> None:
        """A contact made or chosen in a chat: linked to its visitor and kept for the chat's closure."""
        self.remember(subject, record.get("Id"))
        if self.links is not None and room_id:
            self.links.set_room_context(
                room_id, time.time(), contact_id=record.get("Id"), data={"contact": record, "looked_up": True}
            )

    def forget(self, room_id: str, subject: Subject | None) -> None:
        """The visitor's records were deleted or merged away in Salesforce during the chat: neither the
        visitor's link nor the chat keeps them, so the next look-up asks Salesforce again."""
        if self.links is None:
            return
        if subject is not None and subject.visitor_id:
            self.links.unlink_visitor(subject.visitor_id)
        self.links.set_room_context(
            room_id, time.time(), contact_id=None, data={"contact": None, "looked_up": False, "leads": []}
        )

    def forget_case(self, room_id: str) -> None:
        if self.links is not None:
            self.links.set_room_context(room_id, time.time(), case_id=None)

    def remember(self, subject: Subject | None, contact_id: str | None) -> None:
        if self.links is not None and subject is not None and subject.visitor_id and subject.token and contact_id:
            self.links.link_visitor(subject.visitor_id, subject.token, contact_id, time.time())

    def _linked(self, subject: Subject, contact_id: str) -> ContactMatch | None:
        """The linked contact, read by id; None (and the link forgotten) when Salesforce no longer has it."""
        try:
            record = self.crm.get_contact(contact_id)
            return ContactMatch(record, _matched_on(record, subject))
        except CrmNotFound:  # deleted or merged away in Salesforce: forget the link, search again
            self.links.unlink_visitor(subject.visitor_id)
            return None


def _matched_on(record: dict, subject: Subject) -> str:
    """What the agent would recognise: the visitor's email or phone when the contact carries it."""
    if subject.email and (record.get("Email") or "").lower() == subject.email.lower():
        return "email"
    if subject.phone and any(phones.same_number(record.get(f), subject.phone) for f in ("Phone", "MobilePhone")):
        return "phone"
    return LINKED
