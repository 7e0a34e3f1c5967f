"""The Salesforce plugin's side of the probes and metrics (`ops/`): the loops it heartbeats, what it
counts, and the report `/readyz` and `/metrics` read.

One per plugin object: Errbot makes the plugin once per process, before the first connection to the
chat server, and activates it again after every reconnect. The probe server starts here from the
defaults (`SALESFORCE_HEALTH_PORT`), so `/livez` answers before the bot is first connected; a
HEALTH_PORT set only by `!plugin config` starts it at the next activation.

Loops: `outbox_worker` (the plugin's one worker thread: events, polls, closures; stalled when a job
makes no progress, no Salesforce answer and no closure settled, for twice REQUEST_TIMEOUT_SECONDS plus
15 s: one request may wait that long to connect and as long again between two bytes of its answer) and `poller` (Errbot's poller; stalled after three POLL_SECONDS plus 30 s without a tick). Both
are dropped while the plugin is deactivated: stopped on purpose is not stalled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..ops.health import PluginReport
from ..ops.heartbeat import Heartbeat
from ..ops.process import Ops, ops
from . import config as plugin_config
from .figures import outbox_figures
from .registry import BY_NAME, canonical

log = logging.getLogger(__name__)

WORKER, POLLER = "outbox_worker", "poller"


def command_label(args: str) -> str:
    """The `command` label of what an agent typed: a subcommand's declared name, else "unknown" (never the
    typed text: labels come from a fixed set)."""
    words = args.split(None, 1)
    name = canonical(words[0]) if words else "help"
    return name if name in BY_NAME else "unknown"


class PluginProbes:
    def __init__(
        self,
        bot: Any,
        bot_config: Any,
        store: Callable[[], Any],
        outbox: Callable[[], Any],
        configured: Callable[[], bool],
        api_usage: Callable[[], tuple[int, int] | None],
        process_ops: Ops | None = None,
        holding: Callable[[], bool | None] = lambda: None,
    ):
        self._holding = holding
        self._store, self._outbox, self._configured, self._api_usage = store, outbox, configured, api_usage
        self.ops = process_ops or ops()
        self.metrics, self.health = self.ops.metrics, self.ops.health
        self._worker: Heartbeat | None = None
        self._poller: Heartbeat | None = None
        self._last_request: tuple[str, str, float] | None = None  # (operation, status, monotonic time)
        self._failed: str | None = None  # why this activation failed (Errbot then deactivates the plugin)
        report = getattr(bot, "health", None)
        self.health.set_backend(report if callable(report) else None)
        self.serve(plugin_config.defaults(bot_config))

    def serve(self, config: dict) -> None:
        self.ops.serve(str(config.get("HEALTH_BIND") or "127.0.0.1"), int(config.get("HEALTH_PORT") or 0))

    def problems(self) -> list[str]:
        """What `status` lists as settings to fix: probes that cannot listen, or an address that waits for a restart."""
        return [self.ops.problem] if self.ops.problem else []

    # -- activation --------------------------------------------------------------------------------
    def activated(self, config: dict, polling: bool) -> None:
        self._failed = None
        self.serve(config)
        timeout = float(config.get("REQUEST_TIMEOUT_SECONDS") or 20)
        self._worker = self.health.loop(WORKER, 2 * timeout + 15)
        self._poller = None
        if polling:
            self._poller = self.health.loop(POLLER, 3 * float(config.get("POLL_SECONDS") or 30) + 30, periodic=True)
        else:
            self.health.drop_loop(POLLER)
        self.health.plugin_active(self.report)

    def activation_failed(self, what: str) -> None:
        """The plugin could not start (WHAT, e.g. its state store cannot be opened): not ready, and why."""
        self._failed = what
        self.health.started = True
        self.health.plugin_inactive(f"its activation failed: {what}", store=what)

    def deactivated(self) -> None:
        """Before the store closes: its last figures stay shown, and why the plugin is not active."""
        if self._failed is not None:
            return  # Errbot deactivates a plugin whose activation failed: that failure stays the reason
        last = self.report()
        backend = self.health.snapshot().backend
        why = "deactivated"
        if backend is not None and not backend.get("stream_live"):
            why = "Errbot deactivates it while Rocket.Chat is disconnected; it comes back on reconnect"
        self.health.drop_loop(WORKER)
        self.health.drop_loop(POLLER)
        self._worker = self._poller = None
        self.health.plugin_inactive(why, last)

    # -- heartbeats ----------------------------------------------------------------------------------
    def on_worker(self, job: Callable[[], None]) -> Callable[[], None]:
        """JOB as the worker runs it: busy while it runs (progress inside it beats the worker)."""

        def run() -> None:
            beat = self._worker
            if beat is not None:
                beat.busy()
            try:
                job()
            finally:
                if beat is not None:
                    beat.idle()

        return run

    def poll_tick(self) -> None:
        if self._poller is not None:
            self._poller.beat()

    def timed_poll(self, poll: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            start = time.perf_counter()
            try:
                poll()
            finally:
                self.metrics.poll_duration(time.perf_counter() - start)

        return run

    # -- what is counted -----------------------------------------------------------------------------
    def command(self, command: str, result: str) -> None:
        self.metrics.command(command, result)

    def greeting(self, result: str) -> None:
        self.metrics.greeting(result)

    def closure(self, result: str) -> None:
        self.metrics.closure(result)
        self.health.progress()

    def watch_crm(self, crm: Any) -> None:
        """Every HTTP request of this CRM core's session is counted and timed, and beats the loop it runs on."""
        crm.client.http.request_listeners.append(self._on_request)

    def _on_request(self, operation: str, status: str, seconds: float) -> None:
        self.metrics.salesforce_request(operation, status, seconds)
        self.health.progress()
        self._last_request = (operation, status, time.monotonic())

    # -- the report ------------------------------------------------------------------------------------
    def report(self) -> PluginReport:
        store, outbox = self._store(), self._outbox()
        problem, figures = None, None
        if store is None or outbox is None:
            problem = "not open"
        else:
            try:
                store.meta("schema_version")
                figures = outbox_figures(outbox)
            except Exception as exc:  # noqa: BLE001 - an unreadable store is a reason, not a crash
                problem = f"unreadable ({type(exc).__name__})"
        return PluginReport(True, "", problem, figures, self._api_usage(), self._salesforce(), self._holding())

    def _salesforce(self) -> dict[str, Any]:
        info: dict[str, Any] = {"configured": bool(self._configured()), "last_request": None, "reachable": None}
        if self._last_request is not None:
            operation, status, at = self._last_request
            info["last_request"] = {
                "operation": operation,
                "status": status,
                "seconds_ago": round(time.monotonic() - at, 1),
            }
            info["reachable"] = status.isdigit() and int(status) < 500
        return info
