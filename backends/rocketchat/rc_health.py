"""What the backend tells a plugin's probes about its connection: logged in or not, whether the
realtime stream is live and why not, reconnects, realtime events by kind, and its two loops (the
realtime reader and the dispatch thread) with the time since each made progress.

The backend only records; deciding what is ready or stalled is the plugin's (its probes read
`RocketChatBackend.health()`, a plain dict, so nothing here depends on a metrics library).
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

READER_STALL_SECONDS = 30.0  # the reader loops at least once a second (1 s receive timeout)
DISPATCH_STALL_SECONDS = 120.0  # one message's command matching and plugin callbacks


class ConnectionHealth:
    """Thread-safe record of the connection, written by the backend's threads, read by probes."""

    def __init__(self, silence_timeout: float, clock=time.monotonic):
        self.silence_timeout = silence_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._logged_in = False
        self._realtime: Any = None  # the live RealtimeClient, or None
        self._reason = "connecting to Rocket.Chat"
        self._connects = 0
        self._events: collections.Counter[str] = collections.Counter()
        self._dispatch_since: float | None = None

    # -- written by the backend -----------------------------------------------------------
    def login_failed(self, reason: str) -> None:
        with self._lock:
            self._logged_in, self._realtime, self._reason = False, None, reason

    def logged_in(self) -> None:
        with self._lock:
            self._logged_in = True

    def connected(self, realtime: Any) -> None:
        with self._lock:
            self._realtime, self._reason = realtime, ""
            self._connects += 1

    def disconnected(self, reason: str) -> None:
        with self._lock:
            self._realtime, self._reason = None, reason

    def event(self, kind: str) -> None:
        with self._lock:
            self._events[kind] += 1

    def dispatching(self, busy: bool) -> None:
        now = self._clock() if busy else None
        with self._lock:
            self._dispatch_since = now

    # -- read by probes --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        now = self._clock()
        with self._lock:
            realtime, reason, logged_in = self._realtime, self._reason, self._logged_in
            events, connects, dispatch_since = dict(self._events), self._connects, self._dispatch_since
        loops: dict[str, dict[str, Any]] = {}
        since_frame = None
        live = False
        if realtime is not None:
            since_frame = max(now - realtime.last_frame_at, 0.0)
            loops["realtime_reader"] = {
                "busy": True,
                "since_progress_seconds": max(now - realtime.loop_at, 0.0),
                "stall_after_seconds": READER_STALL_SECONDS,
            }
            if not realtime.alive:
                reason = realtime.close_reason or "the realtime connection ended"
            elif since_frame > self.silence_timeout:
                reason = f"the realtime stream has been silent for {since_frame:.0f} s"
            else:
                live = True
        loops["rocketchat_dispatch"] = {
            "busy": dispatch_since is not None,
            "since_progress_seconds": max(now - dispatch_since, 0.0) if dispatch_since is not None else 0.0,
            "stall_after_seconds": DISPATCH_STALL_SECONDS,
        }
        return {
            "logged_in": logged_in,
            "stream_live": live and logged_in,
            "reason": None if live and logged_in else (reason or "not connected to Rocket.Chat"),
            "since_frame_seconds": since_frame,
            "silence_timeout_seconds": self.silence_timeout,
            "reconnects": max(connects - 1, 0),
            "events": events,
            "loops": loops,
        }
