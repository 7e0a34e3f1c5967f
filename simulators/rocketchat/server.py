"""A loopback Rocket.Chat: REST under `/api/v1/` and the realtime API at `/websocket`, one process.

`python -m simulators.rocketchat --port 0 --admin admin:secret [--seed demo|empty]` prints
`listening on http://127.0.0.1:PORT` first.

`--seed demo` adds (passwords in brackets): agents `alice` and `bob` [agent-pass], manager
`maria` [manager-pass], plain user `carol` [user-pass], the bot `salesforce-bot` [bot-pass] with
roles `bot` + `livechat-manager`, and the channel `general` (admin, alice, bob, maria, carol,
salesforce-bot). Routing is manual: a new chat waits as an inquiry until an agent takes it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import time

from aiohttp import web

from simulators.rocketchat import livechat as rc_sim_livechat
from simulators.rocketchat import rest as rc_sim_rest
from simulators.rocketchat.controls import Controls, RateLimiter, too_many
from simulators.rocketchat.controls import add_routes as add_control_routes
from simulators.rocketchat.ddp import Realtime
from simulators.rocketchat.http import ApiError, resolve_user
from simulators.rocketchat.store import Store

PUBLIC_ROUTES = {
    "login",
    "info",
    "settings.public",
    "livechat/visitor",
    "livechat/custom.field",
    "livechat/room",
    "livechat/message",
    "livechat/room.close",
}


def route_of(path: str) -> str:
    route = path[len("/api/v1/") :]
    if route.startswith("livechat/messages.history/"):
        return "livechat/messages.history"
    return route


@web.middleware
async def api_layer(request: web.Request, handler):
    """Counting, faults, authentication, rate limiting and error bodies, as Rocket.Chat's API layer."""
    if not request.path.startswith("/api/v1/"):
        return await handler(request)
    app = request.app
    route = route_of(request.path)
    controls: Controls = app["controls"]
    controls.calls[f"{request.method} {route}"] += 1
    user = resolve_user(request)
    request["user"] = user
    fault = controls.fault_for(route, user.username if user is not None else None)
    if fault is not None:
        if fault.status == 429:
            reset_ms = int(time.time() * 1000) + 1500
            return too_many(
                1.5, {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset_ms)}
            )
        return web.json_response({"success": False, "error": "Internal server error"}, status=fault.status)
    if user is None and route not in PUBLIC_ROUTES and route != "livechat/messages.history":
        msg = "You must be logged in to do this."
        return web.json_response({"success": False, "status": "error", "message": msg, "error": msg}, status=401)
    headers: dict[str, str] = {}
    if user is None or not user.can("api-bypass-rate-limit"):
        allowed, headers, wait = app["limiter"].check(request.remote or "?", route)
        if not allowed:
            return too_many(wait, headers)
    try:
        response = await handler(request)
    except ApiError as err:
        response = web.json_response(err.body, status=err.status)
    except web.HTTPNotFound:
        response = web.json_response({"success": False, "error": "Not found"}, status=404)
    except Exception as exc:  # noqa: BLE001 - never a stack trace to the client
        print(
            f"simulator error on {request.method} {request.path}: {type(exc).__name__}: {exc}",
            file=sys.stderr,
            flush=True,
        )
        response = web.json_response({"success": False, "error": "Internal server error"}, status=500)
    for key, value in headers.items():
        response.headers[key] = value
    return response


def seed_demo(store: Store, admin_name: str) -> None:
    for username, password, roles, name in (
        ("alice", "agent-pass", ["user", "livechat-agent"], "Alice Agent"),
        ("bob", "agent-pass", ["user", "livechat-agent"], "Bob Agent"),
        ("maria", "manager-pass", ["user", "livechat-manager", "livechat-agent"], "Maria Manager"),
        ("carol", "user-pass", ["user"], "Carol User"),
        ("salesforce-bot", "bot-pass", ["bot", "livechat-manager"], "Salesforce"),
    ):
        store.add_user(username, password, roles, name)
    store.add_room("c", "general", [admin_name, "alice", "bob", "maria", "carol", "salesforce-bot"], default=True)


def build_app(store: Store, realtime: Realtime, rate_limit: int) -> web.Application:
    app = web.Application(middlewares=[api_layer])
    app["store"], app["realtime"], app["controls"], app["limiter"] = (
        store,
        realtime,
        Controls(),
        RateLimiter(rate_limit),
    )
    rc_sim_rest.add_routes(app)
    rc_sim_livechat.add_routes(app)
    add_control_routes(app)
    app.router.add_get("/websocket", realtime.handle)
    app.router.add_get("/sockjs/websocket", realtime.handle)
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulators.rocketchat", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--admin", required=True, help="USER:PASSWORD of the administrator")
    p.add_argument("--seed", choices=("demo", "empty"), default="empty")
    p.add_argument("--ping-interval", type=float, default=30.0, help="seconds of silence before the server pings")
    p.add_argument("--ping-timeout", type=float, default=30.0, help="seconds to wait for a pong before closing")
    p.add_argument("--rate-limit", type=int, default=10, help="calls per minute per route and client (0: off)")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    admin_name, _, admin_password = args.admin.partition(":")
    if not admin_name or not admin_password:
        raise SystemExit("--admin must be USER:PASSWORD")
    store = Store()
    store.add_user(admin_name, admin_password, ["admin", "user"], "Administrator")
    if args.seed == "demo":
        seed_demo(store, admin_name)
    realtime = Realtime(store, args.ping_interval, args.ping_timeout)
    runner = web.AppRunner(build_app(store, realtime, args.rate_limit), access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    await web.SockSite(runner, sock).start()
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await realtime.drop_all()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
