"""FIELD_MAP on the chat side: the sources a mapped field may take its value from, the check of an
entry's shape when the configuration is set (no Salesforce needed), and the values a chat gives.

A source is a literal (`=Chat`: everything after the `=`, as typed) or one of
- `visitor.name`, `visitor.email`, `visitor.phone` (the first of each), `visitor.username`,
  `visitor.department` (the visitor's department as Rocket.Chat stores it: its id, or the room's
  department name when the chat ran in that department),
- `visitor.custom.<key>`: a Rocket.Chat livechat custom field (`livechatData`) of the visitor, else of
  the room (a custom field key names one field, whatever its scope),
- `room.custom.<key>`: a room-scoped custom field only,
- `room.tags` (joined with ", "; with ";" into a multi-select picklist), `room.department` (the
  department's name when Rocket.Chat gave it, else its id), `room.id`, `room.url` (the room in
  Rocket.Chat's web client: SERVER/live/ROOM_ID, Rocket.Chat's route for Omnichannel rooms),
- `agent.username`, `agent.name`, `agent.email` (the serving agent; a verified address only).
A source with no value for a chat (no custom field of that key, no agent) fills nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..crm.fieldmap import FieldMapOrg, is_literal, split_key
from .omnichannel import Agent, LivechatRoom, Visitor

SOURCES = (
    "visitor.name",
    "visitor.email",
    "visitor.phone",
    "visitor.username",
    "visitor.department",
    "room.tags",
    "room.department",
    "room.id",
    "room.url",
    "agent.username",
    "agent.name",
    "agent.email",
)
CUSTOM_PREFIXES = ("visitor.custom.", "room.custom.")
# a Rocket.Chat custom field's key (its _id): livechat/custom-fields.save allows these characters only
_CUSTOM_KEY = re.compile(r"[0-9a-zA-Z_-]{1,100}")
MAX_LITERAL = 1000  # longer is a paste gone wrong, not a field value
ALL_SOURCES = "=<literal>, " + ", ".join(SOURCES[:5]) + ", visitor.custom.<key>, room.custom.<key>, "
ALL_SOURCES += ", ".join(SOURCES[5:])
EXAMPLE = '{"Contact.Customer_Tier__c": "=Gold", "Case.Product__c": "visitor.custom.product"}'


class SourceError(ValueError):
    """An entry's source is not one FIELD_MAP knows; the message says why, without the key."""


