"""Which chat, and which visitor, a command is about.

In an Omnichannel room the chat is that room. In the agent's direct message with the bot it is
the one open chat the agent serves (several: `--chat` names one by visitor name, email or room
id). Elsewhere, or on a backend without Omnichannel, there is no chat and the agent names the
person (EMAIL or PHONE) explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..crm import phones
from .args import UsageError
from .omnichannel import LivechatRoom, Omnichannel, Visitor

_PHONE_CHARS = re.compile(r"[0-9\s+().\-/]+")


MAX_VISITOR_READS = 100  # `--chat` reads at most this many visitor records the state store does not hold
MAX_LISTED = 10  # an ambiguous `--chat`, or an agent serving many chats, gets this many listed


@dataclass(frozen=True)
class Subject:
    """Whom to look up: an email and/or phone, and the name to prefill a new contact with."""

    email: str | None = None
    phone: str | None = None
    name: str = ""
    visitor_id: str | None = None  # an Omnichannel visitor's id and widget token: the key of the contact link
    token: str | None = None

    def describe(self) -> str:
        return " / ".join(p for p in (self.email, self.phone) if p) or self.name or "this visitor"


@dataclass(frozen=True)
class RememberedVisitor:
    """A visitor as the room context kept it (the shape of the Omnichannel interface's Visitor)."""

    id: str | None
    token: str | None
    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @classmethod
    def of(cls, subject: Subject) -> RememberedVisitor:
        return cls(
            subject.visitor_id,
            subject.token,
            subject.name,
            (subject.email,) if subject.email else (),
            (subject.phone,) if subject.phone else (),
        )

    @staticmethod
    def stored(subject: Subject) -> dict:
        """How the room context keeps a visitor (read back by `known_visitor`)."""
        return {
            "visitor_id": subject.visitor_id,
            "token": subject.token,
            "name": subject.name,
            "email": subject.email,
            "phone": subject.phone,
        }


def known_visitor(known: dict, omnichannel: Omnichannel | None, visitor_id: str | None) -> Visitor | None:
    """The visitor as the greeting remembered it in the room context (no second `visitors.info`),
    else as Rocket.Chat has it (None without OMNICHANNEL: the store alone was asked)."""
    kept = known.get("visitor")
    if isinstance(kept, dict):
        fields = {k: kept.get(k) for k in ("email", "phone", "visitor_id", "token")}
        return RememberedVisitor.of(Subject(**fields, name=kept.get("name") or ""))
    return omnichannel.visitor(visitor_id) if visitor_id and omnichannel is not None else None


@dataclass(frozen=True)
class ChatContext:
    room: LivechatRoom | None = None
    visitor: Visitor | None = None  # from Rocket.Chat, or a RememberedVisitor
    known: dict | None = None  # the room context the state store keeps (contact found at the greeting, …)

    @property
    def room_id(self) -> str | None:
        return getattr(self.room, "id", None)

    def subject(self) -> Subject | None:
        if self.visitor is None:
            return None
        return Subject(
            email=self.visitor.emails[0] if self.visitor.emails else None,
            phone=self.visitor.phones[0] if self.visitor.phones else None,
            name=self.visitor.name or getattr(self.room, "visitor_name", "") or "",
            visitor_id=self.visitor.id or None,
            token=self.visitor.token or None,
        )


class ChoiceNeeded(Exception):
    """The agent serves several chats (or `--chat` matched several) and must say which one: `chats`
    holds the first MAX_LISTED of `total`."""

    def __init__(self, chats: list[ChatContext], total: int | None = None):
        super().__init__("several chats")
        self.chats = chats
        self.total = len(chats) if total is None else total


def explicit_subject(words: list[str]) -> Subject | None:
    """`jane@example.com` or `+1 415 555 0134` (a phone may arrive as several words)."""
    if not words:
        return None
    text = " ".join(words).strip()
    if "@" in text:
        if " " in text or len(text) > 80 or text.count("@") != 1:
            raise UsageError(f"{text[:80]!r} is not an email address.")
        return Subject(email=text)
    if phones.usable(text) and len(text) <= 40 and _PHONE_CHARS.fullmatch(text):
        return Subject(phone=text)
    raise UsageError(f"{text[:80]!r} is neither an email address nor a phone number (7 digits or more).")


def _matches(room: LivechatRoom, visitor: Visitor | None, wanted: str) -> bool:
    """`--chat` names a chat by its room id, or by any part of the visitor's name or email, in any case."""
    wanted = wanted.strip().lower()
    if not wanted:
        return False
    if wanted == room.id.lower():
        return True
    texts = [room.visitor_name, room.name] + ([visitor.name, *visitor.emails] if visitor is not None else [])
    return any(wanted in (text or "").lower() for text in texts)


def chat_for(
    omnichannel: Omnichannel | None,
    extras: dict,
    username: str,
    chosen: str | None,
    room: LivechatRoom | None = None,
    agent_id: str | None = None,
    context_of: Callable[[LivechatRoom], ChatContext] | None = None,
) -> ChatContext:
    """The chat a command is about; ChoiceNeeded when the agent serves several and named none.
    `room`: the Omnichannel room the command came from, when the caller has read it already;
    `agent_id`: the asking agent's user id (only that agent's rooms are listed); `context_of(room)`:
    the chat's context as the state store remembers it (its visitor None when it holds none: the
    visitor is then read from Rocket.Chat, only for the chats that need it)."""
    if omnichannel is None:
        return ChatContext()
    context_of = context_of or ChatContext
    if extras.get("omnichannel") and extras.get("room_id"):
        room = room if room is not None and room.id == extras["room_id"] else omnichannel.room(extras["room_id"])
        return _whole(context_of(room), omnichannel) if room is not None else ChatContext()
    if not extras.get("room_type") == "d" and not chosen:
        return ChatContext()
    manager = bool(chosen) and _is_manager(omnichannel, username)
    open_rooms = omnichannel.open_rooms() if manager or not agent_id else omnichannel.open_rooms(agent_id=agent_id)
    served = [r for r in open_rooms if r.agent_username == username]
    if chosen:
        found = _chosen(open_rooms if manager else served, chosen, context_of, omnichannel)
        if len(found) == 1:
            return _whole(found[0], omnichannel)
        if found:
            raise ChoiceNeeded([_whole(ctx, omnichannel) for ctx in found[:MAX_LISTED]], len(found))
        raise UsageError(
            f"No open chat of yours matches {chosen[:80]!r}: use part of the visitor's name or email, or the room id."
        )
    if len(served) == 1:
        return _whole(context_of(served[0]), omnichannel)
    if len(served) > 1:
        raise ChoiceNeeded([_whole(context_of(r), omnichannel) for r in served[:MAX_LISTED]], len(served))
    return ChatContext()


def _chosen(
    rooms: list[LivechatRoom],
    chosen: str,
    context_of: Callable[[LivechatRoom], ChatContext],
    omnichannel: Omnichannel,
) -> list[ChatContext]:
    """The chats CHOSEN names. A room id is taken at once. Otherwise every chat is matched on its room
    name and its visitor: as the state store remembers it, else as Rocket.Chat has it, read for at most
    the MAX_VISITOR_READS most recently updated such chats (a manager may see thousands: one
    `visitors.info` each would be thousands of calls for one command)."""
    wanted = chosen.strip().lower()
    by_id = [room for room in rooms if room.id.lower() == wanted]
    if by_id:
        return [context_of(room) for room in by_id]
    kept = [context_of(room) for room in rooms]
    unknown = [i for i, ctx in enumerate(kept) if ctx.visitor is None and ctx.room.visitor_id]
    for i in unknown[:MAX_VISITOR_READS]:
        kept[i] = _whole(kept[i], omnichannel)
    found = [ctx for ctx in kept if _matches(ctx.room, ctx.visitor, chosen)]
    if not found and len(unknown) > MAX_VISITOR_READS:
        raise UsageError(
            f"No open chat matches {chosen[:80]!r}. Visitor emails were searched in the {MAX_VISITOR_READS} "
            f"most recently updated of {len(unknown)} chats the bot has not greeted: use the room id or part "
            "of the visitor's name."
        )
    return found


def _whole(ctx: ChatContext, omnichannel: Omnichannel) -> ChatContext:
    """CTX with its visitor, read from Rocket.Chat when the store did not remember it."""
    return ctx if ctx.visitor is not None or ctx.room is None else replace(ctx, visitor=_visitor(omnichannel, ctx.room))


def _is_manager(omnichannel: Omnichannel, username: str) -> bool:
    try:
        return bool(omnichannel.is_manager(username))
    except Exception:  # noqa: BLE001 - an unreadable role means "not a manager"
        return False


def _visitor(omnichannel: Omnichannel, room: LivechatRoom | None) -> Visitor | None:
    if room is None or not room.visitor_id:
        return None
    return omnichannel.visitor(room.visitor_id)
