"""Errbot identifiers for Rocket.Chat, whose `str()` round-trips through `build_identifier`.

People are `@username`; rooms are `#name` (channels and private groups) or their room id (direct
messages, Omnichannel rooms); an occupant is `#room/@username` (or `ROOMID/@username`).
"""

from __future__ import annotations

from typing import Any

from errbot.backends.base import Person, Room, RoomOccupant


class RocketChatPerson(Person):
    def __init__(self, username: str, userid: str | None = None, fullname: str | None = None):
        self._username = username
        self._userid = userid
        self._fullname = fullname

    @property
    def username(self) -> str:
        return self._username

    @property
    def userid(self) -> str | None:
        return self._userid

    @property
    def person(self) -> str:
        return f"@{self._username}"

    @property
    def client(self) -> str:
        return ""

    @property
    def nick(self) -> str:
        return self._username

    @property
    def aclattr(self) -> str:
        return f"@{self._username}"

    @property
    def fullname(self) -> str:
        return self._fullname or self._username

    @property
    def email(self) -> str:
        return ""

    def __str__(self) -> str:
        return f"@{self._username}"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, RocketChatPerson) and other.username == self.username

    def __hash__(self) -> int:
        return hash(("person", self._username))

    def __repr__(self) -> str:
        return f"<RocketChatPerson @{self._username}>"


class RocketChatRoom(Room):
    """A room known by id, by name, or both; `room_type` is Rocket.Chat's `t` (c, p, d, l)."""

    def __init__(self, room_id: str | None = None, name: str | None = None, room_type: str | None = None, backend=None):
        if not room_id and not name:
            raise ValueError("a room needs an id or a name")
        self._id = room_id
        self._name = name
        self.room_type = room_type
        self._backend = backend

    @property
    def id(self) -> str | None:
        return self._id

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def omnichannel(self) -> bool:
        return self.room_type == "l"

    @property
    def aclattr(self) -> str:
        return str(self)

    def resolve_id(self) -> str:
        if not self._id:
            self._id = self._backend.room_id_for_name(self._name)
        return self._id

    def __str__(self) -> str:
        if self._name and self.room_type in (None, "c", "p"):
            return f"#{self._name}"
        return self._id or f"#{self._name}"

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, RocketChatRoom):
            return False
        if self._id and other._id:
            return self._id == other._id
        return self._name == other._name

    def __hash__(self) -> int:
        return hash(("room", self._id or self._name))

    def __repr__(self) -> str:
        return f"<RocketChatRoom {self}>"

    # Errbot's Room API: the bot does not manage rooms; these say so instead of pretending.
    def join(self, username: str | None = None, password: str | None = None) -> None:
        raise NotImplementedError("add the bot to the room in Rocket.Chat")

    def leave(self, reason: str | None = None) -> None:
        raise NotImplementedError("remove the bot from the room in Rocket.Chat")

    def create(self) -> None:
        raise NotImplementedError("create rooms in Rocket.Chat")

    def destroy(self) -> None:
        raise NotImplementedError("delete rooms in Rocket.Chat")

    @property
    def exists(self) -> bool:
        return True

    @property
    def joined(self) -> bool:
        return True

    @property
    def topic(self) -> str | None:
        return None

    @property
    def occupants(self) -> list:
        return []

    def invite(self, *args) -> None:
        raise NotImplementedError("invite people in Rocket.Chat")


class RocketChatRoomOccupant(RocketChatPerson, RoomOccupant):
    def __init__(self, room: RocketChatRoom, username: str, userid: str | None = None, fullname: str | None = None):
        super().__init__(username, userid, fullname)
        self._room = room

    @property
    def room(self) -> RocketChatRoom:
        return self._room

    def __str__(self) -> str:
        return f"{self._room}/@{self.username}"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, RocketChatRoomOccupant) and other.username == self.username and other.room == self.room

    def __hash__(self) -> int:
        return hash(("occupant", self.username, hash(self._room)))

    def __repr__(self) -> str:
        return f"<RocketChatRoomOccupant {self}>"


def parse_identifier(text: str, backend=None) -> RocketChatPerson | RocketChatRoom | RocketChatRoomOccupant:
    """The inverse of `str()` on the classes above."""
    text = text.strip()
    if not text:
        raise ValueError("empty identifier")
    if "/@" in text:
        room_part, user = text.rsplit("/@", 1)
        return RocketChatRoomOccupant(parse_room(room_part, backend), user)
    if text.startswith("@"):
        return RocketChatPerson(text[1:])
    return parse_room(text, backend)


def parse_room(text: str, backend=None) -> RocketChatRoom:
    if text.startswith("#"):
        return RocketChatRoom(name=text[1:], backend=backend)
    return RocketChatRoom(room_id=text, backend=backend)
