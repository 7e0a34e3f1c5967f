"""Rate limiting as Rocket.Chat does it by default, and the `/_sim/` test controls (call counts,
faults, refused logins, dropped or stalled websockets, a room's messages, settings)."""

from __future__ import annotations

import collections
import datetime as dt
import math
import time
from dataclasses import dataclass, field

from aiohttp import web

from simulators.rocketchat.store import new_id, to_rest

# Rocket.Chat: API_Enable_Rate_Limiter_Limit_Calls_Default 10 per API_Enable_Rate_Limiter_Limit_Time_Default 60000 ms;
# the livechat visitor and room routes allow 5 (livechat/server/api/v1/{visitor,room}.ts).
ROUTE_LIMITS = {"livechat/visitor": 5, "livechat/room": 5}
WINDOW_MS = 60_000


@dataclass
class RateLimiter:
    calls_per_window: int = 10
    hits: dict = field(default_factory=lambda: collections.defaultdict(list))

    def check(self, client: str, route: str) -> tuple[bool, dict[str, str], float]:
        """(allowed, headers, seconds to wait) for one call of `route` from `client`."""
        if self.calls_per_window <= 0:
            return True, {}, 0.0
        limit = ROUTE_LIMITS.get(route, self.calls_per_window)
        now_ms = time.time() * 1000
        window = [t for t in self.hits[(client, route)] if now_ms - t < WINDOW_MS]
        self.hits[(client, route)] = window
        reset_ms = (window[0] + WINDOW_MS) if window else now_ms + WINDOW_MS
        if len(window) >= limit:
            headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(reset_ms)),
            }
            return False, headers, (reset_ms - now_ms) / 1000
        window.append(now_ms)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - len(window)),
            "X-RateLimit-Reset": str(int(reset_ms)),
        }
        return True, headers, 0.0


def too_many(wait_seconds: float, headers: dict[str, str]) -> web.Response:
    seconds = max(math.ceil(wait_seconds), 1)
    body = {
        "success": False,
        "error": f"Error, too many requests. Please slow down. You must wait {seconds} seconds before trying this endpoint again. [error-too-many-requests]",
    }
    return web.json_response(body, status=429, headers=headers)


@dataclass
class Fault:
    route: str
    status: int
    until: float | None
    remaining: int | None
    user: str | None = None  # only this username's calls fail (None: everyone's)


class Controls:
    def __init__(self) -> None:
        self.calls: collections.Counter = collections.Counter()
        self.faults: list[Fault] = []
        self.refuse_logins_until = 0.0

    def refusing_logins(self) -> bool:
        return time.time() < self.refuse_logins_until

    def fault_for(self, route: str, username: str | None = None) -> Fault | None:
        now = time.time()
        for fault in self.faults:
            if fault.route not in (route, "*") or (fault.user is not None and fault.user != username):
                continue
            if fault.until is not None and now >= fault.until:
                continue
            if fault.remaining is not None:
                if fault.remaining <= 0:
                    continue
                fault.remaining -= 1
            return fault
        return None


async def _json(request: web.Request) -> dict:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        body = {}
    return body if isinstance(body, dict) else {}


def add_routes(app: web.Application) -> None:
    controls: Controls = app["controls"]

    async def calls(request: web.Request) -> web.Response:
        if request.method == "POST":
            controls.calls.clear()
        return web.json_response({"calls": dict(controls.calls)})

    async def fail(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            controls.faults.clear()
            return web.json_response({"ok": True})
        body = await _json(request)
        seconds, count = body.get("seconds"), body.get("count")
        controls.faults.append(
            Fault(
                str(body.get("route") or "*"),
                int(body.get("status") or 500),
                time.time() + float(seconds) if seconds is not None else None,
                int(count) if count is not None else None,
                body.get("user"),
            )
        )
        return web.json_response({"ok": True})

    async def refuse_logins(request: web.Request) -> web.Response:
        seconds = float((await _json(request)).get("seconds") or 0)
        controls.refuse_logins_until = time.time() + seconds
        app["realtime"].refuse_logins_until = controls.refuse_logins_until
        return web.json_response({"ok": True})

    async def drop(request: web.Request) -> web.Response:
        return web.json_response({"dropped": await app["realtime"].drop_all()})

    async def stall(request: web.Request) -> web.Response:
        """POST {"seconds": S}: the realtime streams go silent both ways and new websockets get 503 for S seconds."""
        seconds = float((await _json(request)).get("seconds") or 0)
        app["realtime"].stall(seconds)
        return web.json_response({"ok": True, "connections": len(app["realtime"].connections)})

    async def room_messages(request: web.Request) -> web.Response:
        store = app["store"]
        rid = request.match_info["rid"]
        return web.json_response(
            {"messages": to_rest(store.messages.get(rid, [])), "room": to_rest(store.rooms.get(rid))}
        )

    async def setting(request: web.Request) -> web.Response:
        body = await _json(request)
        app["store"].settings[str(body.get("_id"))] = body.get("value")
        return web.json_response({"ok": True})

    async def open_chats(request: web.Request) -> web.Response:
        """POST {"count": N, "agent": USERNAME, "age_seconds": S}: N open chats that AGENT already serves,
        made quietly (no system messages) and last updated S seconds ago (default 0), as a busy
        workspace has them before a bot starts or reconnects."""
        body = await _json(request)
        store = request.app["store"]
        agent = store.user_by_name(str(body.get("agent") or ""))
        if agent is None:
            return web.json_response({"success": False, "error": "unknown agent"}, status=400)
        made = []
        age = float(body.get("age_seconds") or 0)
        for _ in range(int(body.get("count") or 0)):
            n = len(store.visitors) + 1
            visitor = store.add_visitor(
                f"seed-{new_id()}", f"Seeded Visitor {n}", f"seeded{n}@load.example", None, None
            )
            room = store.add_room(
                "l",
                None,
                [agent.username],
                fname=visitor["name"],
                open=True,
                waitingResponse=False,
                cl=False,
                source={"type": "api"},
                v={
                    "_id": visitor["_id"],
                    "username": visitor["username"],
                    "token": visitor["token"],
                    "status": "online",
                },
            )
            if age:
                room["ts"] = room["_updatedAt"] = room["ts"] - dt.timedelta(seconds=age)
            room["servedBy"] = {"_id": agent._id, "username": agent.username, "ts": room["ts"]}
            made.append(room["_id"])
        return web.json_response({"rooms": made})

    app.router.add_route("*", "/_sim/calls", calls)
    app.router.add_post("/_sim/open-chats", open_chats)
    app.router.add_route("*", "/_sim/fail", fail)
    app.router.add_post("/_sim/refuse-logins", refuse_logins)
    app.router.add_post("/_sim/drop-websockets", drop)
    app.router.add_post("/_sim/stall-websockets", stall)
    app.router.add_get("/_sim/rooms/{rid}/messages", room_messages)
    app.router.add_post("/_sim/settings", setting)
