"""Cards and lists for contacts, cases, leads and activities, as `send_card` keyword arguments.

Every field is labelled (the product we replace shows unlabelled choices); empty fields are left
out rather than shown as "None"; dates read as `2026-11-24 19:14 UTC`.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Callable, Iterable
from typing import Any

from .registry import BY_NAME

Link = Callable[[str], str]
Reply = str | dict  # what the plugin delivers: Markdown text, or a card (`send_card` keyword arguments)
NAME_SHOWN = 80  # the livechat widget takes a visitor's name of any length; chat shows this much of it
FIRST_NAME, LAST_NAME = 40, 80  # Contact's standard FirstName and LastName lengths


def cut(text: str | None, limit: int) -> str:
    """TEXT whole when it fits in LIMIT characters, else cut to LIMIT with "…"."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_name(name: str | None) -> str:
    """A visitor's name as an agent reads it: one line, cut with "…" past NAME_SHOWN characters."""
    return cut(" ".join((name or "").split()), NAME_SHOWN)


def when(value: Any) -> str:
    """Salesforce's `2026-11-24T19:14:18.000+0000` (or a date) as `2026-11-24 19:14 UTC`."""
    if not value:
        return ""
    text = str(value)
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return dt.datetime.strptime(text, fmt).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            continue
    return text


