"""The small Omnichannel interface the backend offers plugins (`bot.omnichannel`).

Plugins never call Rocket.Chat directly: they ask for open rooms, closed rooms, a room, its
visitor, its transcript, and whether a user is an agent or manager. Shapes are Rocket.Chat's
`livechat/rooms`, `rooms.info`, `livechat/visitors.info`, `chat.syncMessages` and
`livechat/users/{agent,manager}` answers, reduced to frozen dataclasses.

The agents (`agents()`, `agent(username)`) come from `GET livechat/users/agent`, whose users carry
`emails` (apps/meteor/app/livechat/server/api/lib/users.ts projects username, name, status,
statusLivechat, emails, livechat). Listing agents takes `transfer-livechat-guest` or
`edit-omnichannel-contact` (apps/meteor/app/livechat/imports/server/rest/users.ts), and on older
releases `manage-livechat-agents` as well: the `livechat-manager` role holds all three. Only a
verified address is reported as the agent's email: an unverified one is whatever someone typed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from rc_dates import parse_date, rest_iso
from rc_rest import PermissionDenied, RestError

log = logging.getLogger("errbot.backends.rocketchat")

PAGE_SIZE = 100  # Rocket.Chat's default API_Upper_Count_Limit
ROLE_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Visitor:
    id: str
    token: str
    username: str
    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    department: str | None = None  # the department id Rocket.Chat keeps on the visitor
    custom: dict[str, str] = field(default_factory=dict, compare=False)  # livechatData: visitor custom fields


@dataclass(frozen=True)
class Agent:
    """An Omnichannel agent (a user with the livechat-agent role)."""

    id: str
    username: str
    name: str
    email: str | None = None  # the first verified address; None when no address is verified
    status_livechat: str = ""  # "available" | "not-available"


@dataclass(frozen=True)
class LivechatRoom:
    id: str
    name: str
    open: bool
    visitor_id: str | None
    visitor_token: str | None
    visitor_name: str
    agent_id: str | None
    agent_username: str | None
    served_at: dt.datetime | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    closed_at: dt.datetime | None
    closer: str | None
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    tags: tuple[str, ...] = ()
    department_id: str | None = None
    department_name: str | None = None  # livechat/rooms adds the department; rooms.info does not
    custom: dict[str, str] = field(default_factory=dict, compare=False)  # livechatData: room custom fields


@dataclass(frozen=True)
class TranscriptLine:
    ts: dt.datetime
    author: str
    role: str  # "visitor" | "agent" | "bot"
    text: str


@dataclass(frozen=True)
class OmnichannelEvent:
    kind: str  # "assigned" | "transferred" | "closed"
    room_id: str
    agent_id: str | None
    agent_username: str | None
    ts: dt.datetime
    message_id: str
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def room_from_payload(raw: dict) -> LivechatRoom:
    visitor = raw.get("v") or {}
    served = raw.get("servedBy") or {}
    return LivechatRoom(
        id=raw["_id"],
        name=raw.get("fname") or raw.get("name") or visitor.get("username") or raw["_id"],
        open=bool(raw.get("open")),
        visitor_id=visitor.get("_id"),
        visitor_token=visitor.get("token"),
        visitor_name=raw.get("fname") or visitor.get("name") or visitor.get("username") or "",
        agent_id=served.get("_id"),
        agent_username=served.get("username"),
        served_at=parse_date(served.get("ts")),
        created_at=parse_date(raw.get("ts")),
        updated_at=parse_date(raw.get("_updatedAt")),
        closed_at=parse_date(raw.get("closedAt")),
        closer=raw.get("closer"),
        raw=raw,
        tags=tuple(str(t) for t in raw.get("tags") or () if isinstance(t, str) and t),
        department_id=raw.get("departmentId") or None,
        department_name=((raw.get("department") or {}).get("name") or None)
        if isinstance(raw.get("department"), dict)
        else None,
        custom=custom_fields(raw.get("livechatData")),
    )


def agent_from_payload(raw: dict) -> Agent:
    verified = [
        str(e.get("address"))
        for e in raw.get("emails") or []
        if isinstance(e, dict) and e.get("address") and e.get("verified") is True
    ]
    return Agent(
        id=str(raw.get("_id") or ""),
        username=str(raw.get("username") or ""),
        name=str(raw.get("name") or raw.get("username") or ""),
        email=verified[0] if verified else None,
        status_livechat=str(raw.get("statusLivechat") or ""),
    )


def visitor_from_payload(raw: dict) -> Visitor:
    return Visitor(
        id=raw["_id"],
        token=raw.get("token") or "",
        username=raw.get("username") or "",
        name=raw.get("name") or raw.get("username") or "",
        emails=tuple(e.get("address", "") for e in raw.get("visitorEmails") or [] if e.get("address")),
        phones=tuple(p.get("phoneNumber", "") for p in raw.get("phone") or [] if p.get("phoneNumber")),
        department=raw.get("department") or None,
        custom=custom_fields(raw.get("livechatData")),
    )


def custom_fields(data: object) -> dict[str, str]:
    """A `livechatData` object (custom field key -> value, as the visitor or the agent entered it) as
    text; values that are not text, a number or a flag are left out."""
    if not isinstance(data, dict):
        return {}
    return {
        str(k): str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in data.items()
        if isinstance(v, (str, int, float, bool)) and str(v) != ""
    }


class Omnichannel:
    """Read Omnichannel state over REST; follow rooms over the realtime connection. This is the
    interface plugins use as `bot.omnichannel`; it is stated as Protocols in the Salesforce plugin's
    `salesforce_omnichannel/chat/omnichannel.py`, which this backend fits without importing it."""

    def __init__(
        self,
        rest,
        follow: Callable[[str], None],
        unfollow: Callable[[str], None],
        bot_user_id: Callable[[], str | None],
        follows_needed: Callable[[], bool] = lambda: True,
    ):
        self._rest = rest
        self._follows_needed = follows_needed
        self._follow = follow
        self._unfollow = unfollow
        self._bot_user_id = bot_user_id
        self._roles: dict[str, tuple[float, frozenset[str]]] = {}
        self._roles_lock = threading.Lock()
        self._told_not_allowed = False
        self._agents: dict[str, tuple[float, Agent | None]] = {}  # username (casefolded) -> (when, agent)
        self._agent_list: tuple[float, list[Agent]] | None = None
        self._told_agents_denied = False

    # -- rooms -------------------------------------------------------------------
    def open_rooms(self, updated_since: dt.datetime | None = None, agent_id: str | None = None) -> list[LivechatRoom]:
        """Open (served) rooms, newest update first; stops paging at `updated_since`. With AGENT_ID only
        the rooms that agent serves (`agents[]`), so a command costs the same with 10 or 10,000 chats open."""
        params = {"open": "true", "sort": json.dumps({"_updatedAt": -1})}
        if agent_id:
            params["agents[]"] = agent_id
        rooms: list[LivechatRoom] = []
        for room in self._pages(params):
            if updated_since and room.updated_at and room.updated_at < updated_since:
                break
            rooms.append(room)
        return rooms

    def closed_rooms(self, since: dt.datetime) -> list[LivechatRoom]:
        """Rooms closed at or after `since`, oldest first (the `closedAt` filter)."""
        end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
        closed_at = json.dumps({"start": rest_iso(since), "end": rest_iso(end)})
        params = {"open": "false", "closedAt": closed_at, "sort": json.dumps({"closedAt": 1})}
        return [room for room in self._pages(params) if room.closed_at]

    def _pages(self, params: dict) -> Iterator[LivechatRoom]:
        """`livechat/rooms` page after page (PAGE_SIZE each), lazily: a caller that stops early asks no more."""
        offset = 0
        while True:
            page = self._rest.get("livechat/rooms", {**params, "count": PAGE_SIZE, "offset": offset})
            batch = [room_from_payload(r) for r in page.get("rooms", [])]
            yield from batch
            offset += len(batch)
            if not batch or offset >= int(page.get("total", 0)):
                return

    def room(self, room_id: str) -> LivechatRoom | None:
        try:
            body = self._rest.get("rooms.info", {"roomId": room_id})
        except RestError as exc:
            if exc.status in (400, 404):
                if exc.error == "not-allowed" and not self._told_not_allowed:
                    self._told_not_allowed = True  # once: the cause is the bot's roles, not the room
                    log.warning(
                        "Rocket.Chat does not let the bot read Omnichannel room %s (rooms.info: not-allowed): give "
                        "the bot's user the livechat-manager role, or view-livechat-rooms and view-l-room",
                        room_id,
                    )
                return None
            raise
        raw = body.get("room")
        return room_from_payload(raw) if raw and raw.get("t") == "l" else None

    def visitor(self, visitor_id: str) -> Visitor | None:
        try:
            body = self._rest.get("livechat/visitors.info", {"visitorId": visitor_id})
        except RestError as exc:
            if exc.status in (400, 404):
                return None
            raise
        raw = body.get("visitor")
        return visitor_from_payload(raw) if raw else None

    def transcript(self, room_id: str, since: dt.datetime | None = None) -> list[TranscriptLine]:
        """Regular messages of the room in order; system messages left out."""
        last_update = rest_iso(since or dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
        body = self._rest.get("chat.syncMessages", {"roomId": room_id, "lastUpdate": last_update})
        messages = (body.get("result") or {}).get("updated") or []
        bot_id = self._bot_user_id()
        lines = []
        for m in messages:
            if m.get("t") or m.get("_hidden"):
                continue
            user = m.get("u") or {}
            role = "visitor" if m.get("token") else ("bot" if user.get("_id") == bot_id else "agent")
            lines.append(
                TranscriptLine(
                    ts=parse_date(m.get("ts")) or dt.datetime.now(dt.timezone.utc),
                    author=user.get("name") or user.get("username") or "unknown",
                    role=role,
                    text=m.get("msg") or "",
                )
            )
        lines.sort(key=lambda line: line.ts)
        return lines

    # -- people ------------------------------------------------------------------
    def is_agent(self, username: str) -> bool:
        return "agent" in self._roles_of(username)

    def is_manager(self, username: str) -> bool:
        return "manager" in self._roles_of(username)

    def agents(self) -> list[Agent]:
        """Every Omnichannel agent with the verified email, ordered by username (`livechat/users/agent`,
        page after page); cached ROLE_CACHE_SECONDS. [] when Rocket.Chat refuses the bot (logged once)."""
        now = time.monotonic()
        with self._roles_lock:
            if self._agent_list and now - self._agent_list[0] < ROLE_CACHE_SECONDS:
                return list(self._agent_list[1])
        found: list[Agent] = []
        offset = 0
        try:
            while True:
                params = {"count": PAGE_SIZE, "offset": offset, "sort": json.dumps({"username": 1})}
                page = self._rest.get("livechat/users/agent", params)
                batch = [agent_from_payload(u) for u in page.get("users") or [] if u.get("username")]
                found += batch
                offset += len(page.get("users") or [])
                if not page.get("users") or offset >= int(page.get("total", 0)):
                    break
        except PermissionDenied:
            self._agents_denied()
            return []
        with self._roles_lock:
            self._agent_list = (now, found)
            for agent in found:
                self._agents[agent.username.casefold()] = (now, agent)
        return list(found)

    def agent(self, username: str) -> Agent | None:
        """The Omnichannel agent USERNAME with the verified email, or None when USERNAME is no agent
        (or Rocket.Chat refuses the bot); cached ROLE_CACHE_SECONDS, answers included."""
        key = username.casefold()
        now = time.monotonic()
        with self._roles_lock:
            cached = self._agents.get(key)
            if cached and now - cached[0] < ROLE_CACHE_SECONDS:
                return cached[1]
            if self._agent_list and now - self._agent_list[0] < ROLE_CACHE_SECONDS:
                return None  # a fresh full list does not hold USERNAME
        result: Agent | None = None
        offset = 0
        try:
            while result is None:
                # `text` matches username, name or an email address (a regex, escaped): page until exact
                params = {"text": username, "count": PAGE_SIZE, "offset": offset}
                page = self._rest.get("livechat/users/agent", params)
                users = page.get("users") or []
                matches = [u for u in users if str(u.get("username") or "").casefold() == key]
                exact = [u for u in matches if u.get("username") == username]
                if exact or matches:
                    result = agent_from_payload((exact or matches)[0])
                offset += len(users)
                if not users or offset >= int(page.get("total", 0)):
                    break
        except PermissionDenied:
            self._agents_denied()
            return None
        with self._roles_lock:
            self._agents[key] = (now, result)
        return result

    def _agents_denied(self) -> None:
        if not self._told_agents_denied:
            self._told_agents_denied = True
            log.warning(
                "Rocket.Chat does not let the bot list Omnichannel agents (livechat/users/agent: forbidden): give the "
                "bot's user the livechat-manager role, or manage-livechat-agents and transfer-livechat-guest"
            )

    def _roles_of(self, username: str) -> frozenset[str]:
        now = time.monotonic()
        with self._roles_lock:
            cached = self._roles.get(username)
            if cached and now - cached[0] < ROLE_CACHE_SECONDS:
                return cached[1]
        roles = set()
        for role in ("agent", "manager"):
            body = self._rest.get(f"livechat/users/{role}", {"text": username, "count": 100})
            if any(u.get("username") == username for u in body.get("users", [])):
                roles.add(role)
        result = frozenset(roles)
        with self._roles_lock:
            self._roles[username] = (now, result)
        return result

    # -- realtime ----------------------------------------------------------------
    def follows_needed(self) -> bool:
        return self._follows_needed()

    def follow(self, room_id: str) -> None:
        """Receive ROOM_ID's messages; free when the bot's `__my_messages__` carries every Omnichannel room
        (`follows_needed()` is False), one realtime subscription per room otherwise."""
        self._follow(room_id)

    def unfollow(self, room_id: str) -> None:
        self._unfollow(room_id)
