"""Which Salesforce contact is this visitor: the one remembered for the visitor first, read by id.

Salesforce's search index lags behind new and changed records (seconds, minutes under load), so
a visitor whose contact this integration just created or matched may not be found again by a
phone search. The link from the Rocket.Chat visitor (id and widget token) to the contact lives in
the state store; only when there is none, or its contact is gone, is the visitor looked up by
email (SOQL) and phone (SOSL).
"""
from __future__ import annotations

import time

import phones
from crm import ContactMatch, Crm
from crm_errors import CrmNotFound
from plugin_context import Subject
from plugin_store import StateStore

LINKED = "this visitor's earlier chats"  # shown on the card as "Matched on …"
KEEP_LINK_SECONDS = 365 * 24 * 3600


class VisitorContacts:
    def __init__(self, crm: Crm, links: StateStore | None):
        self.crm = crm
        self.links = links

    def find(self, subject: Subject) -> list[ContactMatch]:
        linked = self._linked(subject)
        if linked is not None:
            return [linked]
        return self.crm.find_contacts(subject.email, subject.phone)

    def remember(self, subject: Subject | None, contact_id: str | None) -> None:
        if self.links is not None and subject is not None and subject.visitor_id and subject.token and contact_id:
            self.links.link_visitor(subject.visitor_id, subject.token, contact_id, time.time())

    def _linked(self, subject: Subject) -> ContactMatch | None:
        if self.links is None or not (subject.visitor_id and subject.token):
            return None
        contact_id = self.links.linked_contact(subject.visitor_id, subject.token)
        if not contact_id:
            return None
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
