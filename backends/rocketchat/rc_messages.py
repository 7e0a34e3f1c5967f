"""Turn Rocket.Chat message payloads into Errbot messages or Omnichannel events, or drop them.

`__my_messages__` carries far more than new messages to the bot: its own messages, edits,
reactions and thread-count updates re-sent under the same `_id`, public channels the bot never
joined (`roomParticipant: false`), system messages, and messages typed by livechat visitors.
Only a new message from a person in a room the bot takes part in (or an Omnichannel room) can
run a command; Omnichannel system messages become events.
"""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass

from errbot.backends.base import Message
from rc_dates import parse_date
from rc_identifiers import RocketChatPerson, RocketChatRoom, RocketChatRoomOccupant
from rc_omnichannel import OmnichannelEvent

# Omnichannel system messages (Rocket.Chat: apps/meteor/app/livechat/server/lib/*, `t` values).
ASSIGNMENT_TYPES = {"uj"}
CONNECTED_COMMAND = ("command", "connected")
TRANSFER_TYPE = "livechat_transfer_history"
CLOSE_TYPE = "livechat-close"

# An update re-sent for an old message has `_updatedAt` well after `ts`.
RESEND_SLACK = dt.timedelta(seconds=5)


class SeenIds:
    """A bounded memory of handled message ids, so a message is never handled twice."""

    def __init__(self, size: int = 10000):
        self._ids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._size = size

    def add(self, msg_id: str) -> bool:
        """Remember `msg_id`; False when it was already there."""
        if msg_id in self._ids:
            self._ids.move_to_end(msg_id)
            return False
        self._ids[msg_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


@dataclass
class Classified:
    kind: str  # "message" | "event"
    message: Message | None = None
    event: OmnichannelEvent | None = None


def classify(payload: dict, meta: dict, bot_user_id: str | None, backend=None) -> Classified | None:
    """Decide what one stream payload is; None means ignore it."""
    msg_id = payload.get("_id")
    user = payload.get("u") or {}
    room_type = meta.get("roomType") or payload.get("_roomType")
    if not msg_id or not payload.get("rid"):
        return None
    sys_type = payload.get("t")
    if sys_type:
        event = omnichannel_event(payload) if room_type == "l" else None
        return Classified("event", event=event) if event else None
    if bot_user_id and user.get("_id") == bot_user_id:
        return None
    if payload.get("editedAt") or is_resend(payload):
        return None
    if payload.get("token"):  # typed by a livechat visitor: never a command
        return None
    if meta.get("roomParticipant") is False and room_type != "l":
        return None
    return Classified("message", message=to_errbot_message(payload, room_type, bot_user_id, backend))


def is_resend(payload: dict) -> bool:
    ts, updated = parse_date(payload.get("ts")), parse_date(payload.get("_updatedAt"))
    return bool(ts and updated and updated - ts > RESEND_SLACK)


def omnichannel_event(payload: dict) -> OmnichannelEvent | None:
    sys_type = payload.get("t")
    user = payload.get("u") or {}
    ts = parse_date(payload.get("ts")) or dt.datetime.now(dt.timezone.utc)
    common = dict(room_id=payload["rid"], ts=ts, message_id=payload["_id"], raw=payload)
    if sys_type in ASSIGNMENT_TYPES or (sys_type, payload.get("msg")) == CONNECTED_COMMAND:
        return OmnichannelEvent(
            kind="assigned", agent_id=user.get("_id"), agent_username=user.get("username"), **common
        )
    if sys_type == TRANSFER_TYPE:
        data = payload.get("transferData") or {}
        to = data.get("transferredTo") or {}
        return OmnichannelEvent(kind="transferred", agent_id=to.get("_id"), agent_username=to.get("username"), **common)
    if sys_type == CLOSE_TYPE:
        return OmnichannelEvent(kind="closed", agent_id=None, agent_username=None, **common)
    return None


def to_errbot_message(payload: dict, room_type: str | None, bot_user_id: str | None, backend=None) -> Message:
    user = payload.get("u") or {}
    person_args = dict(
        username=user.get("username") or user.get("_id") or "unknown", userid=user.get("_id"), fullname=user.get("name")
    )
    extras = {
        "raw": payload,
        "message_id": payload["_id"],
        "room_id": payload["rid"],
        "room_type": room_type,
        "omnichannel": room_type == "l",
        "visitor": bool(payload.get("token")),
        "thread_id": payload.get("tmid"),
    }
    msg = Message(body=payload.get("msg") or "", extras=extras)
    if room_type == "d":
        msg.frm = RocketChatPerson(**person_args)
        msg.to = backend.bot_identifier if backend is not None else RocketChatPerson("bot", bot_user_id)
    else:
        room = RocketChatRoom(
            room_id=payload["rid"],
            name=None if room_type == "l" else _room_name(payload, backend),
            room_type=room_type,
            backend=backend,
        )
        msg.frm = RocketChatRoomOccupant(room, **person_args)
        msg.to = room
    return msg


def _room_name(payload: dict, backend) -> str | None:
    if backend is None:
        return None
    return backend.room_name_for_id(payload["rid"])
