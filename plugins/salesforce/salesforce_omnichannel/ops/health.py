"""Liveness and readiness, decided from one snapshot of the process.

- **Live** (`/livez`): every loop that heartbeats is making progress: the plugin's outbox worker and
  poller, and the backend's realtime reader and dispatch thread when the backend reports them. Neither
  Salesforce nor Rocket.Chat being down makes the bot unlive: a loop waiting on them still progresses
  (each request has a timeout), and a loop that is stopped on purpose (the plugin deactivated while
  Rocket.Chat is away) is not registered.
- **Ready** (`/readyz`): started (the plugin was activated once), logged in to Rocket.Chat with a live
  realtime stream (when the backend says so; another backend has no such check), the plugin active
  and its state store open and answering. Salesforce is not a condition: closures wait in the outbox,
  and the body shows the last Salesforce answer, the API usage and the outbox beside the reasons.

The plugin's figures (outbox, API usage) come from the same `PluginReport` that `/metrics` reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .heartbeat import Heartbeat, LoopState


@dataclass(frozen=True)
class PluginReport:
    """What the plugin says about itself at one instant."""

    active: bool
    why_inactive: str = ""
    store_problem: str | None = None  # None: the state store is open and answers
    outbox: dict[str, Any] | None = None  # pending, failed, quarantined, oldest_pending_age_seconds
    api_usage: tuple[int, int] | None = None  # (used, limit) from Sforce-Limit-Info
    salesforce: dict[str, Any] = field(default_factory=dict)  # configured, the last request's outcome
    budget_holding: bool | None = None  # the API budget guard holds what can wait (None: no guard)


@dataclass(frozen=True)
class Snapshot:
    started: bool
    plugin: PluginReport
    backend: dict[str, Any] | None
    loops: list[LoopState]
    reasons: list[str]
    role: str = "leader"  # a standby pair's standby says "standby" (ready: it is what it should be)
    epoch: int | None = None  # the leadership's epoch (a standby pair only)

    @property
    def ready(self) -> bool:
        return not self.reasons

    @property
    def stalled(self) -> list[str]:
        return [loop.name for loop in self.loops if loop.stalled]

    @property
    def live(self) -> bool:
        return not self.stalled


NOT_STARTED = PluginReport(False, "the Salesforce plugin has not started yet", "not open yet")


class Health:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = False
        self._loops: dict[str, Heartbeat] = {}
        self._plugin: Callable[[], PluginReport] = lambda: NOT_STARTED
        self._backend: Callable[[], dict[str, Any]] | None = None
        self._role: Callable[[], tuple[str, int | None]] = lambda: ("leader", None)

    # -- what feeds it ---------------------------------------------------------------------------
    def loop(self, name: str, stall_after: float, periodic: bool = False) -> Heartbeat:
        """Register (or replace) the loop NAME; its heartbeat."""
        beat = Heartbeat(name, stall_after, periodic)
        with self._lock:
            self._loops[name] = beat
        return beat

    def drop_loop(self, name: str) -> None:
        """A loop stopped on purpose (not a stall)."""
        with self._lock:
            self._loops.pop(name, None)

    def progress(self) -> None:
        """Progress made on this thread (e.g. a Salesforce answer) beats the loop whose job runs here."""
        with self._lock:
            loops = list(self._loops.values())
        me = threading.get_ident()
        for beat in loops:
            if beat.thread == me:
                beat.beat()

    def set_backend(self, report: Callable[[], dict[str, Any]] | None) -> None:
        """The backend's connection report (`RocketChatBackend.health()`), or None on a backend without one."""
        self._backend = report

    def set_role(self, role: Callable[[], str], epoch: Callable[[], int | None]) -> None:
        """A standby pair: this process's role (standby, leader, lost, released) and epoch."""
        self._role = lambda: (role(), epoch())

    def plugin_active(self, report: Callable[[], PluginReport]) -> None:
        self.started = True
        self._plugin = report

    def plugin_inactive(
        self, why: str, last: PluginReport | None = None, store: str = "closed while the plugin is not active"
    ) -> None:
        """Deactivated: not ready for WHY; the LAST figures stay shown (the store they came from is closed)."""
        gone = PluginReport(
            False,
            why,
            store,
            last.outbox if last else None,
            last.api_usage if last else None,
            last.salesforce if last else {},
            last.budget_holding if last else None,
        )
        self._plugin = lambda: gone

    # -- what it tells -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        try:
            plugin = self._plugin()
        except Exception as exc:  # noqa: BLE001 - a probe reports, never raises
            plugin = PluginReport(True, store_problem=f"the plugin's report failed ({type(exc).__name__})")
        backend = None
        if self._backend is not None:
            try:
                backend = self._backend()
            except Exception as exc:  # noqa: BLE001
                backend = {"stream_live": False, "reason": f"the backend's report failed ({type(exc).__name__})"}
        with self._lock:
            loops = [beat.state() for beat in self._loops.values()]
        for name, loop in sorted(((backend or {}).get("loops") or {}).items()):
            loops.append(
                LoopState(name, bool(loop["busy"]), float(loop["since_progress_seconds"]), loop["stall_after_seconds"])
            )
        reasons = []
        if not self.started:
            reasons.append("starting: the Salesforce plugin has not been activated yet")
        if backend is not None and not backend.get("stream_live"):
            reasons.append(f"Rocket.Chat: {backend.get('reason') or 'not connected'}")
        if self.started and not plugin.active:
            reasons.append(f"the Salesforce plugin is not active: {plugin.why_inactive}")
        elif plugin.active and plugin.store_problem:
            reasons.append(f"state store: {plugin.store_problem}")
        role, epoch = self._role()
        if role == "standby":
            reasons = []  # ready: waiting is this bot's job, and a rolling update must go on
        elif role != "leader":
            reasons = [f"this bot's leadership has ended ({role}): it is stopping", *reasons]
        return Snapshot(self.started, plugin, backend, loops, reasons, role, epoch)

    def liveness(self, snap: Snapshot | None = None) -> tuple[bool, dict[str, Any]]:
        snap = snap or self.snapshot()
        body = {
            "status": "alive" if snap.live else "stalled",
            "stalled": snap.stalled,
            "loops": {loop.name: loop.as_dict() for loop in snap.loops},
        }
        return snap.live, body

    def readiness(self, snap: Snapshot | None = None) -> tuple[bool, dict[str, Any]]:
        snap = snap or self.snapshot()
        plugin, backend = snap.plugin, snap.backend
        rocketchat: Any = "not used on this backend"
        if backend is not None:
            since = backend.get("since_frame_seconds")
            rocketchat = {
                "logged_in": bool(backend.get("logged_in")),
                "stream_live": bool(backend.get("stream_live")),
                "reason": backend.get("reason"),
                "since_last_frame_seconds": None if since is None else round(since, 1),
                "silence_timeout_seconds": backend.get("silence_timeout_seconds"),
                "reconnects": backend.get("reconnects", 0),
            }
        usage = plugin.api_usage
        body = {
            "status": "ready" if snap.ready else "not ready",
            "role": snap.role,
            "epoch": snap.epoch,
            "reasons": snap.reasons,
            "checks": {
                "started": snap.started,
                "rocketchat": rocketchat,
                "plugin_active": plugin.active,
                "state_store": plugin.store_problem or "open",
            },
            "salesforce": {
                **plugin.salesforce,
                "api_usage": {"used": usage[0], "limit": usage[1]} if usage else None,
                "api_budget_holding": plugin.budget_holding,
            },
            "outbox": plugin.outbox,
        }
        return snap.ready, body
