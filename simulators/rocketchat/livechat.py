"""Omnichannel routes (apps/meteor/app/livechat/server/api/v1/*.ts) with the system messages
Rocket.Chat posts: `livechat-started` when a visitor opens a chat, `command`/`connected` and
`uj` when an agent takes it (RoutingManager.assignAgent), `livechat_transfer_history` with
`transferData` on a forward, `livechat-close` on closing (with `token` when the visitor closed).
Manual routing: a new chat waits as a queued inquiry until an online agent takes it.
Custom fields and departments as Rocket.Chat keeps them: an admin defines a field
(`livechat/custom-fields.save`, scope visitor or room) and a department (`livechat/department`); the
widget's `customFields` and `livechat/custom.field` fill `livechatData` of the visitor or of its open
room (unknown keys ignored at registration, refused by custom.field); a visitor's department (id or
name) becomes the room's `departmentId`; `livechat/rooms` adds `department: {_id, name}`; a close by an
agent keeps the `tags` it names.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from aiohttp import web

from simulators.rocketchat.http import (
    ApiError,
    bad_request,
    body_of,
    current_user,
    forbidden,
    ok,
    paged,
    require,
    store_of,
)
from simulators.rocketchat.store import Store, User, new_id, now


def _visitor_sender(visitor: dict) -> dict:
    return {"_id": visitor["_id"], "username": visitor["username"], "name": visitor.get("name") or visitor["username"]}


def _agent(user: User) -> dict:
    return {"_id": user._id, "username": user.username, "name": user.name}


def _visitor_brief(visitor: dict) -> dict:
    return {
        "_id": visitor["_id"],
        "username": visitor["username"],
        "token": visitor["token"],
        "status": visitor.get("status", "online"),
    }


def _visitor_or_fail(store: Store, token: str | None) -> dict:
    visitor = store.visitors.get(token or "")
    if visitor is None:
        raise bad_request("Invalid token [invalid-token]", "invalid-token")
    return visitor


# -- visitor side ---------------------------------------------------------------------------
async def register_visitor(request: web.Request) -> web.Response:
    """`visitor.customFields: [{key, value, overwrite}]` (apps/meteor/app/livechat/server/api/v1/visitor.ts):
    checked as Rocket.Chat's Match does, then kept for the keys that are visitor-scoped custom fields."""
    body = await body_of(request)
    data = body.get("visitor")
    if not isinstance(data, dict) or not data.get("token"):
        raise bad_request("Match error: Missing key 'token' in field visitor", "error-invalid-params")
    custom = data.get("customFields")
    if custom is not None and not (
        isinstance(custom, list)
        and all(
            isinstance(c, dict)
            and isinstance(c.get("key"), str)
            and isinstance(c.get("value"), str)
            and isinstance(c.get("overwrite"), bool)
            for c in custom
        )
    ):
        raise bad_request(
            "Match error: Failed Match.OneOf, Match.Maybe or Match.Optional validation in field visitor.customFields",
            "error-invalid-params",
        )
    try:
        visitor = store_of(request).add_visitor(
            str(data["token"]), data.get("name"), data.get("email"), data.get("phone"), data.get("department"), custom
        )
    except ValueError:
        raise bad_request(
            "The provided department is invalid [error-invalid-department]", "error-invalid-department"
        ) from None
    return ok({"visitor": visitor})


async def visitor_custom_field(request: web.Request) -> web.Response:
    """`POST livechat/custom.field {token, key, value, overwrite}` (no auth): setCustomFields."""
    body = await body_of(request)
    store = store_of(request)
    _visitor_or_fail(store, body.get("token"))
    key, value, overwrite = body.get("key"), body.get("value"), body.get("overwrite")
    if not isinstance(key, str) or not isinstance(value, str) or not isinstance(overwrite, bool):
        raise bad_request(
            "must have required property 'key', 'value' and 'overwrite' [invalid-params]", "invalid-params"
        )
    try:
        store.set_custom_field(body["token"], key, value, overwrite)
    except ValueError as exc:
        raise bad_request(str(exc), None) from None
    return ok({"field": {"key": key, "value": value, "overwrite": overwrite}})


