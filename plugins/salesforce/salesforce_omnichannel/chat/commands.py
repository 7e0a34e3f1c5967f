"""The `!salesforce` subcommands, as functions from a parsed command to replies.

A reply is a string (Markdown) or a card (a dict of `send_card` keyword arguments); the plugin
delivers them privately to the agent who asked. Nothing here talks to the chat backend.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..crm.api import CrmApi
from ..crm.errors import CrmError, CrmValidationError, owner_refused
from ..crm.fieldmap import FieldMapOrg
from ..crm.operations import ContactMatch
from . import cards
from .args import Parsed, UsageError, usage
from .cards import Reply
from .contacts import VisitorContacts
from .context import ChatContext, Subject, explicit_subject
from .registry import BY_NAME, Subcommand, canonical, command_help, help_text
from .times import age, stamp

CONTACT_ID = re.compile(r"003[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")
MAX_VALUE = 32000


@dataclass
class Invocation:
    parsed: Parsed
    ctx: ChatContext
    prefix: str
    remember_case: Callable[[str, str], None]  # (room id, case id)
    status: Callable[[], str] = lambda: ""  # the admins' status text (the plugin knows the outbox)
    # the typing agent's owner of a new record of an object ({"OwnerId": …} or {}: the integration user's)
    owner: Callable[[str], dict[str, str]] = lambda sobject: {}
    forget_owner: Callable[[str], None] = lambda owner_id: None  # Salesforce refused that owner
    check: Callable[[], str] = lambda: ""  # the setup check's answer (the plugin knows the agents)
    # FIELD_MAP's values for a new record of an object made in this chat (under what the agent typed)
    mapped: Callable[[str], dict[str, Any]] = lambda sobject: {}


class Commands:
    def __init__(self, crm: CrmApi | None, contacts: VisitorContacts | None = None):
        self.crm = crm
        self.contacts = contacts or VisitorContacts(crm, None)

    def link(self, record_id: str) -> str:
        return self.crm.record_url(record_id)

    # -- subjects ------------------------------------------------------------------------
    def subject(self, inv: Invocation) -> Subject:
        named = inv.parsed.options.get("contact")
        explicit = explicit_subject([named] if named else inv.parsed.positional)
        if explicit:
            return explicit
        chat_subject = inv.ctx.subject()
        if chat_subject and (chat_subject.email or chat_subject.phone):
            return chat_subject
        if chat_subject:
            raise UsageError(
                f"The visitor {cards.shown_name(chat_subject.name)} left no email or phone: name one, e.g. "
                f"{inv.prefix} {inv.parsed.command} jane@example.com".replace("  ", " ")
            )
        raise UsageError(
            f"Outside a chat, name the person with --contact EMAIL|PHONE|ID: {usage(inv.parsed.command, inv.prefix)}"
        )

    def matches(self, subject: Subject, inv: Invocation | None = None) -> list[ContactMatch]:
        """The subject's contacts; the chat's own visitor reuses what the greeting found."""
        known = inv.ctx.known if inv is not None and subject.visitor_id else None
        return self.contacts.find(subject, known)

    def not_a_contact(self, subject: Subject, prefix: str, lead_check: bool = True) -> list[Reply]:
        leads = self.crm.find_leads(subject.email, subject.phone) if lead_check else []
        command = cards.create_contact_command(prefix, subject.name, subject.email, subject.phone)
        return [cards.not_a_contact(subject.name, subject.describe(), command, leads, self.link)]

    def one_contact(self, inv: Invocation) -> tuple[Subject, ContactMatch | None, list[Reply]]:
        """The subject's contact; several matches use the newest and say so; none: replies explain."""
        named = (inv.parsed.options.get("contact") or "").strip()
        if CONTACT_ID.fullmatch(named):
            return Subject(name=named), ContactMatch(self.crm.get_contact(named), "id"), []
        subject = self.subject(inv)
        found = self.matches(subject, inv)
        if not found:
            return subject, None, self.not_a_contact(subject, inv.prefix, lead_check=False)
        notes: list[Reply] = []
        if len(found) > 1:
            notes.append(
                f"{len(found)} contacts match {subject.describe()}; using the newest, "
                f"{cards.contact_name(found[0].record)} (see `{inv.prefix} contact` for all)."
            )
        return subject, found[0], notes

    # -- commands ------------------------------------------------------------------------
    def run(self, inv: Invocation) -> list[Reply]:
        handler = getattr(self, BY_NAME[inv.parsed.command].handler)
        try:
            return handler(inv)
        except CrmError as exc:
            if owner_refused(exc) and any(inv.owner(sobject) for sobject in ("Contact", "Case")):
                # the agent's Salesforce user was deactivated since the cache was filled: once more, owned
                # by the integration user (a refused write saved nothing)
                for sobject in ("Contact", "Case"):
                    inv.forget_owner(inv.owner(sobject).get("OwnerId", ""))
                inv.owner = lambda sobject: {}
                return handler(inv)
            if exc.code != "ENTITY_IS_DELETED" or not inv.ctx.room_id:
                raise
            # the contact the chat remembered was deleted or merged away in Salesforce meanwhile: once more,
            # with the visitor looked up afresh (a refused write saved nothing, so nothing is made twice)
            self.contacts.forget(inv.ctx.room_id, inv.ctx.subject())
            inv.ctx = replace(inv.ctx, known=None)
            return handler(inv)

    def cmd_status(self, inv: Invocation) -> list[Reply]:
        return [inv.status()]

    def cmd_check(self, inv: Invocation) -> list[Reply]:
        return [inv.check()]

    def cmd_help(self, inv: Invocation) -> list[Reply]:
        if not inv.parsed.positional:
            return [help_text(inv.prefix)]
        sub = BY_NAME.get(canonical(inv.parsed.positional[0]))
        if sub is None:
            raise UsageError(f"Unknown command {inv.parsed.positional[0][:40]!r}. Type {inv.prefix} help for the list.")
        return [command_help(inv.prefix, sub)]

    def cmd_contact(self, inv: Invocation) -> list[Reply]:
        subject = self.subject(inv)
        found = self.matches(subject, inv)
        if not found:
            return self.not_a_contact(subject, inv.prefix)
        head = f"{len(found)} Salesforce contacts match {subject.describe()}:" if len(found) > 1 else None
        replies: list[Reply] = [head] if head else []
        for match in found[:10]:
            card = cards.contact_card(match.record, self.link, match.matched_on)
            card["actions"] = cards.next_steps(inv.prefix, contact_id=match.record["Id"])
            replies.append(card)
        return replies

    def cmd_cases(self, inv: Invocation) -> list[Reply]:
        _subject, match, replies = self.one_contact(inv)
        if match is None:
            return replies
        cases = self.crm.contact_cases(match.record["Id"])
        return replies + [cards.case_list(cases, self.link, cards.contact_name(match.record))]

    def cmd_case(self, inv: Invocation) -> list[Reply]:
        if len(inv.parsed.positional) != 1:
            raise UsageError(usage("case", inv.prefix) + " (e.g. 1026 or 00001026)")
        return [cards.case_card(self.crm.case_by_number(inv.parsed.positional[0]), self.link)]

    def cmd_activities(self, inv: Invocation) -> list[Reply]:
        words = list(inv.parsed.positional)
        kind = "tasks"
        if words and words[0].lower() in ("tasks", "events", "calls"):
            kind = words.pop(0).lower()
        inv.parsed.positional = words
        _subject, match, replies = self.one_contact(inv)
        if match is None:
            return replies
        records = self.crm.activities(match.record["Id"], kind)
        return replies + [cards.activity_list(kind, records, self.link, cards.contact_name(match.record))]

    def cmd_create_contact(self, inv: Invocation) -> list[Reply]:
        if inv.parsed.positional:
            raise UsageError(f"create-contact takes options only. {usage('create-contact', inv.prefix)}")
        fields = self._contact_fields(inv)
        if fields.get("Email"):
            existing = [m for m in self.crm.find_contacts(fields["Email"]) if m.matched_on == "email"]
            if existing:
                return [
                    f"A Salesforce contact with the email {fields['Email']} already exists; nothing was created.",
                    cards.contact_card(existing[0].record, self.link, "email"),
                ]
        try:
            record = self._created(
                "Contact", lambda: self.crm.create_contact(inv.mapped("Contact") | fields | inv.owner("Contact"))
            )
        except CrmValidationError as exc:
            if exc.code != "DUPLICATES_DETECTED" or not exc.duplicates:
                raise
            return self._duplicate_found(inv, exc.duplicates)
        self.contacts.remember_contact(inv.ctx.room_id, inv.ctx.subject(), record)
        return ["Contact created.", cards.contact_card(record, self.link)]

    def _created(self, sobject: str, create: Callable[[], dict]) -> dict:
        """CREATE's record; a field the org requires and nothing filled is named with the FIELD_MAP entry
        that would fill it (the org's admin reads the same in `!salesforce check`)."""
        try:
            return create()
        except CrmValidationError as exc:
            if exc.code != "REQUIRED_FIELD_MISSING":
                raise
            exc.message = FieldMapOrg.of(self.crm).required_missing(sobject, exc.fields)
            raise

    def _duplicate_found(self, inv: Invocation, matches: list[tuple[str, str]]) -> list[Reply]:
        """The org's duplicate rules matched an existing record: that one is the answer (and, in a chat, the
        visitor's contact from now on); the bot never overrides the rules unless ALLOW_DUPLICATES says so."""
        contact_id = next((i for kind, i in matches if kind == "Contact"), None)
        if contact_id is None:
            kind, record_id = matches[0]
            return [
                f"Salesforce's duplicate rules found an existing {kind} for this person: {self.link(record_id)} "
                "Nothing was created; convert the Lead in Salesforce to make it a contact."
            ]
        record = self.crm.get_contact(contact_id)
        self.contacts.remember_contact(inv.ctx.room_id, inv.ctx.subject(), record)
        return [
            "Salesforce's duplicate rules found this existing contact; nothing was created.",
            cards.contact_card(record, self.link),
        ]

    def _contact_fields(self, inv: Invocation) -> dict[str, Any]:
        """The visitor's name, email and phone, overridden by the options given."""
        prefill = inv.ctx.subject() or Subject()
        first, last = cards.split_name(prefill.name)
        fields: dict[str, Any] = {"FirstName": first, "LastName": last, "Email": prefill.email, "Phone": prefill.phone}
        sub = BY_NAME["create-contact"]
        given = self.written_values(sub, inv.parsed.options)
        fields.update(given)
        if not fields.get("LastName"):
            raise UsageError(f"Salesforce requires a last name: add --last-name. {usage(sub.name, inv.prefix)}")
        for option in sub.written():
            if option.kind == "email" and option.field not in given:  # the visitor's own, prefilled
                _check_email(fields.get(option.field))
        return fields

    def written_values(self, sub: Subcommand, given: dict[str, str]) -> dict[str, Any]:
        """Salesforce field -> value of each option given that writes a field, as its declaration says."""
        values: dict[str, Any] = {}
        for option in sub.written():
            if option.name not in given:
                continue
            value = _clean(given[option.name], option.name)
            if option.kind == "email":
                _check_email(value)
            elif option.kind == "account-name":
                value = self.crm.find_account(value)["Id"]
            values[option.field] = value
        return values

    def cmd_create_case(self, inv: Invocation) -> list[Reply]:
        sub = BY_NAME["create-case"]
        values = self.written_values(sub, inv.parsed.options)
        if not values.get("Subject"):
            raise UsageError(f"A case needs a subject. {usage(sub.name, inv.prefix)}")
        _subject, match, replies = self.one_contact(inv)
        if match is None:
            return replies + ["Create the contact first, then the case."]
        values = inv.mapped("Case") | values | inv.owner("Case")
        case = self._created("Case", lambda: self.crm.create_case(match.record["Id"], values, contact=match.record))
        if inv.ctx.room_id:
            inv.remember_case(inv.ctx.room_id, case["Id"])
        return replies + [
            f"Case {case.get('CaseNumber')} created for {cards.contact_name(match.record)}.",
            cards.case_card(case, self.link),
        ]

    def cmd_refresh(self, inv: Invocation) -> list[Reply]:
        before = self.crm.metadata.fetched_at
        previous = max(before.values()) if before else None
        self.crm.metadata.refresh()
        self.crm.owners.refresh()  # the agents' Salesforce users are looked up again too
        said = f"last fetched {_ago(previous)}" if previous else "not fetched before"
        return [f"Salesforce metadata reloaded (picklists and fields of Contact, Case, Task); it was {said}."]


def _clean(value: str, option: str) -> str:
    text = value.strip()
    if len(text) > MAX_VALUE:
        raise CrmValidationError(
            f"--{option} is too long ({len(text)} characters).", "STRING_TOO_LONG", fields=[option]
        )
    return text


def _check_email(value: str | None) -> None:
    if value and ("@" not in value or " " in value):
        raise UsageError(f"{value[:80]!r} is not an email address.")


def _ago(epoch: float) -> str:
    return f"{age(time.time() - epoch)} ago ({stamp(epoch)})"