def _fields(pairs: Iterable[tuple[str, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple((label, str(value)) for label, value in pairs if value not in (None, ""))


def contact_name(record: dict) -> str:
    return (
        record.get("Name") or " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or "(no name)"
    )


def contact_card(record: dict, link: Link, matched_on: str | None = None) -> dict:
    account = (record.get("Account") or {}).get("Name") if isinstance(record.get("Account"), dict) else None
    place = ", ".join(
        p for p in (record.get("MailingCity"), record.get("MailingState"), record.get("MailingCountry")) if p
    )
    person = bool(record.get("IsPersonAccount")) and record.get("AccountId")
    return {  # a person account's card is the account's: agents open the person there
        "title": f"{'Person Account' if person else 'Contact'}: {contact_name(record)}",
        "link": link(record["AccountId"] if person else record["Id"]),
        "color": "blue",
        "body": f"Matched on {matched_on}." if matched_on else "",
        "fields": _fields(
            [
                ("Name", contact_name(record)),
                ("Email", record.get("Email")),
                ("Phone", record.get("Phone")),
                ("Mobile", record.get("MobilePhone")),
                ("Account", None if person else account),
                ("Title", record.get("Title")),
                ("Lead Source", record.get("LeadSource")),
                ("Location", place),
                ("Created", when(record.get("CreatedDate"))),
            ]
        ),
    }


def case_card(record: dict, link: Link) -> dict:
    return {
        "title": f"Case {record.get('CaseNumber', '')}: {record.get('Subject') or '(no subject)'}",
        "link": link(record["Id"]),
        "color": "green" if not record.get("IsClosed") else "grey",
        "body": "",
        "fields": _fields(
            [
                ("Case Number", record.get("CaseNumber")),
                ("Created", when(record.get("CreatedDate"))),
                ("Status", record.get("Status")),
                ("Priority", record.get("Priority")),
                ("Case Origin", record.get("Origin")),
                ("Subject", record.get("Subject")),
                ("Type", record.get("Type")),
                ("Case Reason", record.get("Reason")),
                ("Description", (record.get("Description") or "")[:300]),
            ]
        ),
    }


def case_list(cases: list[dict], link: Link, who: str) -> str:
    if not cases:
        return f"This Salesforce Contact has no Case ({who})."
    lines = [f"**Cases of {who}** (newest first):"]
    for c in cases:
        lines.append(
            f"- [{c.get('CaseNumber')}]({link(c['Id'])}) · {c.get('Status') or '?'} · "
            f"{c.get('Subject') or '(no subject)'} · {when(c.get('CreatedDate'))}"
        )
    return "\n".join(lines)


def activity_list(kind: str, records: list[dict], link: Link, who: str) -> str:
    label = {"tasks": "Tasks", "events": "Events", "calls": "Calls"}[kind]
    if not records:
        return f"No {label.lower()} for {who}."
    lines = [f"**{label} of {who}** (newest first):"]
    for r in records:
        stamp = when(r.get("StartDateTime") or r.get("ActivityDate") or r.get("CreatedDate"))
        status = r.get("Status") or ""
        lines.append(
            f"- [{r.get('Subject') or '(no subject)'}]({link(r['Id'])}) · {status + ' · ' if status else ''}{stamp}"
        )
    return "\n".join(lines)


def lead_line(lead: dict, link: Link) -> str:
    name = lead.get("Name") or " ".join(p for p in (lead.get("FirstName"), lead.get("LastName")) if p)
    return f"A Lead matches this visitor: [{name}]({link(lead['Id'])}) · {lead.get('Company') or 'no company'} · status {lead.get('Status') or '?'}"


def create_contact_command(prefix: str, name: str, email: str | None, phone: str | None) -> str:
    """The exact command that would create the visitor's contact, quoted so it pastes."""
    first, last = split_name(name)
    first, last = first[:FIRST_NAME], last[:LAST_NAME]  # what Salesforce would keep: the command stays short
    sub = BY_NAME["create-contact"]
    parts = [f"{prefix} {sub.name}"]
    for field, value in (("FirstName", first), ("LastName", last), ("Email", email), ("Phone", phone)):
        option = sub.flag(field)
        if value:
            # `--opt=VALUE` when the value itself starts with a dash, or it would read as an option
            parts.append(
                f"{option}={shlex.quote(value)}" if value.startswith("-") else f"{option} {shlex.quote(value)}"
            )
    return " ".join(parts)


def split_name(name: str | None) -> tuple[str, str]:
    """First name(s) and last name; Salesforce requires LastName, so a single word is the last name."""
    words = (name or "").split()
    if not words:
        return "", ""
    if len(words) == 1:
        return "", words[0]
    return " ".join(words[:-1]), words[-1]


def not_a_contact(name: str, described: str, command: str, leads: list[dict], link: Link) -> str:
    """The one "not a contact yet" answer (greeting and commands): who, the pasteable create command, leads."""
    name, described = shown_name(name), shown_name(described)
    who = f"{name}, {described}" if name and name != described else described
    lines = [f"**This is not a Salesforce Contact** ({who}). Do you want to create it?", f"`{command}`"]
    return "\n".join(lines + [lead_line(lead, link) for lead in leads[:3]])


def as_markdown(card: dict) -> str:
    """A card as plain Markdown for backends without native cards (Text, Test, IRC…): Errbot's own card
    template would put every field on one table line and show its colour markup as text."""
    title = (
        f"**[{card['title']}]({card['link']})**"
        if card.get("link")
        else (f"**{card['title']}**" if card.get("title") else "")
    )
    lines = [t for t in (title, card.get("body")) if t]
    lines += [f"- **{label}**: {value}" for label, value in card.get("fields") or ()]
    return "\n".join(lines)


def button(text: str, command: str) -> dict:
    """A Rocket.Chat attachment button that posts COMMAND into the chat window it is shown in (the
    agent's direct message with the bot), as if the agent typed it."""
    return {
        "type": "button",
        "text": text,
        "msg": command,
        "msg_in_chat_window": True,
        "msg_processing_type": "sendMessage",
    }


def next_steps(prefix: str, room_id: str | None = None, contact_id: str | None = None) -> list[dict]:
    """The anchor app's buttons (View Cases, Tasks, Events, Calls; Create Case) as one-click commands,
    about the chat ROOM_ID, or about the contact CONTACT_ID wherever the card is shown."""
    target = f" --chat {room_id}" if room_id else (f" --contact {contact_id}" if contact_id else "")
    return [
        button("Cases", f"{prefix} cases{target}"),
        button("Tasks", f"{prefix} activities tasks{target}"),
        button("Events", f"{prefix} activities events{target}"),
        button("Calls", f"{prefix} activities calls{target}"),
        button("Create case", f"{prefix} create-case{target}"),
    ]