async def open_room(request: web.Request) -> web.Response:
    store = store_of(request)
    visitor = _visitor_or_fail(store, request.query.get("token"))
    existing = next(
        (r for r in store.rooms.values() if r["t"] == "l" and r.get("open") and r["v"]["token"] == visitor["token"]),
        None,
    )
    if existing:
        return ok({"room": existing, "newRoom": False})
    if not store.online_agents():
        raise bad_request("Sorry, no online agents [no-agent-online]", "no-agent-online")
    room = store.add_room(
        "l",
        None,
        [],
        fname=visitor.get("name") or visitor["username"],
        v=_visitor_brief(visitor),
        open=True,
        waitingResponse=True,
        cl=False,
        source={"type": "api"},
        **({"departmentId": visitor["department"]} if visitor.get("department") else {}),
    )
    inquiry = {
        "_id": new_id(),
        "rid": room["_id"],
        "name": room["fname"],
        "ts": room["ts"],
        "message": "",
        "status": "queued",
        "v": _visitor_brief(visitor),
        "t": "l",
        "queuedAt": room["ts"],
        "_updatedAt": room["ts"],
    }
    store.inquiries[inquiry["_id"]] = inquiry
    store.add_message(room, _visitor_sender(visitor), "", t="livechat-started", token=visitor["token"])
    return ok({"room": room, "newRoom": True})


async def visitor_message(request: web.Request) -> web.Response:
    store = store_of(request)
    body = await body_of(request)
    visitor = _visitor_or_fail(store, body.get("token"))
    room = store.rooms.get(body.get("rid") or "")
    if room is None or room["t"] != "l" or room["v"]["token"] != visitor["token"]:
        raise bad_request("Invalid room [invalid-room]", "invalid-room")
    if not room.get("open"):
        raise bad_request("Room closed [room-closed]", "room-closed")
    message = store.add_message(
        room, _visitor_sender(visitor), str(body.get("msg") or ""), _id=body.get("_id"), token=visitor["token"]
    )
    return ok({"message": message})


async def visitor_history(request: web.Request) -> web.Response:
    store = store_of(request)
    visitor = _visitor_or_fail(store, request.query.get("token"))
    room = store.rooms.get(request.match_info["rid"])
    if room is None or room["v"]["token"] != visitor["token"]:
        raise bad_request("Invalid room [invalid-room]", "invalid-room")
    messages = sorted(store.messages[room["_id"]], key=lambda m: m["ts"], reverse=True)
    return ok({"messages": messages})


async def visitor_close(request: web.Request) -> web.Response:
    store = store_of(request)
    body = await body_of(request)
    visitor = _visitor_or_fail(store, body.get("token"))
    room = store.rooms.get(body.get("rid") or "")
    if room is None or room["v"]["token"] != visitor["token"]:
        raise bad_request("Invalid room [invalid-room]", "invalid-room")
    if not room.get("open"):
        raise bad_request("Room closed [room-closed]", "room-closed")
    comment = "Closed by visitor"
    close_room(
        store,
        room,
        {"_id": visitor["_id"], "username": visitor["username"]},
        "visitor",
        comment,
        token=visitor["token"],
    )
    return ok({"rid": room["_id"], "comment": comment})


