"""Test control: hold a REST request in flight, so a test can kill the client at that instant.

`POST /_sim/hold {"routes": ["POST composite"], "count": 1, "phase": "before"|"after"|"lost"}`
arms a hold: "before" keeps the request waiting before the org processes it, "after" processes
(commits) it and keeps the answer back. A held request goes on when `DELETE /_sim/hold` releases
it or when its client disconnects: like Salesforce, the org finishes a request it has received
whether or not anyone is still listening. "lost" is a request that never arrived: if its client
disconnects while it is held, the org drops it unprocessed. "trickle" is an answer that never ends: its
headers (200) come at once and its body one space a second (JSON allows leading white space), so no read
timeout of the client ever fires; on release the org processes the request and the body ends with its
answer (still under 200: a test control for routes that answer 200, such as composite). `GET /_sim/hold`
tells how many requests are held right now.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

POLL = 0.05
LONGEST = 120.0
TRICKLE_EVERY = 1.0
PHASES = ("before", "after", "lost", "trickle")


@dataclass
class Hold:
    routes: set[str]
    phase: str
    remaining: int
    released: asyncio.Event = field(default_factory=asyncio.Event)


class Holds:
    def __init__(self):
        self.armed: list[Hold] = []
        self.held = 0

    def arm(self, routes: set[str], phase: str, count: int) -> None:
        self.armed.append(Hold(routes, phase, count))

    def take(self, route: str) -> _Waiter | None:
        for hold in self.armed:
            if hold.remaining > 0 and route in hold.routes:
                hold.remaining -= 1
                return _Waiter(self, hold)
        return None

    def release(self) -> None:
        for hold in self.armed:
            hold.released.set()
        self.armed.clear()


class _Waiter:
    def __init__(self, holds: Holds, hold: Hold):
        self.holds, self.hold, self.phase = holds, hold, hold.phase

    async def wait(self, request: web.Request) -> bool:
        """False when the client went away while the request was held."""
        self.holds.held += 1
        try:
            waited = 0.0
            while not self.hold.released.is_set() and waited < LONGEST:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return False
                await asyncio.sleep(POLL)
                waited += POLL
            return True
        finally:
            self.holds.held -= 1

    async def trickle(self, request: web.Request, headers: dict) -> tuple[web.StreamResponse, bool]:
        """Start a 200 answer and drip white space into it until released: (the answer, the client still there)."""
        response = web.StreamResponse(status=200, headers=headers)
        response.content_type = "application/json"
        await response.prepare(request)
        self.holds.held += 1
        try:
            waited = 0.0
            while not self.hold.released.is_set() and waited < LONGEST:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return response, False
                await response.write(b" ")
                await asyncio.sleep(TRICKLE_EVERY)
                waited += TRICKLE_EVERY
            return response, True
        except ConnectionError:
            return response, False
        finally:
            self.holds.held -= 1
