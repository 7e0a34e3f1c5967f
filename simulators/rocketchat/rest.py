"""Core REST routes of the loopback Rocket.Chat (apps/meteor/app/api/server/v1/*.ts): login,
users, direct messages, channels, history, sending, sync, subscriptions, settings."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from simulators.rocketchat.http import (
    ApiError,
    bad_request,
    body_of,
    current_user,
    forbidden,
    ok,
    page_size,
    paged,
    require,
    store_of,
)
from simulators.rocketchat.store import Store, User, new_id, now


def _sender(user: User) -> dict:
    return {"_id": user._id, "username": user.username, "name": user.name}


def _parse_date(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.timezone.utc)
        except ValueError:
            raise bad_request(
                'The "lastUpdate" query parameter must be a valid date.', "error-lastUpdate-param-invalid"
            ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


# -- authentication -------------------------------------------------------------------------
async def login(request: web.Request) -> web.Response:
    store = store_of(request)
    body = await body_of(request)
    controls = request.app["controls"]
    if controls.refusing_logins():
        raise ApiError(401, {"status": "error", "error": "Unauthorized", "message": "Unauthorized"})
    user: User | None = None
    if body.get("resume"):
        user = next((u for u in store.users.values() if body["resume"] in u.tokens), None)
    else:
        name = body.get("user") or body.get("username")
        candidate = store.user_by_name(str(name or ""))
        if candidate and candidate.password == body.get("password") and candidate.active:
            user = candidate
    if user is None:
        raise ApiError(401, {"status": "error", "error": "Unauthorized", "message": "Unauthorized"})
    token = store.issue_token(user)
    # Login answers `status`, not `success` (api/server/v1/misc? no: lib/server/restApi login route).
    return web.json_response({"status": "success", "data": {"authToken": token, "userId": user._id, "me": _me(user)}})


def _me(user: User) -> dict:
    from simulators.rocketchat.store import to_rest

    return to_rest(
        {**user.full(), "settings": {"preferences": {}}, "email": user.emails[0]["address"] if user.emails else None}
    )


async def me(request: web.Request) -> web.Response:
    user = current_user(request)
    return web.json_response({**_me(user), "success": True})


async def logout(request: web.Request) -> web.Response:
    user = current_user(request)
    user.tokens.discard(request.headers.get("X-Auth-Token", ""))
    return ok({"data": {"message": "You've been logged out!"}})


# -- users ----------------------------------------------------------------------------------
async def users_info(request: web.Request) -> web.Response:
    caller = current_user(request)
    store = store_of(request)
    q = request.query
    user = store.users.get(q.get("userId", "")) if q.get("userId") else store.user_by_name(q.get("username", ""))
    if user is None:
        raise bad_request("User not found.", "error-invalid-user")
    full = caller.can("view-full-other-user-info") or caller.can("*") or caller._id == user._id
    return ok({"user": user.full() if full else user.public()})


async def users_create(request: web.Request) -> web.Response:
    caller = current_user(request)
    require(caller, "create-user")
    body = await body_of(request)
    for key in ("email", "name", "password", "username"):
        if not body.get(key):
            raise bad_request(f"Match error: Missing key '{key}'", "error-invalid-params")
    store = store_of(request)
    if store.user_by_name(body["username"]):
        raise bad_request(
            f"{body['username']} is already in use :( [error-field-unavailable]", "error-field-unavailable"
        )
    user = store.add_user(
        body["username"], body["password"], body.get("roles") or ["user"], body["name"], body["email"]
    )
    # `verified` (default false): whether the email address is marked verified (REST API docs, users.create)
    user.emails[0]["verified"] = body.get("verified") is True
    return ok({"user": user.full()})


async def users_create_token(request: web.Request) -> web.Response:
    caller = current_user(request)
    require(caller, "user-generate-access-token")
    body = await body_of(request)
    store = store_of(request)
    user = store.users.get(body.get("userId", "")) or store.user_by_name(body.get("username", ""))
    if user is None:
        raise bad_request("User not found", "error-invalid-user")
    return ok({"data": {"userId": user._id, "authToken": store.issue_token(user)}})


async def personal_token(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await body_of(request)
    if not body.get("tokenName"):
        raise bad_request("Match error", "error-invalid-params")
    return ok({"token": store_of(request).issue_token(user)})


# -- rooms ----------------------------------------------------------------------------------
async def im_create(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await body_of(request)
    store = store_of(request)
    other = store.user_by_name(str(body.get("username") or ""))
    if other is None:
        raise bad_request("Failed to create direct message [error-invalid-user]", "error-invalid-user")
    room = store.dm_between(user.username, other.username) or store.add_room("d", None, [user.username, other.username])
    return ok({"room": {k: v for k, v in room.items() if not k.startswith("__")}})


async def channels_create(request: web.Request) -> web.Response:
    user = current_user(request)
    require(user, "create-c")
    body = await body_of(request)
    store = store_of(request)
    name = str(body.get("name") or "")
    if not name:
        raise bad_request('Body param "name" is required', "error-invalid-params")
    if store.room_by_name(name):
        raise bad_request(
            f"A channel with name '{name}' exists [error-duplicate-channel-name]", "error-duplicate-channel-name"
        )
    members = [user.username] + [m for m in body.get("members") or [] if store.user_by_name(m)]
    room = store.add_room("c", name, members, u={"_id": user._id, "username": user.username})
    return ok({"channel": room})


def _room_for(request: web.Request, user: User, room_id: str | None = None, name: str | None = None) -> dict:
    store = store_of(request)
    room = store.rooms.get(room_id or "") if room_id else (store.room_by_name(name or "") if name else None)
    if room is None:
        raise bad_request(
            'The required "roomId" or "roomName" param provided does not match any channel [error-room-not-found]',
            "error-room-not-found",
        )
    if not store.can_read(room, user):
        raise forbidden()
    return room


async def room_info(request: web.Request) -> web.Response:
    user = current_user(request)
    try:
        room = _room_for(request, user, request.query.get("roomId"), request.query.get("roomName"))
    except ApiError as exc:
        if exc.status == 403 and "rooms.info" in request.path:  # API.v1.failure('not-allowed', 'Not Allowed')
            raise ApiError(400, {"success": False, "error": "not-allowed", "errorType": "Not Allowed"}) from None
        raise
    return ok({"room": room} if "rooms.info" in request.path else {"channel": room})


async def history(request: web.Request) -> web.Response:
    user = current_user(request)
    room = _room_for(request, user, request.query.get("roomId"), request.query.get("roomName"))
    expected = {"im": "d", "dm": "d", "channels": "c", "groups": "p"}[request.path.split("/")[3].split(".")[0]]
    if room["t"] != expected:
        raise bad_request(
            'The required "roomId" or "roomName" param provided does not match any channel [error-room-not-found]',
            "error-room-not-found",
        )
    messages = list(store_of(request).messages[room["_id"]])
    latest, oldest = _parse_date(request.query.get("latest")), _parse_date(request.query.get("oldest"))
    if latest:
        messages = [m for m in messages if m["ts"] <= latest]
    if oldest:
        messages = [m for m in messages if m["ts"] >= oldest]
    offset, count = page_size(request, 20)
    ordered = sorted(messages, key=lambda m: m["ts"], reverse=True)
    page = ordered[offset : offset + count] if count > 0 else ordered[offset:]
    return ok({"messages": page, "count": len(page), "offset": offset, "total": len(ordered)})


async def subscriptions_get(request: web.Request) -> web.Response:
    user = current_user(request)
    store = store_of(request)
    since = _parse_date(request.query.get("updatedSince"))
    subs = []
    for room in store.rooms.values():
        if since is not None and room["_updatedAt"] <= since:
            continue  # Rocket.Chat: `_updatedAt: {$gt: updatedSince}`
        if room["t"] != "l" and store.is_member(room, user):
            other = [n for n in room.get("usernames", []) if n != user.username]
            name = room.get("name") or (other[0] if other else user.username)
            subs.append(
                {
                    "_id": room["_id"] + user._id,
                    "rid": room["_id"],
                    "t": room["t"],
                    "name": name,
                    "fname": room.get("fname", name),
                    "u": {"_id": user._id, "username": user.username},
                    "open": True,
                    "alert": False,
                    "unread": 0,
                    "ts": room["ts"],
                    "_updatedAt": room["_updatedAt"],
                    "ls": room["_updatedAt"],
                }
            )
    return ok({"update": subs, "remove": []})


# -- messages -------------------------------------------------------------------------------
def can_write(store: Store, room: dict, user: User) -> bool:
    if room["t"] == "l":
        served = (room.get("servedBy") or {}).get("_id")
        return room.get("open") is True and (served == user._id or user.can("view-livechat-rooms"))
    if room["t"] == "c":
        return store.is_member(room, user) or user.can("*")
    return store.is_member(room, user)


async def send_message(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await body_of(request)
    message = body.get("message")
    if not isinstance(message, dict) or not message.get("rid"):
        raise bad_request("The 'message' parameter must be provided as an object with a rid", "error-invalid-params")
    return ok({"message": _post(request, user, message["rid"], message)})


async def post_message(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await body_of(request)
    store = store_of(request)
    rid = body.get("roomId")
    if not rid and body.get("channel"):
        target = str(body["channel"])
        room = store.room_by_name(target[1:]) if target.startswith("#") else None
        if target.startswith("@"):
            other = store.user_by_name(target[1:])
            room = other and (
                store.dm_between(user.username, other.username)
                or store.add_room("d", None, [user.username, other.username])
            )
        rid = room["_id"] if room else None
    if not rid:
        raise bad_request("Invalid channel", "invalid-channel")
    message = _post(
        request,
        user,
        rid,
        {"msg": body.get("text", ""), "attachments": body.get("attachments"), "tmid": body.get("tmid")},
    )
    return ok({"ts": int(message["ts"].timestamp() * 1000), "channel": rid, "message": message})


def _post(request: web.Request, user: User, rid: str, message: dict) -> dict:
    store = store_of(request)
    room = store.rooms.get(rid)
    if room is None or not store.can_read(room, user):
        raise bad_request("You don't have permission to access this room", "error-not-allowed")
    if not can_write(store, room, user):
        raise bad_request("You don't have permission to send messages to this room", "error-not-allowed")
    text = message.get("msg") or ""
    limit = int(store.settings.get("Message_MaxAllowedSize", 5000))
    if len(text) > limit:
        raise bad_request("Message size exceeds the allowed limit", "error-message-size-exceeded")
    if message.get("_id") and store.find_message(message["_id"]):
        # The same client-chosen _id twice: Rocket.Chat refuses the duplicate insert.
        raise bad_request("Message already exists", "error-message-already-exists")
    extra = {
        "attachments": message.get("attachments") or None,
        "tmid": message.get("tmid") or None,
        "alias": message.get("alias") or None,
        "bot": {"i": user._id} if user.type == "bot" else None,
    }
    return store.add_message(room, _sender(user), text, _id=message.get("_id"), **extra)


async def sync_messages(request: web.Request) -> web.Response:
    user = current_user(request)
    room = _room_for(request, user, request.query.get("roomId"))
    last_update = _parse_date(request.query.get("lastUpdate"))
    if last_update is None:
        raise bad_request('The required "lastUpdate" query param is missing.', "error-lastUpdate-param-not-provided")
    updated = [m for m in store_of(request).messages[room["_id"]] if m["_updatedAt"] > last_update]
    updated.sort(key=lambda m: m["ts"], reverse=True)
    return ok({"result": {"updated": updated, "deleted": []}})


async def get_message(request: web.Request) -> web.Response:
    """`GET chat.getMessage?msgId=` (apps/meteor/app/api/server/v1/chat.ts): the message, if the caller may
    read its room; a missing msgId is refused; an unknown or unreadable one is an error [its text inferred]."""
    user = current_user(request)
    msg_id = request.query.get("msgId")
    if not msg_id:
        raise bad_request('The "msgId" query parameter must be provided.')
    store = store_of(request)
    message = store.find_message(msg_id)
    room = store.rooms.get(message["rid"]) if message else None
    if message is None or room is None or not store.can_read(room, user):
        raise bad_request("Message not found [error-invalid-message]", "error-invalid-message")
    return ok({"message": message})


# -- settings and info ----------------------------------------------------------------------
PUBLIC_SETTINGS = (
    "Message_MaxAllowedSize",
    "Site_Name",
    "Message_AllowUnrecognizedSlashCommand",
    "Livechat_Routing_Method",
)


async def settings_public(request: web.Request) -> web.Response:
    store = store_of(request)
    wanted = request.query.get("_id")
    ids = [i for i in PUBLIC_SETTINGS if not wanted or i in wanted.split(",")]
    items = [{"_id": i, "value": store.settings[i]} for i in ids]
    return paged(request, items, "settings")


async def info(request: web.Request) -> web.Response:
    return ok({"info": {"version": "7.0.0"}})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/login", login)
    r.add_get("/api/v1/me", me)
    r.add_post("/api/v1/logout", logout)
    r.add_get("/api/v1/users.info", users_info)
    r.add_post("/api/v1/users.create", users_create)
    r.add_post("/api/v1/users.createToken", users_create_token)
    r.add_post("/api/v1/users.generatePersonalAccessToken", personal_token)
    for prefix in ("im", "dm"):
        r.add_post(f"/api/v1/{prefix}.create", im_create)
        r.add_get(f"/api/v1/{prefix}.history", history)
    r.add_post("/api/v1/channels.create", channels_create)
    r.add_get("/api/v1/channels.history", history)
    r.add_get("/api/v1/groups.history", history)
    r.add_get("/api/v1/channels.info", room_info)
    r.add_get("/api/v1/rooms.info", room_info)
    r.add_get("/api/v1/subscriptions.get", subscriptions_get)
    r.add_post("/api/v1/chat.sendMessage", send_message)
    r.add_post("/api/v1/chat.postMessage", post_message)
    r.add_get("/api/v1/chat.syncMessages", sync_messages)
    r.add_get("/api/v1/chat.getMessage", get_message)
    r.add_get("/api/v1/settings.public", settings_public)
    r.add_get("/api/v1/info", info)


def channel_join(store: Store, room: dict, user: User) -> None:
    room["__members"].add(user.username)
    room["usersCount"] = len(room["__members"])
    store.add_message(room, _sender(user), user.username, t="uj")


__all__ = ["add_routes", "channel_join", "can_write", "new_id", "now"]
