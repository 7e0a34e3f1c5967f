"""The realtime API: DDP over `/websocket` (Meteor's protocol as Rocket.Chat serves it).

`connect` -> `connected`; the server pings after `ping_interval` seconds of silence and closes a
socket that has not answered within `ping_timeout` more; `login` with `{"resume": token}`;
`stream-room-messages` for `__my_messages__` (every room the user can access: public channels
flagged `roomParticipant: false`, Omnichannel rooms for `view-livechat-rooms`) or one room id
(Rocket.Chat's canAccessRoom, plus the visitor token for livechat rooms); `nosub` on refusal.

Test control `stall(seconds)`: a server that stops answering its realtime streams, as behind a dead
load balancer: for that long the open sockets carry nothing either way (no frame sent, none answered,
no ping) and a new websocket is refused with 503; afterwards the sockets still open work again.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from simulators.rocketchat.store import Store, User, now, to_ddp

LOGGED_OUT = {
    "isClientSafe": True,
    "error": 403,
    "reason": "You've been logged out by the server. Please log in again.",
    "message": "You've been logged out by the server. Please log in again. [403]",
    "errorType": "Meteor.Error",
}
NOT_ALLOWED = {
    "isClientSafe": True,
    "error": "not-allowed",
    "reason": "Not allowed",
    "message": "Not allowed [not-allowed]",
    "errorType": "Meteor.Error",
}


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    session: str = field(default_factory=lambda: secrets.token_hex(8))
    user: User | None = None
    subs: dict[str, str] = field(default_factory=dict)  # sub id -> stream param
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    last_received: float = field(default_factory=time.monotonic)


class Realtime:
    def __init__(self, store: Store, ping_interval: float = 30.0, ping_timeout: float = 30.0):
        self.store = store
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.connections: set[Connection] = set()
        self.refuse_logins_until = 0.0
        self.stalled_until = 0.0
        store.listeners.append(self._fan_out)

    # -- fan-out of room messages ------------------------------------------------------------
    def _fan_out(self, message: dict, room: dict) -> None:
        for conn in list(self.connections):
            for param in conn.subs.values():
                if param == "__my_messages__":
                    if conn.user is None or not self._in_my_messages(room, conn.user):
                        continue
                elif param != room["_id"]:
                    continue  # a single room: access was checked when subscribing
                participant = self.store.is_member(room, conn.user) if conn.user else True
                meta = {
                    "roomParticipant": participant,
                    "roomType": room["t"],
                    "roomName": room.get("name") or room.get("fname") or "",
                }
                conn.outbox.put_nowait(
                    {
                        "msg": "changed",
                        "collection": "stream-room-messages",
                        "id": "id",
                        "fields": {"eventName": param, "args": [to_ddp(message), meta]},
                    }
                )

    def _in_my_messages(self, room: dict, user: User) -> bool:
        if room["t"] == "l":
            return user.can("view-livechat-rooms") or (room.get("servedBy") or {}).get("_id") == user._id
        if room["t"] == "c":
            return True
        return self.store.is_member(room, user)

    # -- the socket ----------------------------------------------------------------------------
    def stall(self, seconds: float) -> None:
        self.stalled_until = time.monotonic() + seconds

    @property
    def stalled(self) -> bool:
        return time.monotonic() < self.stalled_until

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.stalled:
            return web.Response(status=503, text="stalled by /_sim/stall-websockets")
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        conn = Connection(ws)
        self.connections.add(conn)
        writer = asyncio.create_task(self._writer(conn))
        pinger = asyncio.create_task(self._pinger(conn))
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT or self.stalled:
                    continue
                conn.last_received = time.monotonic()
                try:
                    data = json.loads(frame.data)
                except ValueError:
                    continue
                if isinstance(data, dict):
                    await self._on_frame(conn, data)
        finally:
            self.connections.discard(conn)
            if conn.user is not None:
                conn.user.connections = max(conn.user.connections - 1, 0)
            writer.cancel()
            pinger.cancel()
        return ws

    async def _writer(self, conn: Connection) -> None:
        while True:
            frame = await conn.outbox.get()
            if conn.ws.closed:
                return
            if self.stalled:
                continue  # lost, as on a dead path
            try:
                await conn.ws.send_str(json.dumps(frame))
            except (ConnectionError, RuntimeError):
                return

    async def _pinger(self, conn: Connection) -> None:
        pinged_at: float | None = None
        while not conn.ws.closed:
            await asyncio.sleep(min(1.0, self.ping_interval / 4))
            if self.stalled:
                pinged_at, conn.last_received = None, time.monotonic()
                continue
            idle = time.monotonic() - conn.last_received
            if pinged_at is not None and conn.last_received > pinged_at:
                pinged_at = None
            if pinged_at is None and idle >= self.ping_interval:
                pinged_at = time.monotonic()
                conn.outbox.put_nowait({"msg": "ping"})
            elif pinged_at is not None and time.monotonic() - pinged_at >= self.ping_timeout:
                await conn.ws.close(code=4000, message=b"No pong received")  # Meteor's heartbeat timeout
                return

    async def _on_frame(self, conn: Connection, data: dict) -> None:
        kind = data.get("msg")
        if kind == "connect":
            conn.outbox.put_nowait({"msg": "connected", "session": conn.session})
        elif kind == "ping":
            conn.outbox.put_nowait({"msg": "pong", **({"id": data["id"]} if "id" in data else {})})
        elif kind == "pong":
            pass
        elif kind == "method":
            conn.outbox.put_nowait(self._method(conn, data))
            conn.outbox.put_nowait({"msg": "updated", "methods": [data.get("id")]})
        elif kind == "sub":
            conn.outbox.put_nowait(self._sub(conn, data))
        elif kind == "unsub":
            conn.subs.pop(str(data.get("id")), None)
            conn.outbox.put_nowait({"msg": "nosub", "id": data.get("id")})

    def _method(self, conn: Connection, data: dict) -> dict:
        method, msg_id, params = data.get("method"), data.get("id"), data.get("params") or []
        if method == "login":
            resume = (params[0] or {}).get("resume") if params and isinstance(params[0], dict) else None
            user = next((u for u in self.store.users.values() if resume and resume in u.tokens and u.active), None)
            if user is None or time.time() < self.refuse_logins_until:
                return {"msg": "result", "id": msg_id, "error": LOGGED_OUT}
            if conn.user is None:
                user.connections += 1
            conn.user = user
            expires = now().timestamp() + 90 * 86400
            return {
                "msg": "result",
                "id": msg_id,
                "result": {
                    "id": user._id,
                    "token": resume,
                    "tokenExpires": {"$date": int(expires * 1000)},
                    "type": "resume",
                },
            }
        if conn.user is None:
            return {
                "msg": "result",
                "id": msg_id,
                "error": {
                    "isClientSafe": True,
                    "error": "error-not-allowed",
                    "reason": "Not allowed",
                    "message": "Not allowed [error-not-allowed]",
                    "errorType": "Meteor.Error",
                },
            }
        if method == "livechat:changeLivechatStatus":
            status = (params[0] or {}).get("status") if params and isinstance(params[0], dict) else None
            conn.user.status_livechat = status or (
                "not-available" if conn.user.status_livechat == "available" else "available"
            )
            return {"msg": "result", "id": msg_id}
        if method in ("UserPresence:setDefaultStatus", "UserPresence:online", "UserPresence:away"):
            return {"msg": "result", "id": msg_id, "result": True}
        return {
            "msg": "result",
            "id": msg_id,
            "error": {
                "isClientSafe": True,
                "error": 404,
                "reason": f"Method '{method}' not found",
                "message": f"Method '{method}' not found [404]",
                "errorType": "Meteor.Error",
            },
        }

    def _sub(self, conn: Connection, data: dict) -> dict:
        sub_id, name, params = str(data.get("id")), data.get("name"), data.get("params") or []
        if name != "stream-room-messages" or not params:
            return {"msg": "nosub", "id": sub_id, "error": NOT_ALLOWED}
        param = str(params[0])
        visitor_token = None
        if len(params) > 1 and isinstance(
            params[1], dict
        ):  # the livechat widget: {"useCollection": false, "args": [{"token": …}]}
            args = params[1].get("args") or [{}]
            visitor_token = args[0].get("token") if args and isinstance(args[0], dict) else None
        if param == "__my_messages__":
            if conn.user is None:
                return {"msg": "nosub", "id": sub_id, "error": NOT_ALLOWED}
        else:
            room = self.store.rooms.get(param)
            if room is None or not self.store.can_read(room, conn.user, visitor_token):
                return {"msg": "nosub", "id": sub_id, "error": NOT_ALLOWED}
        conn.subs[sub_id] = param
        return {"msg": "ready", "subs": [sub_id]}

    async def drop_all(self) -> int:
        dropped = 0
        for conn in list(self.connections):
            dropped += 1
            await conn.ws.close(code=1001, message=b"going away")
        return dropped


__all__ = ["Realtime", "Connection", "Any"]
