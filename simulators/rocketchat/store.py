"""State of the loopback Rocket.Chat: users, roles, rooms, messages, visitors, inquiries, settings.

Field names and shapes follow Rocket.Chat's core typings (IUser, IRoom/IOmnichannelRoom,
IMessage, ILivechatVisitor, ILivechatInquiryRecord). Dates are kept as datetimes and rendered
as ISO strings for REST and `{"$date": ms}` for the realtime API.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_ID_CHARS = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"

# Role -> permissions (Rocket.Chat's defaults, reduced to what the simulator checks).
ROLE_PERMISSIONS: dict[str, set[str]] = {
    "admin": {"*"},
    "bot": {"api-bypass-rate-limit", "view-c-room", "create-d", "view-d-room", "view-p-room", "view-joined-room"},
    "user": {
        "create-c",
        "create-d",
        "view-c-room",
        "view-d-room",
        "view-p-room",
        "view-joined-room",
        "create-personal-access-tokens",
    },
    "livechat-agent": {
        "view-l-room",
        "close-livechat-room",
        "transfer-livechat-guest",
        "view-livechat-room-closed-by-another-agent",
    },
    "livechat-manager": {
        "view-livechat-rooms",
        "view-l-room",
        "manage-livechat-agents",
        "manage-livechat-managers",
        "manage-livechat-departments",
        "view-livechat-manager",
        "close-others-livechat-room",
        "transfer-livechat-guest",
        "view-livechat-room-closed-by-another-agent",
    },
}


def new_id(length: int = 17) -> str:
    return "".join(secrets.choice(_ID_CHARS) for _ in range(length))


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def to_rest(value: Any) -> Any:
    """Deep copy with datetimes as ISO strings (REST)."""
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: to_rest(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, (list, tuple)):
        return [to_rest(v) for v in value]
    return value


def to_ddp(value: Any) -> Any:
    """Deep copy with datetimes as `{"$date": ms}` (realtime API / EJSON)."""
    if isinstance(value, dt.datetime):
        return {"$date": int(value.timestamp() * 1000)}
    if isinstance(value, dict):
        return {k: to_ddp(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, (list, tuple)):
        return [to_ddp(v) for v in value]
    return value


@dataclass
class User:
    _id: str
    username: str
    name: str
    password: str
    roles: list[str]
    emails: list[dict]
    active: bool = True
    type: str = "user"
    tokens: set[str] = field(default_factory=set)
    status_livechat: str = "not-available"
    connections: int = 0  # realtime connections logged in as this user
    created: dt.datetime = field(default_factory=now)

    def can(self, permission: str) -> bool:
        return any("*" in ROLE_PERMISSIONS.get(r, ()) or permission in ROLE_PERMISSIONS.get(r, ()) for r in self.roles)

    def public(self) -> dict:
        return {
            "_id": self._id,
            "username": self.username,
            "name": self.name,
            "type": self.type,
            "active": self.active,
            "status": "online",
            "utcOffset": 0,
        }

    def full(self) -> dict:
        return {
            **self.public(),
            "roles": list(self.roles),
            "emails": list(self.emails),
            "statusLivechat": self.status_livechat,
            "createdAt": self.created,
            "_updatedAt": self.created,
        }


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.rooms: dict[str, dict] = {}
        self.messages: dict[str, list[dict]] = {}
        self.visitors: dict[str, dict] = {}  # token -> visitor
        self.inquiries: dict[str, dict] = {}
        self.departments: dict[str, dict] = {}  # ILivechatDepartment by _id
        self.custom_fields: dict[str, dict] = {}  # ILivechatCustomField by _id (the field's key)
        self.settings: dict[str, Any] = {
            "Message_MaxAllowedSize": 5000,
            "Livechat_Routing_Method": "Manual_Selection",
            "Message_AllowUnrecognizedSlashCommand": False,
            "Site_Name": "Rocket.Chat (simulated)",
        }
        self.listeners: list[Callable[[dict, dict], None]] = []  # (message, room) on every insert/update
        self._guest = 0

    # -- users ---------------------------------------------------------------------------
    def add_user(
        self, username: str, password: str, roles: list[str], name: str | None = None, email: str | None = None
    ) -> User:
        with self.lock:
            user = User(
                new_id(),
                username,
                name or username,
                password,
                list(roles),
                [{"address": email or f"{username}@example.com", "verified": True}],
            )
            if "bot" in roles:
                user.type = "bot"
            self.users[user._id] = user
            return user

    def user_by_name(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username == username), None)

    def user_by_token(self, user_id: str, token: str) -> User | None:
        user = self.users.get(user_id)
        return user if user and token in user.tokens and user.active else None

    def issue_token(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        user.tokens.add(token)
        return token

    # -- rooms ---------------------------------------------------------------------------
    def add_room(self, t: str, name: str | None, members: list[str], **extra: Any) -> dict:
        with self.lock:
            stamp = now()
            room = {
                "_id": new_id(),
                "t": t,
                "ts": stamp,
                "_updatedAt": stamp,
                "msgs": 0,
                "usersCount": len(members),
                "__members": set(members),
                **extra,
            }
            if name:
                room["name"] = name
                room.setdefault("fname", name)
            if t == "d":
                room["usernames"] = sorted(members)
                room["uids"] = [self.user_by_name(m)._id for m in room["usernames"] if self.user_by_name(m)]
            self.rooms[room["_id"]] = room
            self.messages[room["_id"]] = []
            return room

    def room_by_name(self, name: str) -> dict | None:
        return next((r for r in self.rooms.values() if r.get("name") == name and r["t"] in ("c", "p")), None)

    def dm_between(self, a: str, b: str) -> dict | None:
        wanted = sorted({a, b}) if a != b else [a]
        return next((r for r in self.rooms.values() if r["t"] == "d" and r.get("usernames") == wanted), None)

    def is_member(self, room: dict, user: User) -> bool:
        return user.username in room.get("__members", set())

    def can_read(self, room: dict, user: User | None, visitor_token: str | None = None) -> bool:
        """Rocket.Chat's canAccessRoom, reduced: public channels, members, livechat rules."""
        if room["t"] == "l":
            if visitor_token and (room.get("v") or {}).get("token") == visitor_token:
                return True
            if user is None:
                return False
            served = (room.get("servedBy") or {}).get("_id")
            return user.can("view-livechat-rooms") or served == user._id or user.can("*")
        if user is None:
            return False
        if room["t"] == "c":
            return True
        return self.is_member(room, user) or user.can("*")

    # -- messages ------------------------------------------------------------------------
    def add_message(
        self, room: dict, user: dict, msg: str = "", t: str | None = None, _id: str | None = None, **extra: Any
    ) -> dict:
        with self.lock:
            stamp = now()
            message = {
                "_id": _id or new_id(),
                "rid": room["_id"],
                "msg": msg,
                "ts": stamp,
                "u": user,
                "_updatedAt": stamp,
                "mentions": [],
                "channels": [],
                **{k: v for k, v in extra.items() if v is not None},
            }
            if t:
                message["t"] = t
                message["groupable"] = False
            self.messages[room["_id"]].append(message)
            room["msgs"] = room.get("msgs", 0) + 1
            room["_updatedAt"] = stamp
            if not t:
                room["lastMessage"] = message
                room["lm"] = stamp
            if message.get("tmid"):
                parent = next((m for m in self.messages[room["_id"]] if m["_id"] == message["tmid"]), None)
                if parent is not None:
                    parent["tcount"] = parent.get("tcount", 0) + 1
                    parent["tlm"] = stamp
                    parent["_updatedAt"] = stamp
                    self._emit(parent, room)
            self._emit(message, room)
            return message

    def find_message(self, msg_id: str) -> dict | None:
        for messages in self.messages.values():
            for m in messages:
                if m["_id"] == msg_id:
                    return m
        return None

    def _emit(self, message: dict, room: dict) -> None:
        for listener in list(self.listeners):
            listener(message, room)

    def touch(self, message: dict, room: dict) -> None:
        """Re-send an updated message (edit, reaction) on the stream, as Rocket.Chat does."""
        message["_updatedAt"] = now()
        self._emit(message, room)

    # -- livechat ------------------------------------------------------------------------
    def add_visitor(
        self,
        token: str,
        name: str | None,
        email: str | None,
        phone: str | None,
        department: str | None = None,
        custom_fields: list[dict] | None = None,
    ) -> dict:
        """registerGuest, then the `customFields` of `POST livechat/visitor`: a department named by id or
        name becomes its id (ValueError("error-invalid-department") when none has it); custom fields whose
        key is a visitor-scoped custom field go into `livechatData`, the others are ignored (Rocket.Chat
        logs "Some custom fields were not processed"); `overwrite: false` keeps a value already there."""
        with self.lock:
            found = self.department_by_id_or_name(department) if department else None
            if department and found is None:
                raise ValueError("error-invalid-department")
            visitor = self.visitors.get(token)
            stamp = now()
            if visitor is None:
                self._guest += 1
                visitor = {
                    "_id": new_id(),
                    "token": token,
                    "username": f"guest-{self._guest}",
                    "ts": stamp,
                    "status": "online",
                }
                self.visitors[token] = visitor
            if name:
                visitor["name"] = name
            if email:
                visitor["visitorEmails"] = [{"address": email}]
            if phone:
                visitor["phone"] = [{"phoneNumber": phone}]
            if found:
                visitor["department"] = found["_id"]
            for item in custom_fields or ():
                defined = self.custom_fields.get(item["key"])
                if defined and defined.get("scope", "visitor") == "visitor":
                    data = visitor.setdefault("livechatData", {})
                    if item.get("overwrite", True) or not data.get(item["key"]):
                        data[item["key"]] = item["value"]
            visitor["_updatedAt"] = stamp
            return visitor

    def department_by_id_or_name(self, value: str) -> dict | None:
        """LivechatDepartment.findOneByIdOrName."""
        return self.departments.get(value) or next((d for d in self.departments.values() if d["name"] == value), None)

    def add_department(self, name: str, enabled: bool = True, email: str = "") -> dict:
        with self.lock:
            stamp = now()
            department = {
                "_id": new_id(),
                "name": name,
                "enabled": enabled,
                "email": email,
                "showOnRegistration": True,
                "showOnOfflineForm": True,
                "numAgents": 0,
                "_updatedAt": stamp,
            }
            self.departments[department["_id"]] = department
            return department

    def set_custom_field(self, token: str, key: str, value: str, overwrite: bool) -> int:
        """setCustomFields: KEY's value on the visitor (scope visitor) or on the visitor's open rooms
        (scope room); ValueError("invalid-custom-field") for an unknown key, ValueError naming the field
        for a value its regexp refuses. The number of records changed."""
        with self.lock:
            defined = self.custom_fields.get(key)
            if defined is None:
                raise ValueError("invalid-custom-field")
            if defined.get("regexp") and not re.search(defined["regexp"], value):
                raise ValueError(f"Invalid value for {key} field")
            if defined.get("scope") == "room":
                targets = [
                    r for r in self.rooms.values() if r["t"] == "l" and r.get("open") and r["v"]["token"] == token
                ]
            else:
                targets = [self.visitors[token]] if token in self.visitors else []
            changed = 0
            for target in targets:
                data = target.setdefault("livechatData", {})
                if not overwrite and data.get(key):
                    continue
                data[key] = value
                target["_updatedAt"] = now()
                changed += 1
            return changed

    def visitor_by_id(self, visitor_id: str) -> dict | None:
        return next((v for v in self.visitors.values() if v["_id"] == visitor_id), None)

    def online_agents(self) -> list[User]:
        return [
            u
            for u in self.users.values()
            if "livechat-agent" in u.roles and u.status_livechat == "available" and u.connections > 0
        ]