def parse_source(text: str) -> str:
    """TEXT as a source: a literal kept as typed after its `=`, a chat source in lower case (a custom
    field's key keeps its case); SourceError otherwise."""
    stripped = text.strip()
    if is_literal(stripped):
        literal = text.lstrip()[1:]
        if not literal.strip():
            raise SourceError("'=', an empty literal: write the value after the =, e.g. '=Chat'")
        if len(literal) > MAX_LITERAL:
            raise SourceError(f"a literal longer than {MAX_LITERAL} characters")
        return "=" + literal
    lowered = stripped.lower()
    prefix = next((p for p in CUSTOM_PREFIXES if lowered.startswith(p)), None)
    if prefix is not None:
        key = stripped[len(prefix) :]
        if not _CUSTOM_KEY.fullmatch(key):
            raise SourceError(
                f"{stripped[:60]!r}, but {key[:40]!r} is no Rocket.Chat custom field key (letters, digits, - and _, "
                "as in Omnichannel > Custom Fields)"
            )
        return prefix + key
    if lowered in SOURCES:
        return lowered
    close = difflib.get_close_matches(lowered, SOURCES + ("visitor.custom.<key>",), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    raise SourceError(f"{stripped[:40]!r}, which is not a source.{hint} Sources: {ALL_SOURCES}")


def entry(key: str, raw_name: Any, name: str, target: Any) -> tuple[str, str]:
    """One FIELD_MAP entry checked without Salesforce, for chat/config.py's dictionary parser: RAW_NAME
    ("Object.Field"; NAME is it stripped) and TARGET (the source) normalised, or ValueError naming KEY and
    the entry. Whether the org has the field, lets the bot write it and takes the literal is
    crm/fieldmap.py's `FieldMapOrg.problems`, once Salesforce is reachable."""
    shown = str(raw_name)[:60]
    if not isinstance(raw_name, str):
        raise ValueError(f"{key}: {shown!r} is not Object.Field, e.g. 'Contact.Customer_Tier__c'.")
    try:
        sobject, field = split_key(name)
    except ValueError as exc:
        raise ValueError(f"{key}: {shown!r} {exc}.") from None
    mapped = f"{sobject}.{field}"
    if not isinstance(target, str):
        raise ValueError(
            f"{key}: {mapped!r} maps to {str(target)[:40]!r}, which is not a source: write one of {ALL_SOURCES}."
        )
    try:
        return mapped, parse_source(target)
    except SourceError as exc:
        raise ValueError(f"{key}: {mapped!r} maps to {exc}.") from None


def room_url(server_url: str, room_id: str) -> str:
    """The Omnichannel room in Rocket.Chat's web client (the livechat room type's route `/live/:id`)."""
    return f"{server_url.rstrip('/')}/live/{room_id}" if server_url and room_id else ""


@dataclass(frozen=True)
class ChatData:
    """The chat a record is made for. VISITOR and ROOM are the backend's (custom fields, tags and the
    department are read when they have them: a visitor the state store kept has none); AGENT is the
    serving agent (`bot.omnichannel.agent(username)`); SERVER_URL is the Rocket.Chat server (the
    backend's BOT_IDENTITY["server"], i.e. ROCKETCHAT_URL), for `room.url`."""

    visitor: Visitor | None = None
    room: LivechatRoom | None = None
    agent: Agent | None = None
    server_url: str = ""


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    text = str(value).strip()
    return text or None


def _custom(holder: Any, key: str) -> str | None:
    custom = getattr(holder, "custom", None)
    return _text(custom.get(key)) if isinstance(custom, Mapping) else None


def source_value(source: str, chat: ChatData) -> str | list[str] | None:
    """What SOURCE gives for CHAT (a chat source; a literal is the caller's): text, a list for
    `room.tags`, None when the chat has no value for it."""
    visitor, room, agent = chat.visitor, chat.room, chat.agent
    owner, _, attribute = source.partition(".")
    if source.startswith("visitor.custom."):
        key = source[len("visitor.custom.") :]
        return _custom(visitor, key) or _custom(room, key)
    if source.startswith("room.custom."):
        return _custom(room, source[len("room.custom.") :])
    if owner == "visitor" and visitor is not None:
        if attribute == "email":
            return _text(next(iter(getattr(visitor, "emails", ()) or ()), None))
        if attribute == "phone":
            return _text(next(iter(getattr(visitor, "phones", ()) or ()), None))
        if attribute == "department":
            department = _text(getattr(visitor, "department", None))
            if department and room is not None and department == getattr(room, "department_id", None):
                return _text(getattr(room, "department_name", None)) or department
            return department
        return _text(getattr(visitor, attribute, None))
    if owner == "room" and room is not None:
        if attribute == "tags":
            return [t for t in (_text(tag) for tag in getattr(room, "tags", ()) or ()) if t] or None
        if attribute == "department":
            return _text(getattr(room, "department_name", None)) or _text(getattr(room, "department_id", None))
        if attribute == "url":
            return _text(room_url(chat.server_url, room.id))
        return _text(getattr(room, attribute, None))
    if owner == "agent" and agent is not None:
        return _text(getattr(agent, attribute, None))
    return None


class FieldMapper:
    """FIELD_MAP's values for one chat: `values_for("Contact")` -> {field: value} for the entries of
    that object that have a value, each fitted to the field (describe's spelling, cut to its length, a
    picklist value mended to the org's or left out, a literal checkbox/number/date converted). What
    was left out, and why, is added to `notes` (one sentence each, for the agent and the log)."""

    def __init__(self, field_map: Mapping[str, str], chat: ChatData, org: FieldMapOrg):
        self.field_map = field_map
        self.chat = chat
        self.org = org
        self.notes: list[str] = []

    def values_for(self, sobject: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, source in self.field_map.items():
            prefix, _, name = key.partition(".")
            if prefix != sobject:
                continue
            if is_literal(source):
                value, why = self.org.fit(sobject, name, source[1:], literal=True)
            else:
                raw = source_value(source, self.chat)
                if raw is None:
                    continue
                if isinstance(raw, list):
                    kind = str((self.org.metadata.field(sobject, self.org.key(sobject, name)) or {}).get("type"))
                    raw = ";".join(raw) if kind == "multipicklist" else ", ".join(raw)
                value, why = self.org.fit(sobject, name, raw)
            if why:
                self.notes.append(f"FIELD_MAP {key!r} left out: {why}.")
            if value is not None:
                values[self.org.key(sobject, name)] = value
        return values