# -- agent side -----------------------------------------------------------------------------
async def agent_status(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await body_of(request)
    target = user
    if body.get("agentId") and body["agentId"] != user._id:
        require(user, "manage-livechat-agents")
        target = store_of(request).users.get(body["agentId"]) or user
    if "livechat-agent" not in target.roles:
        raise bad_request("Invalid Agent [error-not-allowed]", "error-not-allowed")
    status = body.get("status") or ("not-available" if target.status_livechat == "available" else "available")
    if status not in ("available", "not-available"):
        raise bad_request("Invalid status", "error-invalid-status")
    target.status_livechat = status
    return ok({"status": status})


async def inquiries_queued(request: web.Request) -> web.Response:
    user = current_user(request)
    require(user, "view-l-room")
    items = [i for i in store_of(request).inquiries.values() if i["status"] == "queued"]
    return paged(request, items, "inquiries", ("ts", 1))


async def inquiries_take(request: web.Request) -> web.Response:
    user = current_user(request)
    require(user, "view-l-room")
    body = await body_of(request)
    store = store_of(request)
    inquiry = store.inquiries.get(body.get("inquiryId") or "")
    if inquiry is None or inquiry["status"] != "queued":
        raise bad_request(
            "Inquiry already taken [error-inquiry-taken]" if inquiry else "Inquiry not found [error-not-found]",
            "error-inquiry-taken" if inquiry else "error-not-found",
        )
    agent = store.users.get(body.get("userId") or user._id) or user
    if agent.status_livechat != "available" or agent.connections <= 0:
        raise bad_request("Agent is not online [error-agent-offline]", "error-agent-offline")
    room = store.rooms[inquiry["rid"]]
    inquiry.update(status="taken", takenAt=now(), _updatedAt=now())
    assign(store, room, agent)
    return ok({"inquiry": inquiry})


def assign(store: Store, room: dict, agent: User) -> None:
    """RoutingManager.assignAgent: servedBy, then `command`/`connected` and `uj` from the agent."""
    stamp = now()
    room["servedBy"] = {"_id": agent._id, "username": agent.username, "ts": stamp}
    room["__members"].add(agent.username)
    room["waitingResponse"] = True
    room["_updatedAt"] = stamp
    store.add_message(room, _agent(agent), "connected", t="command")
    store.add_message(room, _agent(agent), agent.username, t="uj")


async def room_forward(request: web.Request) -> web.Response:
    user = current_user(request)
    require(user, "transfer-livechat-guest")
    body = await body_of(request)
    store = store_of(request)
    room = store.rooms.get(body.get("roomId") or "")
    if room is None or room["t"] != "l" or not room.get("open"):
        raise bad_request('The required "roomId" param is invalid [error-invalid-room]', "error-invalid-room")
    target = store.users.get(body.get("userId") or "")
    if target is None or "livechat-agent" not in target.roles:
        raise bad_request("Invalid agent [error-invalid-agent]", "error-invalid-agent")
    served = room.get("servedBy") or {}
    if served.get("_id") != user._id and not user.can("view-livechat-rooms"):
        raise forbidden()
    previous = store.users.get(served.get("_id", ""))
    stamp = now()
    store.add_message(
        room,
        _agent(user),
        "",
        t="livechat_transfer_history",
        transferData={
            "transferredBy": {"_id": user._id, "username": user.username, "name": user.name, "type": "agent"},
            "ts": stamp,
            "scope": "agent",
            "comment": body.get("comment") or "",
            "transferredTo": {"_id": target._id, "username": target.username, "name": target.name},
        },
    )
    if previous is not None:
        room["__members"].discard(previous.username)
        store.add_message(room, _agent(previous), previous.username, t="ul")
    assign(store, room, target)
    return ok({})


async def room_close_by_user(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await body_of(request)
    store = store_of(request)
    room = store.rooms.get(body.get("rid") or "")
    if room is None or room["t"] != "l":
        raise bad_request("Invalid room", "error-invalid-room")
    if not room.get("open"):
        raise bad_request("Room closed", "error-room-closed")
    served = (room.get("servedBy") or {}).get("_id")
    if served != user._id and not user.can("close-others-livechat-room"):
        raise forbidden()
    tags = body.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise bad_request("must be array [invalid-params]", "invalid-params")
    close_room(store, room, {"_id": user._id, "username": user.username}, "user", body.get("comment") or "", tags=tags)
    return ok({})


def close_room(
    store: Store,
    room: dict,
    closed_by: dict,
    closer: str,
    comment: str,
    token: str | None = None,
    tags: list[str] | None = None,
) -> None:
    """LivechatRooms.closeRoomById: the close fields, and the TAGS the closer gave (kept when none)."""
    stamp = now()
    room.pop("open", None)
    if tags:
        room["tags"] = list(dict.fromkeys(tags))
    room.update(
        closedAt=stamp,
        closedBy=closed_by,
        closer=closer,
        _updatedAt=stamp,
        metrics={"chatDuration": (stamp - room["ts"]).total_seconds()},
    )
    for inquiry in store.inquiries.values():
        if inquiry["rid"] == room["_id"]:
            inquiry.update(status="closed", _updatedAt=stamp)
    sender = (
        _agent(store.users[closed_by["_id"]])
        if closed_by["_id"] in store.users
        else {**closed_by, "name": closed_by["username"]}
    )
    store.add_message(room, sender, comment, t="livechat-close", token=token)


# -- managers and the bot -------------------------------------------------------------------
def _date_range(raw: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    if not raw:
        return None, None
    try:
        data = json.loads(raw)
        parse = lambda v: dt.datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None  # noqa: E731
        return parse(data.get("start")), parse(data.get("end"))
    except (ValueError, AttributeError, TypeError):
        raise bad_request("Invalid date range", "error-invalid-params") from None


async def livechat_rooms(request: web.Request) -> web.Response:
    user = current_user(request)
    q = request.query
    agents = q.getall("agents[]", [])
    if not user.can("view-livechat-rooms") and not (user.can("view-l-room") and agents == [user._id]):
        raise forbidden()
    rooms = [r for r in store_of(request).rooms.values() if r["t"] == "l"]
    if q.get("open") == "true":
        rooms = [r for r in rooms if r.get("open") and r.get("servedBy")]  # queued/on-hold rooms are left out
    elif q.get("open") == "false":
        rooms = [r for r in rooms if not r.get("open")]
    if agents:
        rooms = [r for r in rooms if (r.get("servedBy") or {}).get("_id") in agents]
    for key in ("createdAt", "closedAt"):
        start, end = _date_range(q.get(key))
        field = "ts" if key == "createdAt" else "closedAt"
        if start:
            rooms = [r for r in rooms if r.get(field) and r[field] >= start]
        if end:
            rooms = [r for r in rooms if r.get(field) and r[field] <= end]
    if q.get("roomName"):
        rooms = [r for r in rooms if q["roomName"].lower() in r.get("fname", "").lower()]
    departments = store_of(request).departments
    # findRooms adds each room's department ({_id, name}) when the room has one that still exists
    rooms = [
        {**r, "department": {"_id": r["departmentId"], "name": departments[r["departmentId"]]["name"]}}
        if r.get("departmentId") in departments
        else r
        for r in rooms
    ]
    return paged(request, rooms, "rooms", ("ts", -1))


async def visitors_info(request: web.Request) -> web.Response:
    user = current_user(request)
    require(user, "view-l-room")
    visitor = store_of(request).visitor_by_id(request.query.get("visitorId", ""))
    if visitor is None:
        raise bad_request("visitor-not-found", None)
    return ok({"visitor": visitor})


async def save_custom_field(request: web.Request) -> web.Response:
    """`POST livechat/custom-fields.save {customFieldId, customFieldData: {field, label, scope, visibility,
    regexp, …}}` (view-livechat-manager; Rocket.Chat 7.11+, the `livechat:saveCustomField` method before)."""
    user = current_user(request)
    require(user, "view-livechat-manager")
    body = await body_of(request)
    custom_id, data = body.get("customFieldId"), body.get("customFieldData")
    if not isinstance(data, dict) or not isinstance(data.get("field") or custom_id, str):
        raise bad_request("must have required property 'customFieldData' [invalid-params]", "invalid-params")
    store = store_of(request)
    field_id = custom_id or data["field"]
    if not re.fullmatch(r"[0-9a-zA-Z_-]+", field_id):
        raise bad_request("Invalid custom field name. Use only letters, numbers, hyphens and underscores.")
    if custom_id and custom_id not in store.custom_fields:
        raise bad_request("Custom Field Not found")
    if not custom_id and field_id in store.custom_fields:
        raise bad_request("Custom Field already exists")
    extra = {k: v for k, v in data.items() if k not in ("field", "label", "scope", "visibility")}
    field = {
        "_id": field_id,
        "label": data.get("label") or field_id,
        "scope": data.get("scope") if data.get("scope") in ("visitor", "room") else "visitor",
        "visibility": data.get("visibility") or "visible",
        **extra,
        "_updatedAt": now(),
    }
    store.custom_fields[field_id] = field
    return ok({"customField": field})


async def save_department(request: web.Request) -> web.Response:
    """`POST livechat/department {department: {enabled, name, email, showOnRegistration, …}}`
    (manage-livechat-departments): the new department, and no agents."""
    user = current_user(request)
    require(user, "manage-livechat-departments")
    body = await body_of(request)
    data = body.get("department")
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"].strip():
        raise bad_request("Match error: Missing key 'name' in field department", "error-invalid-params")
    department = store_of(request).add_department(
        data["name"].strip(), bool(data.get("enabled", True)), str(data.get("email") or "")
    )
    return ok({"department": department, "agents": []})


async def livechat_users(request: web.Request) -> web.Response:
    """GET lists the agents or managers: `text` matches username, name or an email address (an escaped,
    case-insensitive regex), each user projected to username, name, status, statusLivechat and emails
    (apps/meteor/app/livechat/server/api/lib/users.ts). Permissions as Rocket.Chat 6.x checks them
    (imports/server/rest/users.ts): manage-livechat-agents for the route, then for agents
    transfer-livechat-guest or edit-omnichannel-contact, for managers view-livechat-manager."""
    user = current_user(request)
    require(user, "manage-livechat-agents")
    role = "livechat-agent" if request.match_info["type"] == "agent" else "livechat-manager"
    if request.method == "GET":
        wanted = ("transfer-livechat-guest", "edit-omnichannel-contact") if role == "livechat-agent" else None
        if not any(user.can(p) for p in wanted or ("view-livechat-manager",)):
            raise forbidden()
    store = store_of(request)
    if request.method == "POST":
        body = await body_of(request)
        target = store.user_by_name(str(body.get("username") or ""))
        if target is None:
            raise bad_request("User not found [error-invalid-user]", "error-invalid-user")
        if role not in target.roles:
            target.roles.append(role)
        return ok({"user": {"_id": target._id, "username": target.username}})
    text = request.query.get("text", "").lower()
    users = [
        {
            "_id": u._id,
            "username": u.username,
            "name": u.name,
            "status": "online",
            "statusLivechat": u.status_livechat,
            "emails": [dict(e) for e in u.emails],
        }
        for u in store.users.values()
        if role in u.roles
        and (
            not text
            or text in u.username.lower()
            or text in u.name.lower()
            or any(text in str(e.get("address", "")).lower() for e in u.emails)
        )
    ]
    return paged(request, users, "users", ("username", 1))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/livechat/visitor", register_visitor)
    r.add_post("/api/v1/livechat/custom.field", visitor_custom_field)
    r.add_post("/api/v1/livechat/custom-fields.save", save_custom_field)
    r.add_post("/api/v1/livechat/department", save_department)
    r.add_get("/api/v1/livechat/room", open_room)
    r.add_post("/api/v1/livechat/message", visitor_message)
    r.add_get("/api/v1/livechat/messages.history/{rid}", visitor_history)
    r.add_post("/api/v1/livechat/room.close", visitor_close)
    r.add_post("/api/v1/livechat/agent.status", agent_status)
    r.add_get("/api/v1/livechat/inquiries.queued", inquiries_queued)
    r.add_post("/api/v1/livechat/inquiries.take", inquiries_take)
    r.add_post("/api/v1/livechat/room.forward", room_forward)
    r.add_post("/api/v1/livechat/room.closeByUser", room_close_by_user)
    r.add_get("/api/v1/livechat/rooms", livechat_rooms)
    r.add_get("/api/v1/livechat/visitors.info", visitors_info)
    r.add_route("GET", "/api/v1/livechat/users/{type:agent|manager}", livechat_users)
    r.add_route("POST", "/api/v1/livechat/users/{type:agent|manager}", livechat_users)


__all__ = ["add_routes", "ApiError"]
