"""The Omnichannel interface the plugin needs from a chat backend, stated as Protocols (model:
`errbot/backends/base.py`). The Rocket.Chat backend (`backends/rocketchat/rc_omnichannel.py`)
provides it as `bot.omnichannel`; the plugin names only these types, and the backend never imports
the plugin: `tests/test_chat_omnichannel.py` checks that the backend's classes fit. On a backend
without Omnichannel (Text, Slack, …) `bot.omnichannel` is absent and only explicit look-ups work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol, runtime_checkable


@runtime_checkable
class Visitor(Protocol):
    id: str | None
    token: str | None
    name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]


@runtime_checkable
class VisitorDetails(Visitor, Protocol):
    """A Visitor with what Rocket.Chat adds to it: the username, the department (its id) and the livechat
    custom fields (`livechatData`, key -> text). Optional: code reads them with `getattr(visitor, name,
    default)`, so a plain Visitor (a fake, one the state store kept) still serves."""

    username: str
    department: str | None
    custom: Mapping[str, str]


@runtime_checkable
class LivechatRoom(Protocol):
    id: str
    name: str
    open: bool
    visitor_id: str | None
    visitor_token: str | None
    visitor_name: str
    agent_id: str | None
    agent_username: str | None
    served_at: dt.datetime | None
    updated_at: dt.datetime | None
    closed_at: dt.datetime | None


@runtime_checkable
class LivechatRoomDetails(LivechatRoom, Protocol):
    """A LivechatRoom with its tags, department (id, and name when the listing gave it) and room-scoped
    custom fields (`livechatData`). Optional like VisitorDetails': read with getattr and a default."""

    tags: tuple[str, ...]
    department_id: str | None
    department_name: str | None
    custom: Mapping[str, str]


@runtime_checkable
class Agent(Protocol):
    """An Omnichannel agent; `email` is a verified address or None (an unverified one is never given)."""

    id: str
    username: str
    name: str
    email: str | None


@runtime_checkable
class TranscriptLine(Protocol):
    ts: dt.datetime
    author: str
    role: str  # "visitor" | "agent" | "bot"
    text: str


@runtime_checkable
class OmnichannelEvent(Protocol):
    kind: str  # "assigned" | "transferred" | "closed"
    room_id: str


@runtime_checkable
class Omnichannel(Protocol):
    def open_rooms(self, updated_since: dt.datetime | None = None, agent_id: str | None = None) -> list[LivechatRoom]:
        """Open, served rooms, newest update first (only AGENT_ID's when given)."""

    def closed_rooms(self, since: dt.datetime) -> list[LivechatRoom]:
        """Rooms closed at or after SINCE, oldest first."""

    def room(self, room_id: str) -> LivechatRoom | None: ...

    def visitor(self, visitor_id: str) -> Visitor | None: ...

    def transcript(self, room_id: str) -> list[TranscriptLine]: ...

    def is_agent(self, username: str) -> bool: ...

    def is_manager(self, username: str) -> bool: ...

    def agents(self) -> list[Agent]:
        """Every Omnichannel agent, with the verified email (cached briefly by the backend)."""

    def agent(self, username: str) -> Agent | None:
        """The Omnichannel agent USERNAME with the verified email, None when USERNAME is no agent."""

    def follow(self, room_id: str) -> None:
        """Receive the room's messages (free when the bot already sees every Omnichannel room)."""

    def unfollow(self, room_id: str) -> None: ...

    def follows_needed(self) -> bool:
        """False when following rooms costs nothing because every Omnichannel room reaches the bot anyway."""
